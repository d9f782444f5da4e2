"""Storage of the service: SQLAlchemy 2 models, sessions and Alembic migrations (DESIGN.md §5).

``migrate(url)`` brings a database (``sqlite:///...`` or ``postgresql+psycopg://...``) to the current schema.
"""

from __future__ import annotations

from medlens.store.database import alembic_config, make_engine, make_sessionmaker, migrate, redact_url
from medlens.store.models import (
    ApiToken,
    AuditRow,
    Base,
    Job,
    Membership,
    Project,
    Record,
    Result,
    ReviewDecision,
    User,
)

__all__ = [
    "ApiToken",
    "AuditRow",
    "Base",
    "Job",
    "Membership",
    "Project",
    "Record",
    "Result",
    "ReviewDecision",
    "User",
    "alembic_config",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "redact_url",
]
