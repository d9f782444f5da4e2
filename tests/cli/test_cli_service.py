"""medlens serve / admin / audit verify: bootstrap a service database, serve it, detect a tampered audit log."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from medlens.cli import app

runner = CliRunner()


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _bootstrap(db: str) -> str:
    _invoke("admin", "add-user", "alice", "--role", "admin", "--db", db)
    token = _invoke("admin", "add-token", "alice", "--db", db)
    _invoke("admin", "add-project", "demo", "--member", "alice", "--db", db)
    return token


def test_bootstrap_writes_an_intact_audit_chain(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'svc.db'}"
    token = _bootstrap(db)
    assert token.startswith("mlt_")
    out = _invoke("audit", "verify", "--db", db)
    assert "audit chain intact" in out


def test_audit_verify_fails_on_an_edited_entry(tmp_path: Path) -> None:
    path = tmp_path / "svc.db"
    db = f"sqlite:///{path}"
    _bootstrap(db)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2")
    result = runner.invoke(app, ["audit", "verify", "--db", db])
    assert result.exit_code == 1
    assert "broken at seq 2" in result.output


def test_audit_verify_needs_exactly_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_and_requires_a_token(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'svc.db'}"
    token = _bootstrap(db)
    port = _free_port()
    env = {**os.environ, "MEDLENS_SERVER_SECRET_KEY": "test-secret"}
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medlens", "serve", "--port", str(port), "--db", db],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "server did not start in 30 s"
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"{base}/auth/me", timeout=5).status_code == 401
        me = httpx.get(f"{base}/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert me.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
