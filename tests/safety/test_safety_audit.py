from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from medlens.safety.audit import (
    GENESIS_HASH,
    AuditBackend,
    AuditEntry,
    AuditError,
    AuditEvent,
    JsonlAuditLog,
    append_event,
    event,
    seal,
    sha256_hex,
    verify,
    verify_jsonl,
)

HASH = sha256_hex("x")


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        e = seal(
            event("user:u1", "run", {"record": f"r{i}"}, input_hash=HASH, model="medlens.task.notes.extract.v1:rules"),
            seq=i,
            prev_hash=prev,
            ts=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        )
        entries.append(e)
        prev = e.hash
    return entries


def test_intact_chain_verifies() -> None:
    report = verify(chain(5))
    assert report.ok
    assert report.entries == 5
    assert report.head_hash == chain(5)[-1].hash


def test_empty_chain_verifies_with_genesis_head() -> None:
    assert verify([]).head_hash == GENESIS_HASH


def test_hash_covers_prev_hash() -> None:
    e = chain(1)[0]
    assert e.computed_hash() == e.hash
    assert e.model_copy(update={"prev_hash": "f" * 64}).computed_hash() != e.hash


def _edited(entries: list[AuditEntry]) -> list[AuditEntry]:
    entries[2] = entries[2].model_copy(update={"actor": "user:mallory"})
    return entries


def _removed(entries: list[AuditEntry]) -> list[AuditEntry]:
    del entries[2]
    return entries


def _removed_first(entries: list[AuditEntry]) -> list[AuditEntry]:
    del entries[0]
    return entries


def _reordered(entries: list[AuditEntry]) -> list[AuditEntry]:
    entries[2], entries[3] = entries[3], entries[2]
    return entries


def _inserted_duplicate(entries: list[AuditEntry]) -> list[AuditEntry]:
    forged = seal(event("user:mallory", "run"), seq=3, prev_hash=entries[1].hash)
    entries.insert(3, forged)
    return entries


def _inserted_and_renumbered(entries: list[AuditEntry]) -> list[AuditEntry]:
    # A forged entry 3 that links to 2; the real 3.. keep linking to the real 2, so the next entry breaks.
    forged = seal(event("user:mallory", "run"), seq=3, prev_hash=entries[1].hash)
    rest = [e.model_copy(update={"seq": e.seq + 1}) for e in entries[2:]]
    return [*entries[:2], forged, *[seal(_as_event(e), seq=e.seq, prev_hash=e.prev_hash) for e in rest]]


def _as_event(e: AuditEntry) -> AuditEvent:
    return event(e.actor, e.action, e.object_ids, input_hash=e.input_hash, model=e.model)


@pytest.mark.parametrize(
    ("tamper", "problem", "first_bad_seq"),
    [
        (_edited, "edited", 3),
        (_removed, "removed", 3),
        (_removed_first, "removed", 1),
        (_reordered, "reordered", 3),
        (_inserted_duplicate, "inserted", 3),
        (_inserted_and_renumbered, "inserted", 4),
    ],
)
def test_tampering_is_detected_at_the_first_bad_seq(tamper, problem: str, first_bad_seq: int) -> None:  # type: ignore[no-untyped-def]
    report = verify(tamper(chain(6)))
    assert not report.ok
    assert report.problem == problem
    assert report.first_bad_seq == first_bad_seq


def test_truncation_is_detected_with_the_expected_head() -> None:
    entries = chain(5)
    head = entries[-1].hash
    report = verify(entries[:-1], expected_head=head)
    assert (report.ok, report.problem, report.first_bad_seq) == (False, "truncated", 5)


@pytest.mark.parametrize(
    "fields",
    [
        {"actor": "Patient denies chest pain"},
        {"action": "note says: fever"},
        {"object_ids": {"record": "John Smith MRN 12345"}},
        {"object_ids": {"Free Text Key": "r1"}},
        {"model": "the patient has diabetes"},
        {"input_hash": "not a hash"},
    ],
)
def test_free_text_is_refused(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"actor": "user:u1", "action": "run"}
    with pytest.raises(AuditError) as info:
        event(**{**base, **fields})  # type: ignore[arg-type]
    assert info.value.code == "ML670"


def test_jsonl_log_appends_a_verifiable_chain(tmp_path: Path) -> None:
    log = JsonlAuditLog(tmp_path / "audit.jsonl")
    assert isinstance(log, AuditBackend)
    for i in range(4):
        append_event(log, event("system", "run", {"record": f"r{i}"}))
    report = verify_jsonl(tmp_path / "audit.jsonl")
    assert report.ok
    assert report.entries == 4


def test_jsonl_log_continues_the_chain_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    append_event(JsonlAuditLog(path), event("system", "run"))
    second = append_event(JsonlAuditLog(path), event("system", "run"))
    assert second.seq == 2
    assert verify_jsonl(path).ok


def test_jsonl_edit_on_disk_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = JsonlAuditLog(path)
    for i in range(3):
        append_event(log, event("system", "run", {"record": f"r{i}"}))
    lines = path.read_text().splitlines()
    data = json.loads(lines[1])
    data["object_ids"]["record"] = "r9"
    lines[1] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n")
    report = verify_jsonl(path)
    assert (report.problem, report.first_bad_seq) == ("edited", 2)


def test_jsonl_garbage_line_gives_ml672(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("not json\n")
    with pytest.raises(AuditError) as info:
        verify_jsonl(path)
    assert info.value.code == "ML672"
