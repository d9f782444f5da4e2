"""FHIR R4 reader: DocumentReference / DiagnosticReport alone, in Bundles and NDJSON; wrong and invalid resources
are coded errors, never exceptions."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from medlens.core.errors import InputError
from medlens.core.types import Document
from medlens.io.fhir_reader import read_fhir

LOINC = "http://loinc.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


def _b64(text: str, encoding: str = "utf-8") -> str:
    return base64.b64encode(text.encode(encoding)).decode("ascii")


def _document_reference(resource_id: str | None = "doc-1", text: str = "Denies chest pain.", **fields: Any) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": _b64(text)}}],
        **fields,
    }
    if resource_id is not None:
        resource["id"] = resource_id
    return resource


def _diagnostic_report(resource_id: str = "rep-1", **fields: Any) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": resource_id,
        "status": "final",
        "code": {"text": "report"},
        **fields,
    }


def _write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def _read(path: Path) -> list[Document | InputError]:
    return list(read_fhir(path))


def _only_doc(items: list[Document | InputError]) -> Document:
    assert len(items) == 1
    assert isinstance(items[0], Document), items[0]
    return items[0]


def _only_error(items: list[Document | InputError]) -> InputError:
    assert len(items) == 1
    assert isinstance(items[0], InputError), items[0]
    return items[0]


def test_bundle_with_patient_and_base64_document_reference(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:0a6f", "resource": {"resourceType": "Patient", "id": "pat-7"}},
            {
                "fullUrl": "urn:uuid:77bb",
                "resource": _document_reference(
                    "doc-1",
                    "Chest X-ray: no effusion.",
                    type={"coding": [{"system": LOINC, "code": "18748-4"}]},
                    subject={"reference": "urn:uuid:0a6f"},
                    date="2024-03-05T10:30:00+01:00",
                ),
            },
        ],
    }
    path = _write_json(tmp_path / "bundle.json", bundle)
    doc = _only_doc(_read(path))
    assert (doc.id, doc.text, doc.kind, doc.patient_id) == ("doc-1", "Chest X-ray: no effusion.", "radiology", "pat-7")
    assert doc.date == dt.datetime(2024, 3, 5, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert doc.meta == {"fhir_reference": "DocumentReference/doc-1"}
    assert doc.source == f"{path}#entry[1]"


@pytest.mark.parametrize(
    ("subject", "patient_id"),
    [
        ({"reference": "Patient/p-1"}, "p-1"),
        ({"reference": "https://ehr.example/fhir/Patient/p-2/_history/3"}, "p-2"),
        ({"reference": "Group/g1"}, None),
        ({"display": "someone"}, None),
    ],
)
def test_patient_id_comes_from_the_subject_reference(tmp_path: Path, subject: dict, patient_id: str | None) -> None:
    path = _write_json(tmp_path / "d.json", _document_reference(subject=subject))
    assert _only_doc(_read(path)).patient_id == patient_id


def test_single_document_reference_with_context_period_date(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "d.json", _document_reference(context={"period": {"start": "2023-12-01"}}))
    doc = _only_doc(_read(path))
    assert (doc.date, doc.kind, doc.source) == (dt.date(2023, 12, 1), "note", str(path))


def test_attachment_charset_is_honoured(tmp_path: Path) -> None:
    resource = _document_reference()
    resource["content"][0]["attachment"] = {
        "contentType": "text/plain; charset=ISO-8859-1",
        "data": _b64("Café au lait spots.", "latin-1"),
    }
    assert _only_doc(_read(_write_json(tmp_path / "d.json", resource))).text == "Café au lait spots."


def test_base64_with_line_breaks_is_decoded(tmp_path: Path) -> None:
    resource = _document_reference()
    data = _b64("A longer note that wraps across several base64 lines.")
    resource["content"][0]["attachment"]["data"] = "\n".join(data[i : i + 16] for i in range(0, len(data), 16))
    doc = _only_doc(_read(_write_json(tmp_path / "d.json", resource)))
    assert doc.text == "A longer note that wraps across several base64 lines."


def test_invalid_base64_is_ml104(tmp_path: Path) -> None:
    resource = _document_reference()
    resource["content"][0]["attachment"]["data"] = "!!!"
    assert _only_error(_read(_write_json(tmp_path / "d.json", resource))).code == "ML104"


def test_first_text_plain_attachment_is_used(tmp_path: Path) -> None:
    resource = _document_reference()
    resource["content"] = [
        {"attachment": {"contentType": "application/pdf", "data": _b64("%PDF")}},
        {"attachment": {"contentType": "text/plain", "data": _b64("Plain text.")}},
    ]
    assert _only_doc(_read(_write_json(tmp_path / "d.json", resource))).text == "Plain text."


def test_local_attachment_url_is_read_relative_to_the_input(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "n1.txt").write_text("From a file.", encoding="utf-8")
    resource = _document_reference()
    resource["content"][0]["attachment"] = {"contentType": "text/plain", "url": "notes/n1.txt"}
    assert _only_doc(_read(_write_json(tmp_path / "d.json", resource))).text == "From a file."


@pytest.mark.parametrize("url", ["https://ehr.example/Binary/1", "../outside.txt", "file:///etc/hostname"])
def test_remote_or_escaping_attachment_url_is_ml104(tmp_path: Path, url: str) -> None:
    (tmp_path / "outside.txt").write_text("x", encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    resource = _document_reference()
    resource["content"][0]["attachment"] = {"contentType": "text/plain", "url": url}
    error = _only_error(_read(_write_json(folder / "d.json", resource)))
    assert error.code == "ML104"


def test_document_without_plain_text_is_ml104_naming_the_content_types(tmp_path: Path) -> None:
    resource = _document_reference()
    resource["content"][0]["attachment"] = {"contentType": "application/pdf", "data": _b64("%PDF")}
    error = _only_error(_read(_write_json(tmp_path / "d.json", resource)))
    assert error.code == "ML104"
    assert "application/pdf" in error.message


def test_undecodable_attachment_is_ml101(tmp_path: Path) -> None:
    resource = _document_reference()
    resource["content"][0]["attachment"]["data"] = base64.b64encode(b"ok \xff").decode()
    assert _only_error(_read(_write_json(tmp_path / "d.json", resource))).code == "ML101"


def test_diagnostic_report_with_presented_form(tmp_path: Path) -> None:
    report = _diagnostic_report(
        category=[{"coding": [{"system": V2_0074, "code": "SP"}]}],
        presentedForm=[{"contentType": "text/plain", "data": _b64("Invasive ductal carcinoma, grade 2.")}],
        conclusion="IDC.",
        subject={"reference": "Patient/p9"},
        effectiveDateTime="2024-02-01",
    )
    doc = _only_doc(_read(_write_json(tmp_path / "r.json", report)))
    assert (doc.id, doc.text, doc.kind, doc.patient_id, doc.date) == (
        "rep-1",
        "Invasive ductal carcinoma, grade 2.",
        "pathology",
        "p9",
        dt.date(2024, 2, 1),
    )
    assert doc.meta == {"fhir_reference": "DiagnosticReport/rep-1"}


def test_diagnostic_report_with_conclusion_only(tmp_path: Path) -> None:
    report = _diagnostic_report(
        category=[{"coding": [{"system": V2_0074, "code": "RAD"}]}], conclusion="No acute process."
    )
    doc = _only_doc(_read(_write_json(tmp_path / "r.json", report)))
    assert (doc.text, doc.kind) == ("No acute process.", "radiology")


def test_diagnostic_report_without_text_is_ml104(tmp_path: Path) -> None:
    assert _only_error(_read(_write_json(tmp_path / "r.json", _diagnostic_report()))).code == "ML104"


def test_ndjson_reads_one_resource_per_line(tmp_path: Path) -> None:
    lines = [
        _document_reference("d1", "First."),
        {"resourceType": "Patient", "id": "p1"},
        _diagnostic_report("r1", conclusion="Second."),
    ]
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    docs = _read(path)
    assert [(d.id, d.text, d.source) for d in docs if isinstance(d, Document)] == [
        ("d1", "First.", f"{path}:1"),
        ("r1", "Second.", f"{path}:3"),
    ]
    assert len(docs) == 2


def test_ndjson_bad_line_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    path.write_text(json.dumps(_document_reference("d1")) + "\n{oops\n", encoding="utf-8")
    items = _read(path)
    errors = [i for i in items if isinstance(i, InputError)]
    assert [(e.code, e.line) for e in errors] == [("ML103", 2)]


def test_top_level_resource_of_the_wrong_type_is_ml105(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "p.json", {"resourceType": "Patient", "id": "p1"})
    error = _only_error(_read(path))
    assert (error.code, error.source) == ("ML105", str(path))
    assert "Patient" in error.message
    assert "DocumentReference" in error.message


def test_bundle_without_documents_is_ml105(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]}
    assert _only_error(_read(_write_json(tmp_path / "b.json", bundle))).code == "ML105"


def test_empty_bundle_is_ml102(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    assert _only_error(_read(_write_json(tmp_path / "b.json", bundle))).code == "ML102"


@pytest.mark.parametrize(
    "resource",
    [
        _document_reference(status="bogus"),
        {"resourceType": "DocumentReference", "id": "d", "status": "current"},  # content is 1..*
        _document_reference(unknownField=1),
        _diagnostic_report(status="final", code="not a CodeableConcept", conclusion="x"),
    ],
)
def test_invalid_fhir_resource_is_ml106(tmp_path: Path, resource: dict) -> None:
    error = _only_error(_read(_write_json(tmp_path / "d.json", resource)))
    assert error.code == "ML106"
    assert "Denies chest pain" not in error.message


def test_invalid_entry_in_a_bundle_does_not_stop_the_others(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": _document_reference("bad", status="bogus")}, {"resource": _document_reference("ok")}],
    }
    items = _read(_write_json(tmp_path / "b.json", bundle))
    assert [(type(i).__name__, getattr(i, "code", None)) for i in items] == [
        ("InputError", "ML106"),
        ("Document", None),
    ]


def test_entered_in_error_documents_are_skipped(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _document_reference("gone", status="entered-in-error")},
            {"resource": _document_reference("ok")},
        ],
    }
    assert [d.id for d in _read(_write_json(tmp_path / "b.json", bundle)) if isinstance(d, Document)] == ["ok"]


def test_resource_without_id_uses_its_identifier_and_no_fhir_reference(tmp_path: Path) -> None:
    resource = _document_reference(None, identifier=[{"system": "urn:x", "value": "acc-5"}])
    doc = _only_doc(_read(_write_json(tmp_path / "d.json", resource)))
    assert (doc.id, doc.meta) == ("acc-5", {})


def test_resource_without_id_or_identifier_is_ml104(tmp_path: Path) -> None:
    assert _only_error(_read(_write_json(tmp_path / "d.json", _document_reference(None)))).code == "ML104"


def test_missing_resource_type_is_ml104(tmp_path: Path) -> None:
    assert _only_error(_read(_write_json(tmp_path / "d.json", {"id": "x"}))).code == "ML104"


def test_invalid_json_is_ml103_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{\n"resourceType": "DocumentReference",\n"id": \n}', encoding="utf-8")
    error = _only_error(_read(path))
    assert (error.code, error.line) == ("ML103", 4)


@pytest.mark.parametrize(("name", "code"), [("missing.json", "ML108"), ("empty.json", "ML102")])
def test_file_level_errors(tmp_path: Path, name: str, code: str) -> None:
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    assert _only_error(_read(tmp_path / name)).code == code


def test_ai_asserted_reports_in_a_bundle_are_results_not_sources(tmp_path):
    from medlens.core.types import Document as Doc

    note = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
            "content": [{"attachment": {"contentType": "text/plain", "data": "Tm8gZmV2ZXIu"}}]}  # fmt: skip
    drafted = {"resourceType": "DiagnosticReport", "id": "r1", "status": "partial", "code": {"text": "x"},
               "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                                      "code": "AIAST"}]}}  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": note}, {"resource": drafted}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    items = list(read_fhir(path))
    assert [type(i) for i in items] == [Doc]
    assert items[0].text == "No fever."
