"""SQLAlchemy Core storage: tables, engine, migrations and repositories."""
