"""Orchestration: the end-to-end loop, schedules, retrain, backups, supervised stack."""
