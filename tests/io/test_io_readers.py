"""Text, JSONL and CSV readers and folder dispatch: every error is yielded (never raised) with its code, file and
line; good records keep their text exactly."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlens.core.errors import ConfigError, InputError
from medlens.core.types import Document
from medlens.io.readers import count_inputs, read_csv, read_inputs, read_jsonl, read_text

BOM = b"\xef\xbb\xbf"


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _docs(items: list[Document | InputError]) -> list[Document]:
    return [i for i in items if isinstance(i, Document)]


def _errors(items: list[Document | InputError]) -> list[InputError]:
    return [i for i in items if isinstance(i, InputError)]


def _only_error(items: list[Document | InputError]) -> InputError:
    assert len(items) == 1
    assert isinstance(items[0], InputError)
    return items[0]


# --- read_text ------------------------------------------------------------------------------------------------------


def test_text_file_id_is_relative_path_without_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "clinic" / "2024" / "visit 1.txt", "Denies chest pain.")
    [doc] = list(read_text(path, root=tmp_path))
    assert isinstance(doc, Document)
    assert (doc.id, doc.text, doc.kind, doc.source) == ("clinic/2024/visit 1", "Denies chest pain.", "note", str(path))


def test_text_file_without_root_uses_its_stem(tmp_path: Path) -> None:
    [doc] = list(read_text(_write(tmp_path / "n1.txt", "Cough.")))
    assert isinstance(doc, Document)
    assert doc.id == "n1"


def test_text_byte_order_mark_is_stripped(tmp_path: Path) -> None:
    [doc] = list(read_text(_write(tmp_path / "n.txt", BOM + b"Fever.")))
    assert isinstance(doc, Document)
    assert doc.text == "Fever."


def test_text_crlf_is_kept_so_offsets_match_the_file(tmp_path: Path) -> None:
    [doc] = list(read_text(_write(tmp_path / "n.txt", b"HPI:\r\nCough.\r\n")))
    assert isinstance(doc, Document)
    assert doc.text == "HPI:\r\nCough.\r\n"


@pytest.mark.parametrize(("data", "offset"), [(b"abc\xffdef", 3), (BOM + b"ab\xc3(", 5), (b"\x80", 0)])
def test_undecodable_text_is_ml101_naming_the_byte_offset(tmp_path: Path, data: bytes, offset: int) -> None:
    path = _write(tmp_path / "n.txt", data)
    error = _only_error(list(read_text(path)))
    assert (error.code, error.source, error.line) == ("ML101", str(path), None)
    assert f"byte offset {offset}" in error.message


def test_undecodable_text_can_be_replaced_on_request(tmp_path: Path) -> None:
    [doc] = list(read_text(_write(tmp_path / "n.txt", b"a\xffb"), encoding_errors="replace"))
    assert isinstance(doc, Document)
    assert doc.text == "a\ufffdb"


@pytest.mark.parametrize("data", [b"", b"  \n\t", BOM])
def test_empty_text_file_is_ml102(tmp_path: Path, data: bytes) -> None:
    assert _only_error(list(read_text(_write(tmp_path / "n.txt", data)))).code == "ML102"


def test_text_file_over_max_bytes_is_ml107(tmp_path: Path) -> None:
    error = _only_error(list(read_text(_write(tmp_path / "n.txt", "x" * 100), max_bytes=99)))
    assert error.code == "ML107"


def test_missing_text_file_is_ml108(tmp_path: Path) -> None:
    error = _only_error(list(read_text(tmp_path / "nope.txt")))
    assert (error.code, error.source) == ("ML108", str(tmp_path / "nope.txt"))


# --- read_jsonl -----------------------------------------------------------------------------------------------------


def test_jsonl_fields_become_document_fields_and_the_rest_meta(tmp_path: Path) -> None:
    lines = [
        {"id": 7, "text": "Cough.", "kind": "radiology", "patient_id": 12, "date": "2024-03-05", "site": "A"},
        {"id": "n2", "text": "Fever.", "date": "2024-03-05T10:30:00Z"},
    ]
    path = _write(tmp_path / "in.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    first, second = list(read_jsonl(path))
    assert isinstance(first, Document)
    assert isinstance(second, Document)
    assert (first.id, first.kind, first.patient_id, first.date, first.meta) == (
        "7",
        "radiology",
        "12",
        dt.date(2024, 3, 5),
        {"site": "A"},
    )
    assert second.date == dt.datetime(2024, 3, 5, 10, 30, tzinfo=dt.UTC)
    assert (second.kind, second.patient_id, second.source) == ("note", None, f"{path}:2")


def test_jsonl_blank_lines_are_skipped_and_lines_counted(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", '\n{"id": "a", "text": "x"}\n\n   \n{"id": "b", "text": "y"}\n')
    assert [d.source for d in _docs(list(read_jsonl(path)))] == [f"{path}:2", f"{path}:5"]


def test_jsonl_with_crlf_and_bom_reads(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", BOM + b'{"id": "a", "text": "x"}\r\n{"id": "b", "text": "y"}\r\n')
    assert [d.id for d in _docs(list(read_jsonl(path)))] == ["a", "b"]


def test_jsonl_line_separator_inside_a_string_is_not_a_line_break(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", json.dumps({"id": "a", "text": "one\u2028two"}, ensure_ascii=False) + "\n")
    [doc] = list(read_jsonl(path))
    assert isinstance(doc, Document)
    assert doc.text == "one\u2028two"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ('{"id": "a", "text": ', "ML103"),
        ('["a", "b"]', "ML103"),
        ('{"text": "x"}', "ML104"),
        ('{"id": "", "text": "x"}', "ML104"),
        ('{"id": true, "text": "x"}', "ML104"),
        ('{"id": "a"}', "ML104"),
        ('{"id": "a", "text": 5}', "ML104"),
        ('{"id": "a", "text": "x", "kind": "raidology"}', "ML104"),
        ('{"id": "a", "text": "x", "date": "05/03/2024"}', "ML104"),
        ('{"id": "a", "text": "x", "date": 20240305}', "ML104"),
        ('{"id": "a", "text": "x", "patient_id": [1]}', "ML104"),
        ('{"id": "a", "text": ""}', "ML102"),
        ('{"id": "a", "text": "  \\n "}', "ML102"),
    ],
)
def test_bad_jsonl_line_is_one_error_with_its_line_and_the_batch_goes_on(tmp_path: Path, line: str, code: str) -> None:
    path = _write(tmp_path / "in.jsonl", '{"id": "ok1", "text": "x"}\n' + line + '\n{"id": "ok2", "text": "y"}\n')
    items = list(read_jsonl(path))
    [error] = _errors(items)
    assert (error.code, error.source, error.line) == (code, str(path), 2)
    assert [d.id for d in _docs(items)] == ["ok1", "ok2"]


def test_jsonl_error_messages_never_hold_the_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", '{"id": "a", "text": "SECRET NOTE", "kind": "x"}\n')
    assert "SECRET" not in str(_only_error(list(read_jsonl(path))))


def test_undecodable_jsonl_line_is_ml101_with_the_file_byte_offset(tmp_path: Path) -> None:
    first = b'{"id": "a", "text": "x"}\n'
    path = _write(tmp_path / "in.jsonl", first + b'{"id": "b", "text": "\xff"}\n')
    items = list(read_jsonl(path))
    [error] = _errors(items)
    assert (error.code, error.line) == ("ML101", 2)
    assert f"byte offset {len(first) + 21}" in error.message
    assert [d.id for d in _docs(items)] == ["a"]


# --- read_csv -------------------------------------------------------------------------------------------------------


def test_csv_default_columns_and_meta(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "id,text,kind,patient_id,date,site\nn1,Cough.,pathology,p1,2024-01-02,A\n")
    [doc] = list(read_csv(path))
    assert isinstance(doc, Document)
    assert (doc.id, doc.text, doc.kind, doc.patient_id, doc.date, doc.meta, doc.source) == (
        "n1",
        "Cough.",
        "pathology",
        "p1",
        dt.date(2024, 1, 2),
        {"site": "A"},
        f"{path}:2",
    )


def test_csv_mapping_names_the_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "NOTE_ID,NOTE_TEXT,MRN\n17,Fever.,m-9\n")
    [doc] = list(read_csv(path, mapping={"id": "NOTE_ID", "text": "NOTE_TEXT", "patient_id": "MRN"}))
    assert isinstance(doc, Document)
    assert (doc.id, doc.text, doc.patient_id, doc.meta) == ("17", "Fever.", "m-9", {})


@pytest.mark.parametrize(
    ("header", "mapping", "missing"),
    [
        ("id,body", None, "text"),
        ("note,text", None, "id"),
        ("id,text", {"patient_id": "MRN"}, "MRN"),
    ],
)
def test_missing_csv_column_is_one_ml104_naming_it_and_the_columns_present(
    tmp_path: Path, header: str, mapping: dict[str, str] | None, missing: str
) -> None:
    path = _write(tmp_path / "in.csv", header + "\na,b\nc,d\n")
    error = _only_error(list(read_csv(path, mapping=mapping)))
    assert (error.code, error.line) == ("ML104", 1)
    assert missing in error.message
    assert header.replace(",", ", ") in error.message


def test_csv_unknown_mapping_field_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "id,text\na,b\n")
    with pytest.raises(ConfigError) as caught:
        list(read_csv(path, mapping={"body": "text"}))
    assert caught.value.code == "ML201"


def test_csv_row_errors_carry_the_row_first_line(tmp_path: Path) -> None:
    data = 'id,text,kind\nn1,"line one\nline two",note\nn2,,note\nn3,x,bogus\nn4,x,note,extra\nn5,ok,note\n'
    path = _write(tmp_path / "in.csv", data)
    items = list(read_csv(path))
    assert [(e.code, e.line) for e in _errors(items)] == [("ML102", 4), ("ML104", 5), ("ML104", 6)]
    docs = _docs(items)
    assert [(d.id, d.text, d.source) for d in docs] == [
        ("n1", "line one\nline two", f"{path}:2"),
        ("n5", "ok", f"{path}:7"),
    ]


def test_csv_blank_rows_are_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "id,text\n\na,x\n,\nb,y\n")
    assert [d.id for d in _docs(list(read_csv(path)))] == ["a", "b"]


def test_csv_with_bom_and_crlf_reads(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", BOM + b'id,text\r\na,"x\r\ny"\r\n')
    [doc] = list(read_csv(path))
    assert isinstance(doc, Document)
    assert (doc.id, doc.text) == ("a", "x\r\ny")


def test_csv_huge_field_is_allowed(tmp_path: Path) -> None:
    big = "word " * 100_000  # 500 kB, beyond the csv module's default field limit of 128 kB
    path = _write(tmp_path / "in.csv", f'id,text\na,"{big}"\n')
    [doc] = list(read_csv(path))
    assert isinstance(doc, Document)
    assert doc.text == big


@pytest.mark.parametrize(("data", "code"), [(b"", "ML102"), (b"id,text\n\xff\n", "ML101")])
def test_csv_file_level_errors(tmp_path: Path, data: bytes, code: str) -> None:
    assert _only_error(list(read_csv(_write(tmp_path / "in.csv", data)))).code == code


# --- read_inputs / count_inputs -------------------------------------------------------------------------------------


def _fhir_document_reference(resource_id: str, text: str) -> dict[str, object]:
    return {
        "resourceType": "DocumentReference",
        "id": resource_id,
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}}],
    }


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    _write(root / "b" / "note.txt", "Text note.")
    _write(root / "a.jsonl", '{"id": "j1", "text": "JSONL note."}\n')
    _write(root / "c.csv", "id,text\nc1,CSV note.\n")
    _write(root / "d.json", json.dumps(_fhir_document_reference("f1", "FHIR note.")))
    _write(root / "e.ndjson", json.dumps(_fhir_document_reference("f2", "NDJSON note.")) + "\n")
    _write(root / "readme.md", "# not an input")
    _write(root / ".hidden.txt", "skip me")
    _write(root / ".git" / "x.txt", "skip me too")
    return root


def test_folder_is_read_recursively_in_sorted_order_by_extension(mixed_folder: Path) -> None:
    items = list(read_inputs(mixed_folder))
    assert [d.id for d in _docs(items)] == ["j1", "b/note", "c1", "f1", "f2"]
    assert [d.meta.get("fhir_reference") for d in _docs(items)][-2:] == ["DocumentReference/f1", "DocumentReference/f2"]


def test_unsupported_and_hidden_files_in_a_folder_are_skipped_with_a_warning(
    mixed_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert _errors(list(read_inputs(mixed_folder))) == []
    assert "skipped 1 file(s)" in caplog.text


def test_unsupported_file_named_directly_is_ml109(mixed_folder: Path) -> None:
    [error] = _errors(list(read_inputs(mixed_folder / "readme.md")))
    assert (error.code, error.source) == ("ML109", str(mixed_folder / "readme.md"))


def test_formats_restrict_the_readers(mixed_folder: Path) -> None:
    items = list(read_inputs(mixed_folder, formats=["text"]))
    assert [d.id for d in _docs(items)] == ["b/note"]
    assert _errors(items) == []


def test_unknown_format_is_a_config_error(mixed_folder: Path) -> None:
    with pytest.raises(ConfigError):
        list(read_inputs(mixed_folder, formats=["pdf"]))


def test_single_file_input(tmp_path: Path) -> None:
    path = _write(tmp_path / "x" / "n1.txt", "Cough.")
    assert [d.id for d in _docs(list(read_inputs(path)))] == ["n1"]


def test_missing_input_is_ml108(tmp_path: Path) -> None:
    assert _only_error(list(read_inputs(tmp_path / "nope"))).code == "ML108"


def test_duplicate_id_is_ml110_and_the_first_record_wins(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", '{"id": "n1", "text": "first"}\n{"id": "n2", "text": "x"}\n')
    _write(tmp_path / "b.jsonl", '{"id": "n2", "text": "y"}\n{"id": "n1", "text": "second"}\n')
    items = list(read_inputs(tmp_path))
    assert [(d.id, d.text) for d in _docs(items)] == [("n1", "first"), ("n2", "x")]
    assert [(e.code, e.source, e.line) for e in _errors(items)] == [
        ("ML110", str(tmp_path / "b.jsonl"), 1),
        ("ML110", str(tmp_path / "b.jsonl"), 2),
    ]


def test_csv_mapping_is_passed_to_csv_files(tmp_path: Path) -> None:
    _write(tmp_path / "in.csv", "NOTE_ID,BODY\nn1,Cough.\n")
    items = list(read_inputs(tmp_path, csv_mapping={"id": "NOTE_ID", "text": "BODY"}))
    assert [d.id for d in _docs(items)] == ["n1"]


def test_count_inputs_estimates_records(mixed_folder: Path) -> None:
    # b/note.txt 1 + a.jsonl 1 + c.csv 1 + d.json 1 + e.ndjson 1; readme.md is skipped
    assert count_inputs(mixed_folder) == 5


def test_count_inputs_of_missing_path_is_zero(tmp_path: Path) -> None:
    assert count_inputs(tmp_path / "nope") == 0


# --- property: JSONL write -> read round trip ------------------------------------------------------------------------

_ids = st.one_of(
    st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s.strip()),
    st.integers(min_value=0, max_value=2**53),
)
_texts = st.text(min_size=1, max_size=200).filter(lambda s: s.strip())


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(_ids, _texts), min_size=1, max_size=5, unique_by=lambda r: str(r[0])))
def test_jsonl_round_trip_keeps_ids_and_text(tmp_path: Path, records: list[tuple[str | int, str]]) -> None:
    path = tmp_path / "round.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in records), encoding="utf-8")
    docs = list(read_jsonl(path))
    assert [(d.id, d.text) for d in docs if isinstance(d, Document)] == [(str(i), t) for i, t in records]


def test_jsonl_is_streamed_so_the_limit_applies_per_line_not_per_file(tmp_path):
    path = tmp_path / "big.jsonl"
    lines = [json.dumps({"id": f"r{i}", "text": "note " * 20}) for i in range(200)]
    lines.insert(100, json.dumps({"id": "huge", "text": "x" * 5000}))
    path.write_text("\n".join(lines) + "\n")
    items = list(read_jsonl(path, max_bytes=1000))
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.code, e.line) for e in errors] == [("ML107", 101)]
    assert sum(isinstance(i, Document) for i in items) == 200


def test_kind_applies_only_where_the_input_states_none(tmp_path):
    (tmp_path / "r.txt").write_text("Chest x-ray: no effusion.")
    (tmp_path / "r.jsonl").write_text(
        json.dumps({"id": "j1", "text": "x"}) + "\n" + json.dumps({"id": "j2", "text": "y", "kind": "pathology"}) + "\n"
    )
    docs = [d for d in read_inputs(tmp_path, kind="radiology") if isinstance(d, Document)]
    assert {d.id: d.kind for d in docs} == {"j1": "radiology", "j2": "pathology", "r": "radiology"}


def test_hl7_files_are_read_in_folders(tmp_path):
    (tmp_path / "r.hl7").write_text(
        "MSH|^~\\&|RIS|H|ML|H|202401011200||ORU^R01|M1|P|2.5.1\r"
        "PID|1||P1^^^H^MR\r"
        "OBR|1|O1|A1|71045^CXR|||202401011100|||||||||||||||||RAD|F\r"
        "OBX|1|TX|IMP^Impression||No pneumothorax.||||||F\r"
    )
    [doc] = list(read_inputs(tmp_path))
    assert isinstance(doc, Document)
    assert (doc.id, doc.kind, doc.text) == ("A1@M1", "radiology", "No pneumothorax.")
    assert count_inputs(tmp_path) == 1
