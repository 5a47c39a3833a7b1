"""Immutable model versions, movable aliases, promotion gates and their audit."""
