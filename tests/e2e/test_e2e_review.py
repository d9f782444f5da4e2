"""End to end in a real browser: Playwright drives Debian's Chromium against a real uvicorn server on loopback.

Log in, open the queue, accept an item with the keyboard, edit a span (autosaved draft, then saved), reject with a
reason code; then check the database rows and the exported FHIR Bundle (CLINAST_AIRPT on what was accepted).
Runs on SQLite and PostgreSQL (``db_url``). Skipped without Chromium or the ``playwright`` package unless
``MEDLENS_REQUIRE_BROWSER=1``. Screenshots go to the test's tmp dir and, when set, ``$MEDLENS_ARTIFACTS``.
Never run ``playwright install``: the browser is the system one (``apt-get install chromium``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from medlens.server.accounts import add_member, add_project, add_token, add_user

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "e2e-password-123"
NOTE = (
    "Chief complaint: chest pain.\n"
    "Past medical history: hypertension and type 2 diabetes mellitus.\n"
    "Medications: metformin 500 mg po bid.\n"
    "Denies fever.\n"
)

pytestmark = pytest.mark.slow


def _browser_or_skip() -> Any:
    required = os.environ.get("MEDLENS_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("MEDLENS_REQUIRE_BROWSER=1 but the playwright package is missing: pip install playwright")
        pytest.skip("playwright not installed (set MEDLENS_REQUIRE_BROWSER=1 to fail instead)")
    if not CHROMIUM.exists():
        if required:
            pytest.fail("MEDLENS_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install -y chromium")
        pytest.skip("chromium not installed (set MEDLENS_REQUIRE_BROWSER=1 to fail instead)")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Live:
    base: str
    db_url: str
    project_id: str
    token: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[Live]:
    add_user(db_url, "alice", "reviewer", password=PASSWORD)
    project_id = add_project(db_url, "e2e")
    add_member(db_url, project_id, "alice")
    token = add_token(db_url, "alice")
    port = _free_port()
    env = {
        **os.environ,
        "MEDLENS_SERVER_DB_URL": db_url,
        "MEDLENS_SERVER_SECRET_KEY": "e2e-secret",
        "MEDLENS_SERVER_REVIEW_SAMPLE_RATE": "0",
        "MEDLENS_SERVER_WORKERS": "1",
    }
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "medlens.server.app:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--ws", "none", "--no-access-log"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
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
                raise AssertionError("server did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.1)
        yield Live(base, db_url, project_id, token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _seed(live: Live) -> dict[str, str]:
    """Three records with notes.extract results waiting for review; external id -> record id."""
    docs = [
        {"id": f"doc-{c}", "text": NOTE, "patient_id": "p-e2e", "date": f"2024-0{i + 1}-01"}
        for i, c in enumerate("abc")
    ]
    with live.api() as api:
        r = api.post(f"/projects/{live.project_id}/records", json={"documents": docs})
        assert r.status_code == 201, r.text
        ids = {x["external_id"]: x["id"] for x in r.json()["records"]}
        job = api.post(
            f"/projects/{live.project_id}/jobs", json={"tasks": ["notes.extract"], "record_ids": [*ids.values()]}
        )
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 60
        while api.get(f"/jobs/{job.json()['id']}").json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    return ids


def _query(db_url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(sql)).all())
    engine.dispose()
    return rows


def _json(value: Any) -> Any:
    return value if isinstance(value, dict) else json.loads(value)


def test_review_in_a_real_browser(live: Live, tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    ids = _seed(live)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    problems: list[str] = []

    backend = live.db_url.split(":")[0].split("+")[0]

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(shots / f"{backend}-{name}.png"), full_page=True)

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.set_default_timeout(15_000)

            # Log in.
            page.goto(f"{live.base}/ui/login")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            shot(page, "01-login")
            page.click("#login-btn")
            page.wait_for_url(f"{live.base}/ui/")
            assert "0/3" in page.inner_text("main")

            # Open the queue; Enter opens the selected (first) item.
            page.click("text=Queue")
            page.wait_for_url("**/queue")
            shot(page, "02-queue")
            page.keyboard.press("j")
            page.keyboard.press("k")
            page.keyboard.press("Enter")
            page.wait_for_url("**/ui/review/*")
            page.keyboard.press("?")
            assert page.is_visible("#help")
            shot(page, "03-help")
            page.keyboard.press("Escape")
            assert not page.is_visible("#help")
            shot(page, "04-document")
            first = page.get_attribute("body", "data-result")

            # a = accept -> the next item.
            page.keyboard.press("a")
            page.wait_for_url(lambda url: "/ui/review/" in url and not url.endswith(str(first)))
            second = page.get_attribute("body", "data-result")

            # e = edit: move the first finding's evidence end back by one; the draft autosaves; Ctrl+Enter saves.
            page.keyboard.press("e")
            assert page.is_visible("#edit-panel")
            end_input = page.locator("input[name='findings-0.ev0.end']")
            old_end = int(end_input.input_value())
            end_input.fill(str(old_end - 1))
            page.select_option("#edit-reason", "wrong_span")
            page.wait_for_selector("#draft-status [data-saved]")
            drafts = _query(live.db_url, f"SELECT fields FROM review_drafts WHERE result_id = '{second}'")
            assert _json(drafts[0][0])["findings-0.ev0.end"] == str(old_end - 1)
            shot(page, "05-edit")
            end_input.focus()
            page.keyboard.press("Control+Enter")
            page.wait_for_url(lambda url: "/ui/review/" in url and not url.endswith(str(second)))
            third = page.get_attribute("body", "data-result")

            # r = reject: the dialog asks for a reason code; Enter confirms. Last item -> back to the queue.
            page.keyboard.press("r")
            assert page.is_visible("#reject-dialog")
            page.select_option("#reject-reason", "wrong_concept")
            shot(page, "06-reject")
            page.focus("#reject-reason")
            page.keyboard.press("Enter")
            page.wait_for_url("**/queue")
            assert "3/3 reviewed" in page.inner_text("main")
            shot(page, "07-queue-done")

            # The patient timeline lists the three records.
            page.goto(f"{live.base}/ui/projects/{live.project_id}/patients")
            page.keyboard.press("Enter")
            page.wait_for_selector("ol.timeline")
            assert page.locator("li.event").count() == 3
            shot(page, "08-patient")
            browser.close()
    finally:
        artifacts = os.environ.get("MEDLENS_ARTIFACTS")
        if artifacts:
            target = Path(artifacts) / "e2e-review"
            target.mkdir(parents=True, exist_ok=True)
            for png in shots.glob("*.png"):
                shutil.copy2(png, target / png.name)

    assert problems == []
    status = dict(_query(live.db_url, "SELECT id, status FROM results"))
    assert (status[first], status[second], status[third]) == ("accepted", "edited", "rejected")
    decisions = {
        r[0]: r[1:] for r in _query(live.db_url, "SELECT result_id, decision, reason_code FROM review_decisions")
    }
    assert decisions[first] == ("accept", "correct")
    assert decisions[second] == ("edit", "wrong_span")
    assert decisions[third] == ("reject", "wrong_concept")
    (edited,) = _query(live.db_url, f"SELECT edited_payload FROM review_decisions WHERE result_id = '{second}'")[0]
    ev = _json(edited)["findings"][0]["evidence"][0]
    assert ev["end"] == old_end - 1
    assert ev["quote"] == NOTE[ev["start"] : ev["end"]]
    assert _query(live.db_url, "SELECT count(*) FROM review_drafts")[0][0] == 0

    record_of = dict(_query(live.db_url, "SELECT id, record_id FROM results"))
    external = {v: k for k, v in ids.items()}
    with live.api() as api:
        r = api.get(f"/projects/{live.project_id}/export/fhir")
    assert r.status_code == 200
    bundle = r.json()
    text = json.dumps(bundle)
    assert external[record_of[first]] in text
    assert external[record_of[second]] in text
    assert external[record_of[third]] not in text
    codes = [s["code"] for e in bundle["entry"] for s in e["resource"].get("meta", {}).get("security", [])]
    assert "CLINAST_AIRPT" in codes
    assert "AIAST" not in codes
