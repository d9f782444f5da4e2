"""End-to-end: the medlens command as a user runs it, in a subprocess, on files the test writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEDLENS = [sys.executable, "-m", "medlens"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "MEDLENS_RUN__PROGRESS": "false"}


def medlens(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MEDLENS, *args], capture_output=True, text=True, timeout=timeout, env=ENV, check=False)


def result_ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture
def messy_inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text("HISTORY: Hypertension. Denies chest pain.\nMEDICATIONS: Lisinopril 10 mg daily.\n")
    (src / "latin1.txt").write_bytes("Patient caf\xe9 note".encode("latin-1"))
    (src / "empty.txt").write_text("")
    (src / "notes.jsonl").write_text(
        json.dumps({"id": "j1", "text": "No fever."})
        + "\n{not json\n"
        + json.dumps({"id": "j2", "text": "Cough for 3 days."})
        + "\n"
        + json.dumps({"text": "no id"})
        + "\n"
    )
    (src / "patient.json").write_text(json.dumps({"resourceType": "Patient", "id": "p1"}))
    (src / "huge.txt").write_bytes(b"fever " * (50 * 2**20 // 6 + 1))  # > 50 MB
    return src


def test_bad_inputs_are_reported_by_file_and_line_and_the_rest_continue(messy_inputs: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = medlens("run", str(messy_inputs), "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert sorted(result_ids(out)) == ["good", "j1", "j2"]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    by_code = {(Path(e["source"]).name, e["line"], e["code"]) for e in errors}
    assert ("latin1.txt", None, "ML101") in by_code
    assert ("empty.txt", None, "ML102") in by_code
    assert ("notes.jsonl", 2, "ML103") in by_code
    assert ("notes.jsonl", 4, "ML104") in by_code
    assert ("patient.json", None, "ML105") in by_code
    assert ("huge.txt", None, "ML107") in by_code
    assert "unreadable" in proc.stderr
    for name in ("bundle.json", "note_nlp.csv", "report.html", "run.json"):
        assert (out / name).stat().st_size > 0
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["summary"]["input_errors"] == 6
    assert manifest["summary"]["records"] == 3


def test_clean_run_exits_zero_and_progress_stays_off_stdout(tmp_path: Path):
    src = tmp_path / "n.jsonl"
    src.write_text("".join(json.dumps({"id": f"n{i}", "text": "Denies fever."}) + "\n" for i in range(5)))
    out = tmp_path / "out"
    proc = subprocess.run(
        [*MEDLENS, "run", str(src), "--out", str(out), "--progress"],
        capture_output=True,
        text=True,
        env={**ENV, "MEDLENS_RUN__PROGRESS": "true"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert result_ids(out) == [f"n{i}" for i in range(5)]


def test_default_input_is_the_bundled_examples(tmp_path: Path):
    out = tmp_path / "out"
    proc = medlens("run", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert len(result_ids(out)) >= 10


def test_killed_run_resumes_without_losing_or_duplicating(tmp_path: Path):
    src = tmp_path / "many.jsonl"
    n = 3000
    text = "HPI: Denies chest pain. Hx of HTN, DM2. Metformin 500 mg PO BID. BP 130/80, HR 72. Na 139, K 4.1."
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": text}) + "\n" for i in range(n)))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*MEDLENS, "run", str(src), "--out", str(out), "--batch-size", "16", "--format", "jsonl"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not results.exists() or results.stat().st_size < 20_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(results.read_text().splitlines())
    assert 0 < partial < n, "the run should have been killed part-way"
    with results.open("a") as fh:  # a torn last line, as a kill during a write would leave
        fh.write('{"id": "r')
    done = medlens("run", str(src), "--out", str(out), "--resume", "--format", "jsonl", "--format", "fhir")
    assert done.returncode == 0, done.stderr
    ids = result_ids(out)
    assert len(ids) == n
    assert sorted(ids) == sorted(f"r{i}" for i in range(n))
    bundle = json.loads((out / "bundle.json").read_text())
    provenances = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"]
    assert len(provenances) == n


def test_unknown_task_is_a_usage_error(tmp_path: Path):
    proc = medlens("run", "--task", "notes.extrakt", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "ML301" in proc.stderr


def test_assertion_command(tmp_path: Path):
    src = tmp_path / "a.jsonl"
    src.write_text(
        json.dumps({"id": "1", "text": "Patient denies chest pain.", "target": "chest pain"})
        + "\n"
        + json.dumps({"id": "2", "text": "Chest pain.", "start": 0, "end": 99})
        + "\n"
    )
    proc = medlens("assertion", str(src))
    assert proc.returncode == 1
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0]["id"] == "1"
    assert rows[0]["negated"] is True
    assert "denies" in rows[0]["cues"][0]["text"].lower()
    assert rows[1]["error"]["code"] == "ML104"


def test_info_lists_registered_names():
    proc = medlens("info")
    assert proc.returncode == 0
    assert "medlens.task.notes.extract.v1" in proc.stdout


def test_check_reports_bad_config(tmp_path: Path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[run]\ntasks = ["notes.extract"]\nformats = ["pdf"]\n')
    proc = medlens("check", str(cfg))
    assert proc.returncode == 2
    assert "ML201" in proc.stderr


def test_check_accepts_a_good_config_and_lists_each_task(tmp_path: Path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[run]\ntasks = ["notes.extract", "radiology.labels"]\nformats = ["jsonl", "fhir"]\n')
    proc = medlens("check", str(cfg))
    assert proc.returncode == 0, proc.stderr
    assert "configuration OK" in proc.stdout
    assert "medlens.task.radiology.labels.v1" in proc.stdout
