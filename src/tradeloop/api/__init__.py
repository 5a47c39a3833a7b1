"""HTTP API (FastAPI app factory, one router per area)."""
