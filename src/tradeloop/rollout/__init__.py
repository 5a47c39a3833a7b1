"""Graduated exposure: account modes and their gates, the live ramp-up, the scalper's
canary routing with its guard rails, and the release state machine. Pure rules here; the
use cases gather the evidence and persist the outcomes."""
