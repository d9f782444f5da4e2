"""results.jsonl writer: one complete, flushed line per record, so a killed run leaves only whole lines."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from medlens.core.types import ErrorItem, RecordResult
from medlens.export.jsonl import JsonlWriter
from medlens.notes.schema import NotesExtractResult


def test_each_record_is_one_line_of_its_to_json(tmp_path: Path, standard_record: Any) -> None:
    document, result = standard_record
    other = RecordResult(id="note-2", kind="note", errors=[ErrorItem(code="ML104", message="bad field")])
    with JsonlWriter(tmp_path) as writer:
        writer.write(document, result)
        writer.write(document, other)
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").split("\n")
    assert lines == [result.to_json(), other.to_json(), ""]


def test_line_round_trips_to_the_typed_result(tmp_path: Path, standard_record: Any) -> None:
    document, result = standard_record
    with JsonlWriter(tmp_path) as writer:
        writer.write(document, result)
    data = json.loads((tmp_path / "results.jsonl").read_text(encoding="utf-8"))
    parsed = NotesExtractResult.model_validate(data["tasks"]["notes.extract"])
    assert parsed == result.tasks["notes.extract"]


def test_line_is_on_disk_before_close(tmp_path: Path, standard_record: Any) -> None:
    document, result = standard_record
    writer = JsonlWriter(tmp_path)
    writer.write(document, result)
    assert (tmp_path / "results.jsonl").read_text(encoding="utf-8") == result.to_json() + "\n"
    writer.close()


def test_each_line_is_written_with_one_write_call(
    tmp_path: Path, standard_record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    document, result = standard_record
    writer = JsonlWriter(tmp_path)
    calls: list[bytes] = []
    real_write = writer._fh.write  # type: ignore[union-attr]

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_file, name)

        def write(self, data: bytes) -> int | None:
            calls.append(bytes(data))
            return real_write(data)

    real_file = writer._fh
    monkeypatch.setattr(writer, "_fh", Spy())
    writer.write(document, result)
    writer.write(document, result)
    assert calls == [(result.to_json() + "\n").encode("utf-8")] * 2
    writer.close()


def test_append_keeps_existing_lines(tmp_path: Path, standard_record: Any) -> None:
    document, result = standard_record
    (tmp_path / "results.jsonl").write_text('{"id": "old", "kind": "note"}\n', encoding="utf-8")
    with JsonlWriter(tmp_path, append=True) as writer:
        writer.write(document, result)
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["old", "note-1"]


def test_without_append_an_old_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").write_text('{"id": "old", "kind": "note"}\n', encoding="utf-8")
    JsonlWriter(tmp_path).close()
    assert (tmp_path / "results.jsonl").read_text(encoding="utf-8") == ""


def test_flush_and_close_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    writer = JsonlWriter(tmp_path)
    writer.flush()
    writer.close()
    writer.close()
    assert len(synced) == 2


def test_write_after_close_raises(tmp_path: Path, standard_record: Any) -> None:
    writer = JsonlWriter(tmp_path)
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(*standard_record)


def test_out_dir_is_created(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "a" / "b")
    writer.close()
    assert (tmp_path / "a" / "b" / "results.jsonl").exists()
