"""Loopback load test of `medlens serve` on PostgreSQL: sustained rate, latency, lost/duplicated writes, overload.

Starts a throwaway PostgreSQL cluster (medlens.store.pgcluster.TemporaryPostgres, Debian binaries) and one uvicorn
process, then drives it with httpx async clients on 127.0.0.1:

1. sustained: ``--clients`` clients (one API token each, so per-token rate limits are not what is measured) for
   ``--duration`` seconds, each alternating a one-record submission and a read of a record it stored; requests/s
   and p50/p95 latency per kind.
2. integrity: rows in ``records`` versus acknowledged (201) submissions: lost = acknowledged but missing,
   duplicated = stored more than once or stored without acknowledgement.
3. overload: one token far past its rate limit (expect 429 + Retry-After), and job submissions past the bounded
   job queue (expect 503 + Retry-After), instead of unbounded queues.

Usage: .venv/bin/python benchmarks/service_load.py [--duration 15] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from medlens.server.accounts import add_member, add_project, add_token, add_user
from medlens.store.database import migrate
from medlens.store.pgcluster import TemporaryPostgres

NOTE = (
    "Chief complaint: chest pain.\nPast medical history: hypertension and type 2 diabetes mellitus.\n"
    "Medications: metformin 500 mg po bid, lisinopril 10 mg daily.\nAllergies: penicillin.\n"
)
RATE_PER_MINUTE = 1200  # per token (2x the service default; each sustained client stays under it)
BURST = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _client(
    base: str, token: str, project: str, name: str, stop: float, lat: dict[str, list[float]], acked: list[str]
) -> Counter[int]:
    codes: Counter[int] = Counter()
    mine: list[str] = []
    i = 0
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while time.monotonic() < stop:
            ext = f"{name}-{i}"
            i += 1
            t0 = time.perf_counter()
            r = await http.post(f"/projects/{project}/records", json={"documents": [{"id": ext, "text": NOTE}]})
            lat["submit"].append(time.perf_counter() - t0)
            codes[r.status_code] += 1
            if r.status_code == 201:
                acked.append(ext)
                mine.append(r.json()["records"][0]["id"])
            if mine:
                t0 = time.perf_counter()
                r = await http.get(f"/records/{mine[i % len(mine)]}")
                lat["read"].append(time.perf_counter() - t0)
                codes[r.status_code] += 1
    return codes


async def _sustained(
    base: str, tokens: list[str], project: str, duration: float
) -> tuple[dict[str, list[float]], list[str], Counter[int], float]:
    lat: dict[str, list[float]] = {"submit": [], "read": []}
    acked: list[str] = []
    start = time.monotonic()
    stop = start + duration
    results = await asyncio.gather(
        *(_client(base, t, project, f"c{n}", stop, lat, acked) for n, t in enumerate(tokens))
    )
    elapsed = time.monotonic() - start
    codes: Counter[int] = Counter()
    for c in results:
        codes.update(c)
    return lat, acked, codes, elapsed


async def _overload_rate(base: str, token: str, n: int) -> tuple[Counter[int], set[str]]:
    codes: Counter[int] = Counter()
    retry: set[str] = set()
    limits = httpx.Limits(max_connections=32)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as http:
        responses = await asyncio.gather(*(http.get("/auth/me") for _ in range(n)))
    for r in responses:
        codes[r.status_code] += 1
        if r.status_code == 429:
            retry.add(r.headers.get("retry-after", "missing"))
    return codes, retry


async def _overload_jobs(base: str, token: str, project: str, n: int) -> tuple[Counter[int], set[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        docs = [{"id": f"job-{i}", "text": NOTE * 3} for i in range(200)]
        r = await http.post(f"/projects/{project}/records", json={"documents": docs})
        ids = [x["id"] for x in r.json()["records"]]
        body = {"tasks": ["notes.extract", "radiology.labels"], "record_ids": ids}
        responses = await asyncio.gather(*(http.post(f"/projects/{project}/jobs", json=body) for _ in range(n)))
    codes: Counter[int] = Counter(r.status_code for r in responses)
    retry = {r.headers.get("retry-after", "missing") for r in responses if r.status_code == 503}
    return codes, retry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds of sustained load.")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent clients (one token each).")
    args = parser.parse_args()
    console = Console()
    with TemporaryPostgres() as pg, tempfile.TemporaryDirectory() as tmp:
        db_url = pg.create_database()
        migrate(db_url)
        add_user(db_url, "loader", "admin")
        project = add_project(db_url, "load")
        add_member(db_url, project, "loader")
        tokens = [add_token(db_url, "loader", name=f"c{i}") for i in range(args.clients + 2)]
        port = _free_port()
        env = {
            **os.environ,
            "MEDLENS_SERVER_DB_URL": db_url,
            "MEDLENS_SERVER_SECRET_KEY": "load-test",
            "MEDLENS_SERVER_WORKERS": "2",
            "MEDLENS_SERVER_QUEUE_SIZE": "4",
            "MEDLENS_SERVER_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE),
            "MEDLENS_SERVER_RATE_LIMIT_BURST": str(BURST),
        }
        log = (Path(tmp) / "server.log").open("w")
        cmd = [sys.executable, "-m", "uvicorn", "medlens.server.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--ws", "none", "--no-access-log", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
            lat, acked, codes, elapsed = asyncio.run(_sustained(base, tokens[: args.clients], project, args.duration))
            engine = sa.create_engine(db_url)
            with engine.connect() as conn:
                stored = [
                    row[0]
                    for row in conn.execute(
                        sa.text("SELECT external_id FROM records WHERE project_id = :p"), {"p": project}
                    )
                ]
            engine.dispose()
            counts = Counter(stored)
            lost = len(set(acked) - set(counts))
            duplicated = sum(n - 1 for n in counts.values() if n > 1) + len(set(counts) - set(acked))
            # Overload: one token, 300 requests at once against a burst of BURST (the limiter is per token).
            rate_codes, rate_retry = asyncio.run(_overload_rate(base, tokens[-2], 300))
            job_codes, job_retry = asyncio.run(_overload_jobs(base, tokens[-1], project, 24))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()

    table = Table(title=f"medlens serve on PostgreSQL, 1 uvicorn process, {args.clients} clients, {elapsed:.1f} s")
    for col in ("measure", "value"):
        table.add_column(col)
    total = len(lat["submit"]) + len(lat["read"])
    table.add_row("requests/s (all)", f"{total / elapsed:.0f}")
    for kind in ("submit", "read"):
        values = lat[kind]
        table.add_row(f"{kind}: requests/s", f"{len(values) / elapsed:.0f}")
        table.add_row(f"{kind}: p50 / p95 ms", f"{_pct(values, 0.50):.1f} / {_pct(values, 0.95):.1f}")
        if values:
            table.add_row(f"{kind}: mean ms", f"{statistics.mean(values) * 1000:.1f}")
    table.add_row("status codes (sustained)", ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())))
    table.add_row("acknowledged submissions", str(len(acked)))
    table.add_row("rows stored", str(len(stored)))
    table.add_row("lost writes", str(lost))
    table.add_row("duplicated writes", str(duplicated))
    table.add_row(
        "overload: 300 at once, 1 token",
        ", ".join(f"{k}: {v}" for k, v in sorted(rate_codes.items())) + f"; Retry-After {sorted(rate_retry)}",
    )
    table.add_row(
        "overload: 24 jobs at once (queue 2+4)",
        ", ".join(f"{k}: {v}" for k, v in sorted(job_codes.items())) + f"; Retry-After {sorted(job_retry)}",
    )
    console.print(table)
    if lost or duplicated:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
