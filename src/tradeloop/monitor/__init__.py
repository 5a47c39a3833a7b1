"""Reports, metrics, logs, heartbeat, drift and alerts."""
