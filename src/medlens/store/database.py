"""Engines, sessions and migrations: SQLite by default (WAL, foreign keys on), PostgreSQL for shared deployments.

SQLite transactions start with ``BEGIN IMMEDIATE``: SQLite has one writer at a time, and taking the write lock at
the start (waiting up to ``busy_timeout``) avoids the ``database is locked`` failures of a read-then-write
transaction that meets a concurrent commit.
"""

from __future__ import annotations

import logging
import sys
from importlib.resources import files
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from medlens.core.errors import ConfigError

__all__ = ["alembic_config", "make_engine", "make_sessionmaker", "migrate", "redact_url"]

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def redact_url(url: str) -> str:
    """``url`` with any password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://...``.

    SQLite gets WAL journaling, ``foreign_keys=ON``, a busy timeout and ``BEGIN IMMEDIATE`` transactions;
    ``sqlite://`` (in memory) shares one connection across threads.

    Raises:
        ConfigError: ML201 for another database driver.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "isolation_level": None}}
        if in_memory:
            options["poolclass"] = StaticPool
        engine = create_engine(url, **options, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigError(
        f"unsupported database {backend!r}; use sqlite:///path/to/medlens.db or postgresql+psycopg://user@host/db",
        code="ML201",
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory that keeps loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    """An Alembic ``Config`` for the migrations shipped in ``medlens.store.migrations``."""
    from alembic.config import Config

    # Pass stdout explicitly: Config's default is the sys.stdout of the moment alembic was first imported, which
    # may be a stream that is closed since (a test runner's capture).
    cfg = Config(stdout=sys.stdout)
    cfg.set_main_option("script_location", str(files("medlens.store") / "migrations"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | Engine, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (or an engine) to ``revision`` (default: the newest).

    This is what ``medlens serve`` runs at start-up, and what to run before a deployment.
    """
    from alembic import command

    engine = make_engine(url) if isinstance(url, str) else url
    try:
        with engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        log.info("database %s at revision %s", redact_url(str(engine.url)), revision)
    finally:
        if isinstance(url, str):
            engine.dispose()
