"""radiology.labels in the FHIR Bundle: one DiagnosticReport per report, one Observation per exported label, with
AIAST, span extensions and Provenance, validated with fhir.resources R4B (mapping in medlens.export.fhir_radiology)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from medlens.core.types import Document, Evidence, RecordResult
from medlens.export.fhir import AIAST, DERIVATION_REFERENCE, FhirBundleWriter
from medlens.export.fhir_radiology import label_code_system
from medlens.notes.schema import Finding, NotesExtractResult
from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.schema import Label, LabelStatus, RadiologyLabelsResult

RECORDED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
REPORT = (
    "EXAMINATION: Chest, two views.\n"
    "FINDINGS: Small left pleural effusion. No pneumothorax. Heart size is normal. No edema.\n"
    "IMPRESSION: Possible left lower lobe pneumonia. Mild pulmonary edema."
)
RECORD_ID = "rad-1"
LABELSET_SYSTEM = "urn:medlens:chexpert"
SNOMED = "http://snomed.info/sct"
# FHIR R4 required bindings (fhir.resources does not check codes): ValueSet diagnostic-report-status and
# observation-status, v4.0.1.
DIAGNOSTIC_REPORT_STATUSES = {
    "registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled",
    "entered-in-error", "unknown",
}  # fmt: skip
OBSERVATION_STATUSES = {
    "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
}  # fmt: skip


def _ev(quote: str, after: str = "", text: str = REPORT, record_id: str = RECORD_ID) -> Evidence:
    start = text.index(quote, text.index(after) if after else 0)
    return Evidence.of(text, record_id, start, start + len(quote), "medlens.rule.test.v1")


def _label(name: str, status: LabelStatus, *quotes: str, **fields: Any) -> Label:
    evidence = tuple(_ev(q) for q in quotes)
    return Label(name=name, status=status, evidence=evidence, supported=bool(evidence), **fields)


def _standard_labels() -> tuple[Label, ...]:
    return (
        _label("No Finding", "not_mentioned"),
        _label("Lung Opacity", "uncertain", "pneumonia", derived_from=("Pneumonia",)),
        _label(
            "Edema",
            "positive",
            "pulmonary edema",
            "edema",
            precedence="impression",
            overridden_status="negative",
        ),
        _label("Pneumonia", "uncertain", "pneumonia", section="impression"),
        _label("Pneumothorax", "negative", "pneumothorax"),
        _label("Pleural Effusion", "positive", "pleural effusion"),
        _label("Fracture", "not_mentioned"),
    )


def _labels_result(labels: tuple[Label, ...]) -> RadiologyLabelsResult:
    return RadiologyLabelsResult(
        name="medlens.task.radiology.labels.v1", backend="rules", labelset="chexpert", labels=labels
    )


def _record(
    labels: tuple[Label, ...] | None = None,
    *,
    record_id: str = RECORD_ID,
    meta: dict[str, Any] | None = None,
    findings: tuple[Finding, ...] = (),
) -> tuple[Document, RecordResult]:
    document = Document(
        id=record_id,
        text=REPORT,
        kind="radiology",
        patient_id="p1",
        date=dt.date(2024, 4, 30),
        source=f"reports.jsonl:{record_id}",
        meta=meta or {},
    )
    tasks: dict[str, Any] = {"radiology.labels": _labels_result(_standard_labels() if labels is None else labels)}
    if findings:
        tasks["notes.extract"] = NotesExtractResult(
            name="medlens.task.notes.extract.v1", backend="rules", findings=findings
        )
    result = RecordResult(id=record_id, kind="radiology", patient_id="p1", source=document.source, tasks=tasks)
    return document, result


def _write_text(tmp_path: Path, *records: tuple[Document, RecordResult]) -> str:
    writer = FhirBundleWriter(tmp_path, recorded=RECORDED, version="0.0.0-test")
    for document, result in records:
        writer.write(document, result)
    writer.close()
    return (tmp_path / "bundle.json").read_text(encoding="utf-8")


def _write(tmp_path: Path, *records: tuple[Document, RecordResult]) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(_write_text(tmp_path, *records))
    return bundle


def _resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _observation(bundle: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [r for r in _resources(bundle, "Observation") if r["code"]["text"] == name]
    assert len(matches) == 1, f"expected one Observation for {name!r}, found {len(matches)}"
    return matches[0]


def _url_of(bundle: dict[str, Any], resource: dict[str, Any]) -> str:
    return next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is resource)


def _spans(resource: dict[str, Any]) -> list[tuple[str, int | None, int | None]]:
    spans = []
    for ext in resource.get("extension", []):
        if ext["url"] == DERIVATION_REFERENCE:
            parts = {e["url"]: e for e in ext["extension"]}
            spans.append(
                (
                    parts["reference"]["valueReference"]["reference"],
                    parts["offset"]["valueInteger"] if "offset" in parts else None,
                    parts["length"]["valueInteger"] if "length" in parts else None,
                )
            )
    return spans


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for item in node for r in _references(item)]
    return []


@pytest.fixture
def bundle(tmp_path: Path) -> dict[str, Any]:
    return _write(tmp_path, _record())


def test_radiology_bundle_validates_as_fhir_r4b(bundle: dict[str, Any]) -> None:
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    assert len(parsed.entry) == len(bundle["entry"])


def test_statuses_are_codes_of_the_required_r4_value_sets(bundle: dict[str, Any]) -> None:
    assert {r["status"] for r in _resources(bundle, "DiagnosticReport")} <= DIAGNOSTIC_REPORT_STATUSES
    assert {r["status"] for r in _resources(bundle, "Observation")} <= OBSERVATION_STATUSES


def test_record_entries_are_document_report_observations_and_provenance(bundle: dict[str, Any]) -> None:
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Device",
        "DocumentReference",
        "DiagnosticReport",
        *["Observation"] * 5,
        "Provenance",
    ]


def test_every_urn_uuid_reference_resolves_inside_the_bundle(bundle: dict[str, Any]) -> None:
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    references = _references([e["resource"] for e in bundle["entry"]])
    internal = [r for r in references if r.startswith("urn:uuid:")]
    assert internal
    assert set(internal) <= set(urls)
    assert set(references) - set(internal) == {"Patient/p1"}


def test_diagnostic_report_is_a_partial_radiology_report_identified_by_the_record(bundle: dict[str, Any]) -> None:
    (report,) = _resources(bundle, "DiagnosticReport")
    assert report["status"] == "partial"
    assert report["category"] == [
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}]}
    ]
    assert report["identifier"] == [{"system": "urn:medlens:record-id", "value": RECORD_ID}]
    assert report["code"] == {"text": "Radiology report"}
    assert report["subject"] == {"reference": "Patient/p1"}


def test_diagnostic_report_results_are_the_observations_in_label_set_order(bundle: dict[str, Any]) -> None:
    (report,) = _resources(bundle, "DiagnosticReport")
    observations = _resources(bundle, "Observation")
    assert report["result"] == [{"reference": _url_of(bundle, o)} for o in observations]
    assert [o["code"]["text"] for o in observations] == [
        "Lung Opacity",
        "Edema",
        "Pneumonia",
        "Pneumothorax",
        "Pleural Effusion",
    ]


def test_diagnostic_report_derives_from_the_whole_source_document(bundle: dict[str, Any]) -> None:
    (report,) = _resources(bundle, "DiagnosticReport")
    (document,) = _resources(bundle, "DocumentReference")
    assert _spans(report) == [(_url_of(bundle, document), None, None)]


def test_report_and_observations_are_tagged_ai_asserted(bundle: dict[str, Any]) -> None:
    resources = _resources(bundle, "DiagnosticReport") + _resources(bundle, "Observation")
    assert len(resources) == 6
    for resource in resources:
        assert resource["meta"]["security"] == [AIAST]


def test_bundle_holds_no_report_text(tmp_path: Path) -> None:
    text = _write_text(tmp_path, _record())
    assert "Small left" not in text
    assert "presentedForm" not in text
    assert "conclusion" not in text


@pytest.mark.parametrize(
    ("name", "quotes"),
    [
        ("Pleural Effusion", ["pleural effusion"]),
        ("Pneumothorax", ["pneumothorax"]),
        ("Pneumonia", ["pneumonia"]),
        ("Edema", ["pulmonary edema", "edema"]),
    ],
)
def test_observation_extensions_equal_the_evidence(bundle: dict[str, Any], name: str, quotes: list[str]) -> None:
    (document,) = _resources(bundle, "DocumentReference")
    expected = []
    for quote in quotes:
        evidence = _ev(quote)
        assert REPORT[evidence.start : evidence.end] == quote
        expected.append((_url_of(bundle, document), evidence.start, evidence.end - evidence.start))
    assert _spans(_observation(bundle, name)) == expected


def test_not_mentioned_labels_are_not_exported(bundle: dict[str, Any]) -> None:
    names = {o["code"]["text"] for o in _resources(bundle, "Observation")}
    assert "Fracture" not in names
    assert "No Finding" not in names


def test_unsupported_label_without_evidence_is_not_exported(tmp_path: Path) -> None:
    labels = (
        Label(name="No Finding", status="positive", supported=False),
        _label("Pneumothorax", "negative", "pneumothorax"),
    )
    bundle = _write(tmp_path, _record(labels))
    assert [o["code"]["text"] for o in _resources(bundle, "Observation")] == ["Pneumothorax"]


def test_all_labels_not_mentioned_adds_no_entries(tmp_path: Path) -> None:
    labels = (_label("No Finding", "not_mentioned"), _label("Fracture", "not_mentioned"))
    bundle = _write(tmp_path, _record(labels))
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Device"]


@pytest.mark.parametrize(
    ("name", "snomed", "value_text", "interpretation"),
    [
        ("Pleural Effusion", "52101004", "present", "POS"),
        ("Pneumothorax", "2667000", "absent", "NEG"),
        ("Pneumonia", None, "uncertain", "IND"),
    ],
)
def test_observation_value_and_interpretation_follow_the_status(
    bundle: dict[str, Any], name: str, snomed: str | None, value_text: str, interpretation: str
) -> None:
    observation = _observation(bundle, name)
    value = observation["valueCodeableConcept"]
    assert value["text"] == value_text
    assert [c["code"] for c in value.get("coding", []) if c["system"] == SNOMED] == ([snomed] if snomed else [])
    (concept,) = observation["interpretation"]
    assert concept["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    assert concept["coding"][0]["code"] == interpretation


def test_observation_is_a_preliminary_imaging_observation_of_the_patient(bundle: dict[str, Any]) -> None:
    observation = _observation(bundle, "Pleural Effusion")
    assert observation["status"] == "preliminary"
    assert observation["category"][0]["coding"][0]["code"] == "imaging"
    assert observation["subject"] == {"reference": "Patient/p1"}


def test_observation_code_is_the_label_in_the_labelset_code_system(bundle: dict[str, Any]) -> None:
    assert _observation(bundle, "Pleural Effusion")["code"] == {
        "coding": [{"system": LABELSET_SYSTEM, "code": "Pleural Effusion"}],
        "text": "Pleural Effusion",
    }


@pytest.mark.parametrize(
    ("labelset", "system"),
    [("chexpert", "urn:medlens:chexpert"), ("ct_chest", "urn:medlens:ct_chest"), ("a b/c", "urn:medlens:a%20b%2Fc")],
)
def test_label_code_system_is_a_medlens_urn_of_the_labelset(labelset: str, system: str) -> None:
    assert label_code_system(labelset) == system


def test_derived_label_points_at_the_observation_it_was_derived_from(bundle: dict[str, Any]) -> None:
    pneumonia = _observation(bundle, "Pneumonia")
    assert _observation(bundle, "Lung Opacity")["derivedFrom"] == [{"reference": _url_of(bundle, pneumonia)}]
    assert "derivedFrom" not in pneumonia


def test_derivation_from_an_unexported_label_is_left_out(tmp_path: Path) -> None:
    labels = (
        _label("Lung Opacity", "uncertain", "pneumonia", derived_from=("Pneumonia",)),
        _label("Pneumonia", "not_mentioned"),
    )
    bundle = _write(tmp_path, _record(labels))
    assert "derivedFrom" not in _observation(bundle, "Lung Opacity")


def test_impression_precedence_is_noted_on_the_observation(bundle: dict[str, Any]) -> None:
    (note,) = _observation(bundle, "Edema")["note"]
    assert "impression" in note["text"]
    assert "negative" in note["text"]
    assert "note" not in _observation(bundle, "Pneumothorax")


def test_provenance_targets_the_report_and_its_observations(bundle: dict[str, Any]) -> None:
    (provenance,) = _resources(bundle, "Provenance")
    targets = _resources(bundle, "DiagnosticReport") + _resources(bundle, "Observation")
    assert provenance["target"] == [{"reference": _url_of(bundle, r)} for r in targets]
    (document,) = _resources(bundle, "DocumentReference")
    assert provenance["entity"] == [{"role": "source", "what": {"reference": _url_of(bundle, document)}}]


@pytest.mark.parametrize(
    ("service", "code"),
    [
        (
            {"code": "24627-2", "text": "XR Chest 2 views", "system": "LN"},
            {"coding": [{"system": "http://loinc.org", "code": "24627-2"}], "text": "XR Chest 2 views"},
        ),
        ({"code": "CXR2", "text": "Chest PA and lateral", "system": "L"}, {"text": "Chest PA and lateral"}),
        ({"code": "CXR2"}, {"text": "CXR2"}),
        ({}, {"text": "Radiology report"}),
    ],
)
def test_report_code_comes_from_the_hl7_universal_service_id(
    tmp_path: Path, service: dict[str, str], code: dict[str, Any]
) -> None:
    meta = {"format": "hl7v2", "universal_service_id": service}
    bundle = _write(tmp_path, _record(meta=meta))
    (report,) = _resources(bundle, "DiagnosticReport")
    assert report["code"] == code
    Bundle.model_validate(bundle)


def test_report_read_from_fhir_points_at_its_source_resource(tmp_path: Path) -> None:
    bundle = _write(tmp_path, _record(meta={"fhir_reference": "DiagnosticReport/dr-7"}))
    assert _resources(bundle, "DocumentReference") == []
    (report,) = _resources(bundle, "DiagnosticReport")
    assert _spans(report) == [("DiagnosticReport/dr-7", None, None)]
    assert _spans(_observation(bundle, "Pneumothorax"))[0][0] == "DiagnosticReport/dr-7"
    Bundle.model_validate(bundle)


def test_mixed_notes_and_radiology_records_share_one_valid_bundle(
    tmp_path: Path, standard_record: tuple[Document, RecordResult]
) -> None:
    bundle = _write(tmp_path, standard_record, _record())
    Bundle.model_validate(bundle)
    provenances = _resources(bundle, "Provenance")
    assert len(provenances) == 2
    (report,) = _resources(bundle, "DiagnosticReport")
    radiology_targets = {t["reference"] for t in provenances[1]["target"]}
    assert _url_of(bundle, report) in radiology_targets
    assert _url_of(bundle, report) not in {t["reference"] for t in provenances[0]["target"]}
    assert {"Condition", "MedicationStatement"} <= {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_record_with_notes_findings_and_labels_exports_both_under_one_provenance(tmp_path: Path) -> None:
    finding = Finding(type="problem", text="pleural effusion", evidence=(_ev("pleural effusion"),))
    bundle = _write(tmp_path, _record(findings=(finding,)))
    Bundle.model_validate(bundle)
    (condition,) = _resources(bundle, "Condition")
    (report,) = _resources(bundle, "DiagnosticReport")
    (provenance,) = _resources(bundle, "Provenance")
    targets = [t["reference"] for t in provenance["target"]]
    assert targets[:2] == [_url_of(bundle, condition), _url_of(bundle, report)]
    assert len(targets) == 7


def test_labels_read_back_as_a_mapping_are_exported(tmp_path: Path) -> None:
    document, typed = _record()
    plain = RecordResult.model_construct(
        id=typed.id,
        kind=typed.kind,
        patient_id=typed.patient_id,
        source=typed.source,
        tasks={"radiology.labels": typed.tasks["radiology.labels"].model_dump()},
        errors=[],
    )
    assert _write_text(tmp_path / "plain", (document, plain)) == _write_text(tmp_path / "typed", (document, typed))


def test_radiology_output_is_deterministic(tmp_path: Path, standard_record: tuple[Document, RecordResult]) -> None:
    first = _write_text(tmp_path / "a", standard_record, _record())
    second = _write_text(tmp_path / "b", standard_record, _record())
    assert first == second


def test_rules_labeler_output_maps_to_a_valid_bundle(tmp_path: Path) -> None:
    document, _ = _record()
    (labels,) = RadiologyLabelsRules()([document])
    result = RecordResult(id=document.id, kind="radiology", tasks={"radiology.labels": labels})
    bundle = _write(tmp_path, (document, result))
    Bundle.model_validate(bundle)
    observations = _resources(bundle, "Observation")
    exported = [lab for lab in labels.labels if lab.status != "not_mentioned" and lab.supported and lab.evidence]
    assert [o["code"]["text"] for o in observations] == [lab.name for lab in exported]
    for observation, label in zip(observations, exported, strict=True):
        assert [(s[1], s[2]) for s in _spans(observation)] == [(e.start, e.end - e.start) for e in label.evidence]
