"""The encrypted re-identification mapping."""

import builtins
import stat

import pytest

from medlens.core.errors import MissingDependencyError
from medlens.core.types import Document
from medlens.safety.deid import Deidentifier, DeidError, MappingWriter, PatientKeys, read_mapping

KEY = "a mapping key from configuration, 32+ bytes"
DEID = Deidentifier(keys=PatientKeys(b"0123456789abcdef0123456789abcdef"))
DOC = Document(id="r1", text="Patient: Hope Brown  MRN: 00456123", patient_id="p1")


def _write(path):
    result = DEID.deidentify(DOC, mode="surrogate")
    with MappingWriter(path, KEY) as mapping:
        assert mapping.add(DOC.id, DOC.text, result) == 2
    return result


def test_mapping_round_trips_with_the_key(tmp_path):
    path = tmp_path / "mapping.enc"
    result = _write(path)
    rows = read_mapping(path, KEY)
    assert [(r.record_id, r.type, r.original) for r in rows] == [
        ("r1", "NAME", "Hope Brown"),
        ("r1", "MRN", "00456123"),
    ]
    for row, rep in zip(rows, result.replacements, strict=True):
        assert row.replacement == result.document.text[rep.new_start : rep.new_end]


def test_mapping_file_holds_no_plain_text_and_is_private(tmp_path):
    path = tmp_path / "mapping.enc"
    _write(path)
    content = path.read_text()
    assert "Hope" not in content
    assert "00456123" not in content
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_mapping_fails_with_another_key(tmp_path):
    path = tmp_path / "mapping.enc"
    _write(path)
    with pytest.raises(DeidError) as info:
        read_mapping(path, "another key, also long enough")
    assert info.value.code == "ML603"


def test_short_key_is_refused(tmp_path):
    with pytest.raises(DeidError) as info:
        MappingWriter(tmp_path / "m.enc", "short")
    assert info.value.code == "ML603"


def test_not_a_mapping_file_is_refused(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("hello\n")
    with pytest.raises(DeidError) as info:
        read_mapping(path, KEY)
    assert info.value.code == "ML604"


def test_missing_cryptography_names_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_cryptography(name, *args, **kwargs):
        if name.startswith("cryptography"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cryptography)
    with pytest.raises(MissingDependencyError) as info:
        MappingWriter(tmp_path / "m.enc", KEY)
    assert info.value.code == "ML501"
    assert "medlens[deid]" in str(info.value)
