"""Databento: DBN files of market-by-order events and instrument definitions."""
