"""OMOP CDM v5.4 NOTE_NLP writers: exact columns, THEMIS-style term_exists/term_temporal/term_modifiers, integer
note ids with a map, Parquet equal to CSV."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

from medlens.core.errors import MissingDependencyError
from medlens.core.types import Assertion
from medlens.export.omop import NOTE_NLP_COLUMNS, NoteNlpCsvWriter, NoteNlpParquetWriter, note_id

PROCESSED = dt.datetime(2024, 5, 1, 12, 0, 5, tzinfo=dt.UTC)
CDM_V54_COLUMNS = [
    "note_nlp_id",
    "note_id",
    "section_concept_id",
    "snippet",
    "offset",
    "lexical_variant",
    "note_nlp_concept_id",
    "note_nlp_source_concept_id",
    "nlp_system",
    "nlp_date",
    "nlp_datetime",
    "term_exists",
    "term_temporal",
    "term_modifiers",
]


def _csv(tmp_path: Path, *records: Any) -> list[dict[str, str]]:
    writer = NoteNlpCsvWriter(tmp_path, version="0.0.0-test", processed_at=PROCESSED)
    for document, result in records:
        writer.write(document, result)
    writer.close()
    with (tmp_path / "note_nlp.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _row(rows: list[dict[str, str]], lexical_variant: str) -> dict[str, str]:
    matches = [r for r in rows if r["lexical_variant"] == lexical_variant]
    assert len(matches) == 1
    return matches[0]


@pytest.fixture
def rows(tmp_path: Path, standard_record: Any) -> list[dict[str, str]]:
    return _csv(tmp_path, standard_record)


def test_header_is_the_cdm_v54_note_nlp_columns_in_order(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    header = (tmp_path / "note_nlp.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == CDM_V54_COLUMNS
    assert list(NOTE_NLP_COLUMNS) == CDM_V54_COLUMNS


def test_one_row_per_evidence_span(rows: list[dict[str, str]], standard_record: Any) -> None:
    findings = standard_record[1].tasks["notes.extract"].findings
    assert len(rows) == sum(len(f.evidence) for f in findings)


def test_offset_and_lexical_variant_quote_the_note(rows: list[dict[str, str]], builder: Any) -> None:
    for row in rows:
        start = int(row["offset"])
        assert builder.text[start : start + len(row["lexical_variant"])] == row["lexical_variant"]


@pytest.mark.parametrize(
    ("lexical_variant", "term_exists", "term_temporal"),
    [
        ("hypertension", "Y", "past"),  # historical, affirmed
        ("breast cancer", "N", "present"),  # family member, not the patient
        ("chest pain", "N", "present"),  # negated
        ("pneumonia", "N", "present"),  # uncertain
        ("fever", "N", "present"),  # hypothetical
        ("Metformin", "Y", "present"),
        ("Appendectomy", "Y", "past"),
    ],
)
def test_term_exists_and_temporal_follow_the_assertion(
    rows: list[dict[str, str]], lexical_variant: str, term_exists: str, term_temporal: str
) -> None:
    row = _row(rows, lexical_variant)
    assert (row["term_exists"], row["term_temporal"]) == (term_exists, term_temporal)


def test_term_modifiers_list_assertion_section_code_and_type(rows: list[dict[str, str]]) -> None:
    assert _row(rows, "hypertension")["term_modifiers"] == (
        "negated=false,uncertain=false,historical=true,hypothetical=false,experiencer=patient,type=problem,"
        "section=past_medical_history,code=ICD10CM:I10"
    )


def test_term_modifiers_carry_measurement_value_and_unit(rows: list[dict[str, str]]) -> None:
    modifiers = dict(pair.split("=", 1) for pair in _row(rows, "BP 140/90 mmHg")["term_modifiers"].split(","))
    assert (modifiers["value"], modifiers["unit"], modifiers["interpretation"]) == ("140/90", "mm[Hg]", "H")


def test_term_modifiers_carry_the_sig(rows: list[dict[str, str]]) -> None:
    modifiers = dict(pair.split("=", 1) for pair in _row(rows, "Metformin")["term_modifiers"].split(","))
    assert (modifiers["code"], modifiers["dose"], modifiers["route"], modifiers["frequency"]) == (
        "RxNorm:6809",
        "500 mg",
        "PO",
        "BID",
    )


def test_family_experiencer_is_named_in_term_modifiers(rows: list[dict[str, str]]) -> None:
    assert "experiencer=family" in _row(rows, "breast cancer")["term_modifiers"].split(",")


def test_snippet_is_the_sentence_around_the_evidence(rows: list[dict[str, str]], builder: Any) -> None:
    snippet = _row(rows, "Metformin")["snippet"]
    assert snippet.startswith("Metformin 500 mg PO BID.")  # sentence ends are medlens.text's call
    assert snippet in builder.text


def test_long_sentence_snippet_is_cut_to_250_characters_around_the_evidence(tmp_path: Path, builder_for: Any) -> None:
    text = "word " * 200 + "hypertension " + "word " * 200
    local = builder_for(text)
    rows = _csv(tmp_path, local.record([local.finding("problem", "hypertension", "hypertension")]))
    assert len(rows[0]["snippet"]) <= 250
    assert "hypertension" in rows[0]["snippet"]


def test_snippet_has_no_line_breaks(tmp_path: Path, builder_for: Any) -> None:
    local = builder_for("Assessment:\r\nhypertension\r\nstable")
    rows = _csv(tmp_path, local.record([local.finding("problem", "hypertension", "hypertension")]))
    assert "\n" not in rows[0]["snippet"]
    assert "\r" not in rows[0]["snippet"]


def test_concept_ids_are_zero_without_a_vocabulary(rows: list[dict[str, str]]) -> None:
    assert {(r["section_concept_id"], r["note_nlp_concept_id"], r["note_nlp_source_concept_id"]) for r in rows} == {
        ("0", "0", "0")
    }


def test_nlp_system_date_and_datetime(rows: list[dict[str, str]]) -> None:
    assert {(r["nlp_system"], r["nlp_date"], r["nlp_datetime"]) for r in rows} == {
        ("medlens 0.0.0-test", "2024-05-01", "2024-05-01 12:00:05")
    }


def test_note_nlp_ids_are_unique_positive_integers(rows: list[dict[str, str]]) -> None:
    ids = [int(r["note_nlp_id"]) for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(0 < i < 2**63 for i in ids)


@pytest.mark.parametrize(("record_id", "expected"), [("123", 123), ("0", 0), ("9223372036854775807", 2**63 - 1)])
def test_integer_record_id_is_the_note_id(record_id: str, expected: int) -> None:
    assert note_id(record_id) == expected


@pytest.mark.parametrize("record_id", ["note-1", "007", "-5", "9223372036854775808", "sub/dir/a"])
def test_other_record_ids_get_a_stable_63_bit_hash(record_id: str) -> None:
    assert 0 < note_id(record_id) < 2**63
    assert note_id(record_id) == note_id(record_id)
    assert note_id(record_id) != note_id(record_id + "x")


def test_note_id_map_maps_every_record(tmp_path: Path, builder_for: Any) -> None:
    first, second = builder_for(record_id="note-1"), builder_for(record_id="42")
    _csv(tmp_path, first.record([]), second.record(second.standard_findings()))
    with (tmp_path / "note_id_map.csv").open(encoding="utf-8", newline="") as fh:
        mapping = list(csv.DictReader(fh))
    assert mapping == [
        {"record_id": "note-1", "note_id": str(note_id("note-1"))},
        {"record_id": "42", "note_id": "42"},
    ]


def test_negated_finding_is_kept_with_term_exists_n(tmp_path: Path, builder: Any) -> None:
    finding = builder.finding("problem", "chest pain", "chest pain", assertion=Assertion(negated=True))
    rows = _csv(tmp_path, builder.record([finding]))
    assert [r["term_exists"] for r in rows] == ["N"]


def test_parquet_holds_the_same_rows_as_csv(tmp_path: Path, standard_record: Any) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    rows = _csv(tmp_path, standard_record)
    writer = NoteNlpParquetWriter(tmp_path, version="0.0.0-test", processed_at=PROCESSED, row_group_size=3)
    writer.write(*standard_record)
    writer.close()
    table = pq.read_table(tmp_path / "note_nlp.parquet")
    assert table.column_names == CDM_V54_COLUMNS
    as_text = [
        {
            k: v.isoformat(sep=" ")
            if isinstance(v, dt.datetime)
            else v.isoformat()
            if isinstance(v, dt.date)
            else str(v)
            for k, v in row.items()
        }
        for row in table.to_pylist()
    ]
    assert as_text == rows
    mapping = pq.read_table(tmp_path / "note_id_map.parquet").to_pylist()
    assert mapping == [{"record_id": "note-1", "note_id": note_id("note-1")}]


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependencyError) as caught:
        NoteNlpParquetWriter(tmp_path)
    assert caught.value.code == "ML501"
    assert 'pip install "medlens[parquet]"' in caught.value.message
