"""Features computed from data at or before each row's timestamp, with a schema hash."""
