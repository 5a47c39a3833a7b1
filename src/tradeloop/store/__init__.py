"""Durable storage: SQL (SQLite WAL or PostgreSQL) and the Parquet/DuckDB lake."""
