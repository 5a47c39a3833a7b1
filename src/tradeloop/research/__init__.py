"""Experiment specs, runner, sweeps, job queue."""
