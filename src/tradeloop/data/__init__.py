"""Market data: provider and store ports, validation, quality scoring, ingestion."""
