"""The database backend of the audit chain: ``audit_entries`` rows, implementing ``safety.audit.AuditBackend``.

Appends happen inside the caller's transaction, so an action and its audit entry commit (or roll back) together.
Writers are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by its single write lock
(``BEGIN IMMEDIATE``, see ``medlens.store.database``) plus a process lock. ``seq`` is the primary key, so a fork of
the chain cannot be stored even if the locking were bypassed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from medlens.safety.audit import GENESIS_HASH, AuditEntry, VerifyReport, verify
from medlens.store.database import make_engine
from medlens.store.models import AuditRow

__all__ = ["AUDIT_LOCK_KEY", "DbAuditLog", "entry_of_row", "row_of_entry", "verify_database"]

# pg_advisory_xact_lock key: the bytes "mlaudit" as an integer; any fixed bigint would do.
AUDIT_LOCK_KEY = int.from_bytes(b"mlaudit", "big")
_process_lock = threading.Lock()


def row_of_entry(entry: AuditEntry) -> AuditRow:
    """The row storing ``entry`` (object ids as canonical JSON text, so they read back exactly)."""
    data = entry.model_dump()
    data["object_ids"] = json.dumps(entry.object_ids, sort_keys=True, separators=(",", ":"))
    return AuditRow(**data)


def entry_of_row(row: AuditRow) -> AuditEntry:
    """The entry a row stores.

    A row that no longer validates (edited by hand) is read as is, so that :func:`medlens.safety.audit.verify`
    reports it as edited instead of failing to read it.
    """
    fields: dict[str, Any] = dict(
        seq=row.seq,
        ts=row.ts,
        actor=row.actor,
        action=row.action,
        object_ids=_object_ids(row.object_ids),
        input_hash=row.input_hash,
        output_hash=row.output_hash,
        model=row.model,
        prompt_version=row.prompt_version,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
    try:
        return AuditEntry(**fields)
    except ValueError:
        return AuditEntry.model_construct(**fields)


def _object_ids(raw: str) -> dict[str, str] | str:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, dict) else raw


def verify_database(url: str, *, expected_head: str | None = None) -> VerifyReport:
    """Verify the audit chain stored in the database at ``url`` (what ``medlens audit verify --db URL`` runs)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return verify(DbAuditLog(session).entries(), expected_head=expected_head)
    finally:
        engine.dispose()


class DbAuditLog:
    """Audit entries in the ``audit_entries`` table, appended within ``session``'s transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, build: Callable[[int, str], AuditEntry]) -> AuditEntry:
        """Lock the chain, read its head, seal the entry with ``build`` and add it (flushed, not committed)."""
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
            return self._append(build)
        with _process_lock:
            return self._append(build)

    def _append(self, build: Callable[[int, str], AuditEntry]) -> AuditEntry:
        head = self.session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
        seq, prev = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
        entry = build(seq + 1, prev)
        self.session.add(row_of_entry(entry))
        self.session.flush()
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, by ``seq``, read in pages so memory stays flat."""
        last = 0
        while True:
            rows = self.session.scalars(select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(1000))
            page = list(rows)
            if not page:
                return
            for row in page:
                yield entry_of_row(row)
            last = page[-1].seq
