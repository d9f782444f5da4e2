"""Append-only, hash-chained audit log: every run, review decision and export (DESIGN.md §4).

Each entry holds ids and hashes only, never document text: ``seq``, ``ts``, ``actor``, ``action``, ``object_ids``,
``input_hash``, ``output_hash``, ``model``, ``prompt_version``, ``prev_hash`` and ``hash``, where ``hash`` is the
SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other field, ``prev_hash`` included. The
first entry's ``prev_hash`` is :data:`GENESIS_HASH`. Editing, removing, reordering or inserting an entry breaks the
chain, and :func:`verify` names the first bad ``seq``. Removing entries from the *end* leaves a valid shorter chain;
keep the head hash (``VerifyReport.head_hash``) somewhere else and pass it as ``expected_head`` to detect that.

Two backends: :class:`JsonlAuditLog` (one entry per line in a file) and any object implementing
:class:`AuditBackend` — the service's database table implements it in ``medlens.store`` (this module imports
nothing from the store). Field values are checked against strict patterns, so free text cannot enter the log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medlens.core.errors import InputError, MedlensError

__all__ = [
    "GENESIS_HASH",
    "AuditBackend",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditProblem",
    "JsonlAuditLog",
    "VerifyReport",
    "append_event",
    "canonical_json",
    "event",
    "read_jsonl_entries",
    "seal",
    "sha256_hex",
    "verify",
    "verify_jsonl",
]

GENESIS_HASH = "0" * 64
_HEX64 = r"^[0-9a-f]{64}$"
# Ids, actor and action names: no spaces, so no sentence (and no note text) fits in them.
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+\-]{0,199}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

AuditProblem = Literal["edited", "removed", "reordered", "inserted", "truncated"]


class AuditError(MedlensError):
    """The audit log could not be written or read.

    Codes: ML670 a field is not an id or hash (free text refused), ML671 the log could not be appended to
    (concurrent writers kept conflicting), ML672 a log line is not a valid entry.
    """

    code = "ML670"


def sha256_hex(data: bytes | str) -> str:
    """SHA-256 of ``data`` (a ``str`` is encoded as UTF-8), as 64 lower-case hex digits."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def canonical_json(value: Any) -> str:
    """Canonical JSON used for hashing: sorted keys, no insignificant spaces, non-ASCII kept as UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_token(value: str | None, what: str) -> str | None:
    if value is not None and not _TOKEN.match(value):
        raise ValueError(f"{what} must be an id-like token (letters, digits, ._:@/+-; no spaces), at most 200 chars")
    return value


class AuditEvent(BaseModel):
    """What happened, before it is chained: the caller's part of an entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(description="Who did it, e.g. 'user:3f2a...' or 'system'.")
    action: str = Field(description="What was done, e.g. 'run', 'review.accept', 'export.fhir'.")
    object_ids: dict[str, str] = Field(default_factory=dict, description="Kind -> opaque id of the objects touched.")
    input_hash: str | None = Field(default=None, pattern=_HEX64, description="SHA-256 of the input (hex).")
    output_hash: str | None = Field(default=None, pattern=_HEX64, description="SHA-256 of the output (hex).")
    model: str | None = Field(default=None, description="Versioned name of the task/model and backend used.")
    prompt_version: str | None = Field(default=None, description="Versioned prompt name, when an LLM was used.")

    @field_validator("actor", "action")
    @classmethod
    def _required_token(cls, value: str) -> str:
        _check_token(value, "actor/action")
        return value

    @field_validator("model", "prompt_version")
    @classmethod
    def _optional_token(cls, value: str | None) -> str | None:
        return _check_token(value, "model/prompt_version")

    @field_validator("object_ids")
    @classmethod
    def _ids(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not _KEY.match(key):
                raise ValueError("object_ids keys must be short snake_case kinds such as 'record' or 'job'")
            _check_token(item, "object_ids values")
        return value


class AuditEntry(AuditEvent):
    """One sealed entry of the chain."""

    seq: int = Field(ge=1, description="Position in the chain, from 1, without gaps.")
    ts: str = Field(description="UTC time, ISO 8601 with microseconds, as hashed.")
    prev_hash: str = Field(pattern=_HEX64, description="Hash of the previous entry (GENESIS_HASH for the first).")
    hash: str = Field(pattern=_HEX64, description="SHA-256 of the canonical JSON of every other field.")

    def body(self) -> dict[str, Any]:
        """Every field but ``hash``: what the hash covers."""
        return self.model_dump(exclude={"hash"})

    def computed_hash(self) -> str:
        """Recompute the hash from the other fields."""
        return sha256_hex(canonical_json(self.body()))


def seal(event: AuditEvent, *, seq: int, prev_hash: str, ts: dt.datetime | None = None) -> AuditEntry:
    """Chain ``event`` after the entry ``seq - 1`` whose hash is ``prev_hash``."""
    moment = (ts or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    fields = {**event.model_dump(), "seq": seq, "ts": moment.isoformat(timespec="microseconds"), "prev_hash": prev_hash}
    return AuditEntry(**fields, hash=sha256_hex(canonical_json(fields)))


@runtime_checkable
class AuditBackend(Protocol):
    """Where entries are kept. ``append`` must be atomic with respect to other writers of the same log."""

    def append(self, build: Callable[[int, str], AuditEntry]) -> AuditEntry:
        """Read the head (last seq, last hash; ``(0, GENESIS_HASH)`` when empty), call ``build(seq, prev)``, store."""
        ...

    def entries(self) -> Iterable[AuditEntry]:
        """Every entry, in storage order (``seq`` ascending for a correct log)."""
        ...


def append_event(backend: AuditBackend, event: AuditEvent, *, ts: dt.datetime | None = None) -> AuditEntry:
    """Seal ``event`` onto the end of ``backend``'s chain and return the stored entry."""
    return backend.append(lambda seq, prev: seal(event, seq=seq, prev_hash=prev, ts=ts))


class VerifyReport(BaseModel):
    """The outcome of :func:`verify`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool = Field(description="True when the chain is intact.")
    entries: int = Field(description="Entries read.")
    first_bad_seq: int | None = Field(default=None, description="The first seq where the chain breaks.")
    problem: AuditProblem | None = Field(default=None, description="What is wrong at first_bad_seq.")
    detail: str | None = Field(default=None, description="One line for people; ids and numbers only.")
    head_hash: str = Field(description="Hash of the last entry read (GENESIS_HASH when none).")


def verify(entries: Iterable[AuditEntry], *, expected_head: str | None = None) -> VerifyReport:
    """Check the chain and name the first bad ``seq``.

    * ``edited``: an entry's hash does not match its fields (``first_bad_seq`` = that entry).
    * ``removed``: a seq is missing (``first_bad_seq`` = the first missing seq).
    * ``reordered``: a seq appears later than an entry after it (``first_bad_seq`` = the seq expected there).
    * ``inserted``: an entry repeats an earlier seq or does not link to the entry before it.
    * ``truncated``: the chain is intact but does not end at ``expected_head``.

    Args:
        entries: The entries in storage order.
        expected_head: Hash of the last entry, recorded elsewhere (detects removal at the end).

    Returns:
        The report; ``ok`` is True when no problem was found.
    """
    items = list(entries)
    seqs = [e.seq for e in items]
    prev = GENESIS_HASH
    expected = 1
    seen: set[int] = set()

    def bad(seq: int, problem: AuditProblem, detail: str) -> VerifyReport:
        return VerifyReport(
            ok=False, entries=len(items), first_bad_seq=seq, problem=problem, detail=detail, head_hash=prev
        )

    for i, entry in enumerate(items):
        if entry.computed_hash() != entry.hash:
            return bad(entry.seq, "edited", f"entry {entry.seq}: hash does not match its fields")
        if entry.seq in seen:
            return bad(entry.seq, "inserted", f"entry {entry.seq} appears twice")
        if entry.seq > expected:
            if expected in seqs[i + 1 :]:
                return bad(expected, "reordered", f"entry {expected} is stored after entry {entry.seq}")
            return bad(expected, "removed", f"entries {expected}..{entry.seq - 1} are missing")
        if entry.seq < expected:
            return bad(expected, "reordered", f"entry {entry.seq} is stored after entry {expected - 1}")
        if entry.prev_hash != prev:
            return bad(entry.seq, "inserted", f"entry {entry.seq} does not link to the entry before it")
        seen.add(entry.seq)
        prev = entry.hash
        expected += 1
    if expected_head is not None and prev != expected_head:
        return bad(expected, "truncated", f"the chain ends at entry {expected - 1}, not at the expected head")
    return VerifyReport(ok=True, entries=len(items), head_hash=prev)


def read_jsonl_entries(path: str | os.PathLike[str]) -> Iterator[AuditEntry]:
    """Entries of a JSONL audit file, in file order.

    Raises:
        AuditError: ML672 when a line is not a valid entry (names the line).
        InputError: ML108 when the file does not exist.
    """
    file = Path(path)
    if not file.exists():
        raise InputError("audit log not found", code="ML108", source=str(file))
    with file.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield AuditEntry.model_validate_json(line)
            except ValueError:
                raise AuditError(f"{file}:{number}: not a valid audit entry", code="ML672") from None


def verify_jsonl(path: str | os.PathLike[str], *, expected_head: str | None = None) -> VerifyReport:
    """:func:`verify` a JSONL audit file (what ``medlens audit verify FILE`` runs)."""
    return verify(read_jsonl_entries(path), expected_head=expected_head)


class JsonlAuditLog:
    """A JSONL file backend: one entry per line, appended with ``O_APPEND`` and fsync.

    Safe for threads of one process (a lock guards the head); one process should own a file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None

    def _read_head(self) -> tuple[int, str]:
        if not self.path.exists():
            return 0, GENESIS_HASH
        last: str | None = None
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    last = line
        if last is None:
            return 0, GENESIS_HASH
        entry = AuditEntry.model_validate_json(last)
        return entry.seq, entry.hash

    def append(self, build: Callable[[int, str], AuditEntry]) -> AuditEntry:
        """Seal and write one entry (see :class:`AuditBackend`)."""
        with self._lock:
            if self._head is None:
                self._head = self._read_head()
            seq, prev = self._head
            entry = build(seq + 1, prev)
            line = (entry.model_dump_json() + "\n").encode("utf-8")
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._head = (entry.seq, entry.hash)
            return entry

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in file order."""
        if not self.path.exists():
            return iter(())
        return read_jsonl_entries(self.path)


def event(
    actor: str,
    action: str,
    object_ids: Mapping[str, str] | None = None,
    *,
    input_hash: str | None = None,
    output_hash: str | None = None,
    model: str | None = None,
    prompt_version: str | None = None,
) -> AuditEvent:
    """Build an :class:`AuditEvent`, raising ``AuditError`` (ML670) when a field is not an id or hash."""
    try:
        return AuditEvent(
            actor=actor,
            action=action,
            object_ids=dict(object_ids or {}),
            input_hash=input_hash,
            output_hash=output_hash,
            model=model,
            prompt_version=prompt_version,
        )
    except ValueError:
        raise AuditError("audit fields must be ids and hashes, never text", code="ML670") from None
