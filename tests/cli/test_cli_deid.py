"""medlens deid end to end: text and DICOM in one folder, fail-closed outputs, secrets from the environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pydicom = pytest.importorskip("pydicom")

MEDLENS = [sys.executable, "-m", "medlens"]
SECRET = "test-secret-0123456789abcdef"
NOTE = "Seen by Dr. Mary Brown on 03/04/2031. MRN: 12345678. Call 617-555-0199 with questions.\n"


def medlens(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEDLENS_")}
    full_env = {**base, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([*MEDLENS, *args], capture_output=True, text=True, timeout=300, env=full_env, check=False)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "note.txt").write_text(NOTE)
    (src / "notes.jsonl").write_text(json.dumps({"id": "j1", "text": NOTE, "patient_id": "MRN-77"}) + "\n{bad\n")
    ct = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
    shutil.copy(ct, src / "ct.dcm")
    return src


def test_text_and_dicom_are_deidentified_and_bad_lines_reported(inputs: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = medlens("deid", str(inputs), "--out", str(out), "--mode", "surrogate", "--spans", "--report",
                   MEDLENS_DEID__SECRET=SECRET)  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the invalid JSON line
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == ["j1", "note"]
    blob = (out / "records.jsonl").read_text()
    for original in ("Mary Brown", "03/04/2031", "12345678", "617-555-0199", "MRN-77"):
        assert original not in blob
    spans = (out / "spans.jsonl").read_text()
    assert "Mary" not in spans
    assert {json.loads(line)["type"] for line in spans.splitlines()} >= {"NAME", "DATE", "MRN", "PHONE"}
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [e["code"] for e in errors] == ["ML103"]
    written = list((out / "dicom").rglob("*.dcm"))
    assert len(written) == 1
    original = pydicom.dcmread(inputs / "ct.dcm")
    data = written[0].read_bytes()
    assert str(original.PatientName).encode() not in data
    assert "detected identifiers" in proc.stderr


def test_same_secret_gives_the_same_surrogates(inputs: Path, tmp_path: Path):
    outs = []
    for name in ("a", "b"):
        medlens("deid", str(inputs / "note.txt"), "--out", str(tmp_path / name), "--mode", "surrogate",
                MEDLENS_DEID__SECRET=SECRET)  # fmt: skip
        outs.append((tmp_path / name / "records.jsonl").read_text())
    assert outs[0] == outs[1]


def test_redact_mode_uses_type_tags(inputs: Path, tmp_path: Path):
    proc = medlens("deid", str(inputs / "note.txt"), "--out", str(tmp_path / "o"), "--mode", "redact")
    assert proc.returncode == 0, proc.stderr
    text = json.loads((tmp_path / "o" / "records.jsonl").read_text())["text"]
    assert "[NAME]" in text
    assert "[DATE]" in text


def test_mapping_needs_a_key_and_must_live_outside_the_output(inputs: Path, tmp_path: Path):
    proc = medlens("deid", str(inputs / "note.txt"), "--out", str(tmp_path / "o"), "--mapping", str(tmp_path / "m"))
    assert proc.returncode == 2
    assert "ML207" in proc.stderr
    proc = medlens("deid", str(inputs / "note.txt"), "--out", str(tmp_path / "o"),
                   "--mapping", str(tmp_path / "o" / "m"), MEDLENS_DEID__MAPPING_KEY=SECRET)  # fmt: skip
    assert proc.returncode == 2
    assert "ML207" in proc.stderr


def test_mapping_is_encrypted(inputs: Path, tmp_path: Path):
    pytest.importorskip("cryptography")
    mapping = tmp_path / "map.bin"
    proc = medlens("deid", str(inputs / "note.txt"), "--out", str(tmp_path / "o"), "--mapping", str(mapping),
                   MEDLENS_DEID__MAPPING_KEY=SECRET)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert b"Mary Brown" not in mapping.read_bytes()
    from medlens.safety.deid import read_mapping

    rows = list(read_mapping(mapping, SECRET))
    assert any(r.original == "Mary Brown" for r in rows)


def test_unknown_mode_is_a_usage_error(inputs: Path, tmp_path: Path):
    proc = medlens("deid", str(inputs), "--out", str(tmp_path / "o"), "--mode", "blur")
    assert proc.returncode == 2
    assert "ML201" in proc.stderr


def test_run_with_deid_never_shows_the_original_identifiers(inputs: Path, tmp_path: Path):
    out = tmp_path / "run"
    proc = medlens("run", str(inputs / "note.txt"), "--out", str(out), "--deid", "redact", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    for name in ("report.html", "results.jsonl", "note_nlp.csv", "bundle.json"):
        content = (out / name).read_text()
        assert "12345678" not in content
        assert "Mary Brown" not in content
