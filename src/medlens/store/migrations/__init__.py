"""Alembic migrations of the medlens service database (run with ``medlens.store.migrate``)."""
