"""Adapters to outside systems and offline sources; one folder per system."""
