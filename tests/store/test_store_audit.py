from __future__ import annotations

import threading

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from medlens.safety.audit import AuditBackend, append_event, event, verify
from medlens.store import AuditRow, make_engine, make_sessionmaker, migrate
from medlens.store.audit_store import DbAuditLog, verify_database


def _append(db_url: str, n: int) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        for i in range(n):
            append_event(DbAuditLog(session), event("system", "run", {"record": f"r{i}"}))
        session.commit()
    engine.dispose()


def test_db_log_is_an_audit_backend(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        assert isinstance(DbAuditLog(session), AuditBackend)
    engine.dispose()


def test_db_chain_verifies(db_url: str) -> None:
    migrate(db_url)
    _append(db_url, 5)
    report = verify_database(db_url)
    assert (report.ok, report.entries) == (True, 5)


def test_rolled_back_append_leaves_no_gap(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        append_event(DbAuditLog(session), event("system", "run"))
        session.rollback()
    engine.dispose()
    _append(db_url, 2)
    report = verify_database(db_url)
    assert (report.ok, report.entries) == (True, 2)


@pytest.mark.parametrize(
    ("column", "value", "problem", "seq"),
    [
        ("actor", "user:mallory", "edited", 2),
        ("object_ids", '{"record":"Jane Doe has cancer"}', "edited", 2),
    ],
)
def test_edited_row_is_detected(db_url: str, column: str, value: str, problem: str, seq: int) -> None:
    migrate(db_url)
    _append(db_url, 3)
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 2).values({column: value}))
        session.commit()
    engine.dispose()
    report = verify_database(db_url)
    assert (report.problem, report.first_bad_seq) == (problem, seq)


def test_deleted_row_is_detected(db_url: str) -> None:
    migrate(db_url)
    _append(db_url, 4)
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.query(AuditRow).filter(AuditRow.seq == 2).delete()
        session.commit()
    engine.dispose()
    report = verify_database(db_url)
    assert (report.problem, report.first_bad_seq) == ("removed", 2)


def test_concurrent_appends_keep_one_chain(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(10):
                with sessions() as session:
                    append_event(DbAuditLog(session), event("system", "run", {"record": f"w{k}-{i}"}))
                    session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sessions() as session:
        report = verify(DbAuditLog(session).entries())
    engine.dispose()
    assert errors == []
    assert (report.ok, report.entries) == (True, 40)
