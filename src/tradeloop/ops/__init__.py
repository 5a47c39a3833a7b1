"""Operational infrastructure: the supervised stack, the scheduler, service units, host
health, service probes, the Dask fan-out and the scorer client; their configuration."""
