"""Kernel pieces every layer may use: errors, clocks, ids, time and config base."""
