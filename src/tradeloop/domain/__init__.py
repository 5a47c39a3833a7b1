"""Frozen, validated values and messages shared by every layer."""
