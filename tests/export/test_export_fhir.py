"""FHIR transaction Bundle writer: validates with fhir.resources R4B, carries AIAST and span provenance, maps
assertion statuses to FHIR statuses as documented in docs/output-schema.md."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlens.core.types import Assertion, Cue, Document, Evidence, RecordResult
from medlens.export.fhir import (
    AIAST,
    DERIVATION_REFERENCE,
    FULL_URL_NAMESPACE,
    FhirBundleWriter,
    family_relationship,
)
from medlens.io.fhir_reader import read_fhir
from medlens.notes.schema import AllergyDetail, Attribute, Finding, NotesExtractResult

RECORDED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)

FINDING_TYPES = {
    "Condition",
    "FamilyMemberHistory",
    "MedicationStatement",
    "AllergyIntolerance",
    "Observation",
    "Procedure",
}


def _write(tmp_path: Path, *records: tuple[Document, RecordResult], **options: Any) -> dict[str, Any]:
    writer = FhirBundleWriter(tmp_path, recorded=RECORDED, version="0.0.0-test", **options)
    for document, result in records:
        writer.write(document, result)
    writer.close()
    return json.loads((tmp_path / "bundle.json").read_text(encoding="utf-8"))


def _resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _one(bundle: dict[str, Any], resource_type: str, code_text: str) -> dict[str, Any]:
    matches = [
        r
        for r in _resources(bundle, resource_type)
        if code_text
        in (
            r.get("code", {}).get("text"),
            r.get("medicationCodeableConcept", {}).get("text"),
            *[c["code"]["text"] for c in r.get("condition", [])],
        )
    ]
    assert len(matches) == 1, f"expected one {resource_type} for {code_text!r}, found {len(matches)}"
    return matches[0]


def _code(concept: dict[str, Any]) -> str:
    return concept["coding"][0]["code"]


def _spans(resource: dict[str, Any]) -> list[tuple[str, int, int]]:
    spans = []
    for ext in resource.get("extension", []):
        if ext["url"] == DERIVATION_REFERENCE:
            parts = {e["url"]: e for e in ext["extension"]}
            spans.append(
                (
                    parts["reference"]["valueReference"]["reference"],
                    parts["offset"]["valueInteger"],
                    parts["length"]["valueInteger"],
                )
            )
    return spans


@pytest.fixture
def bundle(tmp_path: Path, standard_record: tuple[Document, RecordResult]) -> dict[str, Any]:
    return _write(tmp_path, standard_record)


def test_bundle_validates_as_fhir_r4_transaction(tmp_path: Path, bundle: dict[str, Any]) -> None:
    parsed = Bundle.model_validate_json((tmp_path / "bundle.json").read_text(encoding="utf-8"))
    assert parsed.type == "transaction"
    assert len(parsed.entry) == len(bundle["entry"])


def test_every_entry_posts_its_resource_type_under_a_unique_urn_uuid(bundle: dict[str, Any]) -> None:
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(u.startswith("urn:uuid:") for u in urls)
    for entry in bundle["entry"]:
        assert entry["request"]["method"] == "POST"
        assert entry["request"]["url"] == entry["resource"]["resourceType"]


def _uuid5_url(*parts: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(FULL_URL_NAMESPACE, chr(31).join(parts)))


def test_full_urls_are_uuid5_of_record_id_and_finding_index(bundle: dict[str, Any]) -> None:
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in bundle["entry"]}
    assert urls["Device"] == _uuid5_url("device", "medlens", "0.0.0-test")
    assert urls["DocumentReference"] == _uuid5_url("note-1", "document")
    assert bundle["entry"][2]["fullUrl"] == _uuid5_url("note-1", "0")


def test_every_finding_resource_is_tagged_ai_asserted(bundle: dict[str, Any]) -> None:
    resources = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in FINDING_TYPES]
    assert len(resources) == 10  # 11 findings, the hypothetical one is not exported
    assert all(r["meta"]["security"] == [AIAST] for r in resources)


def test_source_document_and_provenance_are_not_tagged_ai_asserted(bundle: dict[str, Any]) -> None:
    for resource_type in ("DocumentReference", "Provenance", "Device"):
        assert all("meta" not in r for r in _resources(bundle, resource_type))


def test_condition_derivation_reference_matches_evidence(bundle: dict[str, Any], builder: Any) -> None:
    document_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference")
    conditions = _resources(bundle, "Condition")
    assert conditions
    for condition in conditions:
        spans = _spans(condition)
        assert len(spans) == 1
        reference, offset, length = spans[0]
        assert reference == document_url
        assert builder.text[offset : offset + length].lower() in {"hypertension", "chest pain", "pneumonia"}


def test_every_evidence_span_becomes_one_extension(tmp_path: Path, builder: Any) -> None:
    finding = builder.finding("problem", "pneumonia", "pneumonia")
    twice = finding.model_copy(update={"evidence": (*finding.evidence, builder.ev("chest pain"))})
    condition = _resources(_write(tmp_path, builder.record([twice])), "Condition")[0]
    spans = [(offset, length) for _, offset, length in _spans(condition)]
    assert spans == [(e.start, e.end - e.start) for e in twice.evidence]


def test_provenance_targets_every_resource_of_the_record(bundle: dict[str, Any]) -> None:
    provenance = _resources(bundle, "Provenance")[0]
    finding_urls = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] in FINDING_TYPES]
    assert [t["reference"] for t in provenance["target"]] == finding_urls
    assert provenance["recorded"] == RECORDED.isoformat()


def test_provenance_agent_is_the_medlens_device_and_entity_the_source(bundle: dict[str, Any]) -> None:
    by_type = {e["resource"]["resourceType"]: e for e in bundle["entry"]}
    provenance = by_type["Provenance"]["resource"]
    assert provenance["agent"][0]["who"]["reference"] == by_type["Device"]["fullUrl"]
    assert _code(provenance["agent"][0]["type"]) == "assembler"
    assert provenance["entity"] == [{"role": "source", "what": {"reference": by_type["DocumentReference"]["fullUrl"]}}]
    device = by_type["Device"]["resource"]
    assert device["deviceName"][0]["name"] == "medlens"
    assert device["version"] == [{"value": "0.0.0-test"}]


def test_document_reference_identifies_the_record_without_its_text(bundle: dict[str, Any], builder: Any) -> None:
    document = _resources(bundle, "DocumentReference")[0]
    assert document["identifier"] == [{"system": "urn:medlens:record-id", "value": "note-1"}]
    assert "data" not in document["content"][0]["attachment"]
    assert document["content"][0]["attachment"]["size"] == len(builder.text.encode("utf-8"))
    assert "Metformin 500 mg PO BID" not in json.dumps(bundle)


def test_include_text_puts_the_note_in_the_document_reference(
    tmp_path: Path, standard_record: Any, builder: Any
) -> None:
    document = _resources(_write(tmp_path, standard_record, include_text=True), "DocumentReference")[0]
    assert base64.b64decode(document["content"][0]["attachment"]["data"]).decode("utf-8") == builder.text


@pytest.mark.parametrize(
    ("code_text", "verification", "clinical"),
    [
        ("hypertension", "unconfirmed", None),  # historical: no "active"
        ("chest pain", "refuted", None),
        ("pneumonia", "provisional", None),
    ],
)
def test_condition_statuses_follow_the_assertion(
    bundle: dict[str, Any], code_text: str, verification: str, clinical: str | None
) -> None:
    condition = _one(bundle, "Condition", code_text)
    assert _code(condition["verificationStatus"]) == verification
    assert (_code(condition["clinicalStatus"]) if "clinicalStatus" in condition else None) == clinical


def test_affirmed_current_problem_is_active_and_unconfirmed(tmp_path: Path, builder: Any) -> None:
    condition = _resources(
        _write(tmp_path, builder.record([builder.finding("problem", "pneumonia", "pneumonia")])), "Condition"
    )[0]
    assert _code(condition["clinicalStatus"]) == "active"
    assert _code(condition["verificationStatus"]) == "unconfirmed"


def test_condition_code_is_icd10cm_with_text(bundle: dict[str, Any]) -> None:
    condition = _one(bundle, "Condition", "hypertension")
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10-cm",
        "code": "I10",
        "display": "Essential (primary) hypertension",
    }
    assert condition["subject"] == {"reference": "Patient/p1"}


def test_hypothetical_finding_is_not_exported(bundle: dict[str, Any]) -> None:
    assert "fever" not in json.dumps(bundle)


def test_family_problem_becomes_family_member_history_with_the_cue_relationship(bundle: dict[str, Any]) -> None:
    history = _one(bundle, "FamilyMemberHistory", "malignant neoplasm of breast")
    assert history["relationship"]["coding"][0]["code"] == "MTH"
    assert history["patient"] == {"reference": "Patient/p1"}
    assert history["status"] == "partial"
    assert not _one_or_none(bundle, "Condition", "malignant neoplasm of breast")


def _one_or_none(bundle: dict[str, Any], resource_type: str, code_text: str) -> bool:
    return any(r.get("code", {}).get("text") == code_text for r in _resources(bundle, resource_type))


@pytest.mark.parametrize(
    ("cues", "code"),
    [
        (["mother"], "MTH"),
        (["his maternal grandmother"], "MGRMTH"),
        (["Family history"], "FAMMEMB"),
        (["FH:", "sister"], "SIS"),
        (["brother and father"], "BRO"),
        (["her"], None),
    ],
)
def test_family_relationship_comes_from_the_cue(cues: list[str], code: str | None) -> None:
    found = family_relationship(cues)
    assert (found["code"] if found else None) == code


def test_family_problem_without_a_named_relative_is_skipped(tmp_path: Path, builder: Any) -> None:
    cue = Cue(status="family", start=0, end=7, text="History", rule="test.v1")
    finding = builder.finding("problem", "diabetes", "hypertension", assertion=Assertion(family=True, cues=(cue,)))
    assert _resources(_write(tmp_path, builder.record([finding])), "FamilyMemberHistory") == []


def test_medication_statement_has_rxnorm_code_and_dosage(bundle: dict[str, Any]) -> None:
    statement = _one(bundle, "MedicationStatement", "metformin")
    assert statement["status"] == "active"
    assert statement["medicationCodeableConcept"]["coding"] == [
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6809"}
    ]
    dosage = statement["dosage"][0]
    assert dosage["text"] == "500 mg PO BID"
    assert dosage["route"]["text"] == "PO"
    assert dosage["timing"]["code"]["coding"][0]["code"] == "BID"
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 500,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }


@pytest.mark.parametrize(
    ("assertion", "status"),
    [
        (Assertion(), "active"),
        (Assertion(negated=True), "not-taken"),
        (Assertion(historical=True), "completed"),
        (Assertion(uncertain=True), "unknown"),
    ],
)
def test_medication_status_follows_the_assertion(
    tmp_path: Path, builder: Any, assertion: Assertion, status: str
) -> None:
    finding = builder.finding("medication", "metformin", "Metformin", assertion=assertion)
    assert _resources(_write(tmp_path, builder.record([finding])), "MedicationStatement")[0]["status"] == status


def test_negated_nkda_is_a_refuted_drug_allergy(bundle: dict[str, Any]) -> None:
    allergy = _one(bundle, "AllergyIntolerance", "drug allergy")
    assert _code(allergy["verificationStatus"]) == "refuted"
    assert _code(allergy["clinicalStatus"]) == "inactive"  # ait-1: clinicalStatus must be present
    assert allergy["category"] == ["medication"]
    assert "reaction" not in allergy


def test_allergy_reactions_become_manifestations(tmp_path: Path, builder_for: Any) -> None:
    local = builder_for("Allergic to penicillin (hives, wheezing).")
    reactions = tuple(Attribute(text=r, evidence=(local.ev(r),)) for r in ("hives", "wheezing"))
    finding = local.finding("allergy", "penicillin", "penicillin", allergy=AllergyDetail(reactions=reactions))
    allergy = _resources(_write(tmp_path, local.record([finding])), "AllergyIntolerance")[0]
    assert [m["text"] for m in allergy["reaction"][0]["manifestation"]] == ["hives", "wheezing"]
    assert _code(allergy["verificationStatus"]) == "unconfirmed"
    assert _code(allergy["clinicalStatus"]) == "active"


def test_blood_pressure_follows_the_fhir_bp_profile(bundle: dict[str, Any]) -> None:
    bp = _one(bundle, "Observation", "blood pressure")
    assert bp["status"] == "preliminary"
    assert _code(bp["category"][0]) == "vital-signs"
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    assert [(_code(c["code"]), c["valueQuantity"]["value"], c["valueQuantity"]["code"]) for c in bp["component"]] == [
        ("8480-6", 140, "mm[Hg]"),
        ("8462-4", 90, "mm[Hg]"),
    ]
    assert "valueQuantity" not in bp
    assert bp["interpretation"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": "H",
        "display": "High",
    }


def test_lab_is_a_laboratory_observation_with_ucum_quantity(bundle: dict[str, Any]) -> None:
    lab = _one(bundle, "Observation", "hemoglobin A1c")
    assert _code(lab["category"][0]) == "laboratory"
    assert lab["code"]["coding"] == [{"system": "http://loinc.org", "code": "4548-4"}]
    assert lab["valueQuantity"] == {"value": 8.2, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}


@pytest.mark.parametrize(("code_text", "status"), [("appendectomy", "completed"), ("colonoscopy", "not-done")])
def test_procedure_status_follows_the_assertion(bundle: dict[str, Any], code_text: str, status: str) -> None:
    assert _one(bundle, "Procedure", code_text)["status"] == status


def test_procedure_date_is_performed_date_time(bundle: dict[str, Any]) -> None:
    assert _one(bundle, "Procedure", "appendectomy")["performedDateTime"] == "2010"


def test_record_read_from_fhir_points_at_its_source_resource(tmp_path: Path, builder: Any) -> None:
    record = builder.record(builder.standard_findings(), meta={"fhir_reference": "DocumentReference/doc-9"})
    bundle = _write(tmp_path, record)
    assert _resources(bundle, "DocumentReference") == []
    condition = _one(bundle, "Condition", "hypertension")
    assert _spans(condition)[0][0] == "DocumentReference/doc-9"
    assert _resources(bundle, "Provenance")[0]["entity"][0]["what"] == {"reference": "DocumentReference/doc-9"}


def test_missing_patient_is_not_invented(tmp_path: Path, builder: Any) -> None:
    bundle = _write(tmp_path, builder.record(builder.standard_findings(), patient_id=None))
    assert _resources(bundle, "Patient") == []
    assert "reference" not in _one(bundle, "Condition", "hypertension")["subject"]
    Bundle.model_validate(bundle)


def test_patient_id_that_is_not_a_fhir_id_becomes_an_identifier_reference(tmp_path: Path, builder: Any) -> None:
    bundle = _write(tmp_path, builder.record(builder.standard_findings(), patient_id="MRN 12/34"))
    subject = _one(bundle, "Condition", "hypertension")["subject"]
    assert subject == {"type": "Patient", "identifier": {"system": "urn:medlens:patient-id", "value": "MRN 12/34"}}


def test_record_without_findings_adds_no_entries(tmp_path: Path, builder: Any) -> None:
    bundle = _write(tmp_path, builder.record([]))
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Device"]
    Bundle.model_validate(bundle)


def test_output_is_deterministic(tmp_path: Path, standard_record: Any) -> None:
    first = _write(tmp_path / "a", standard_record)
    second = _write(tmp_path / "b", standard_record)
    assert first == second


def test_close_moves_the_bundle_into_place(tmp_path: Path, standard_record: Any) -> None:
    writer = FhirBundleWriter(tmp_path, recorded=RECORDED, version="0.0.0-test")
    writer.write(*standard_record)
    assert not (tmp_path / "bundle.json").exists()
    writer.close()
    writer.close()
    assert (tmp_path / "bundle.json").exists()
    assert not (tmp_path / "bundle.json.partial").exists()


def test_bundle_matches_golden_file(tmp_path: Path, standard_record: Any, golden: Any) -> None:
    _write(tmp_path, standard_record)
    golden("bundle.json", (tmp_path / "bundle.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("date", "instant", "start"),
    [
        (dt.date(2024, 4, 30), None, "2024-04-30"),
        (dt.datetime(2024, 4, 30, 9, 15), None, "2024-04-30"),  # no time zone: only the day is certain
        (dt.datetime(2024, 4, 30, 9, 15, tzinfo=dt.UTC), "2024-04-30T09:15:00+00:00", "2024-04-30T09:15:00+00:00"),
    ],
)
def test_document_reference_dates_are_valid_fhir(
    tmp_path: Path, builder: Any, date: dt.date, instant: str | None, start: str
) -> None:
    bundle = _write(tmp_path, builder.record(builder.standard_findings(), date=date))
    document = _resources(bundle, "DocumentReference")[0]
    assert (document.get("date"), document["context"]["period"]["start"]) == (instant, start)
    Bundle.model_validate(bundle)


@pytest.mark.parametrize(("kind", "code"), [("radiology", "18748-4"), ("pathology", "11526-1"), ("note", None)])
def test_document_reference_type_follows_the_record_kind(
    tmp_path: Path, builder: Any, kind: str, code: str | None
) -> None:
    document = _resources(
        _write(tmp_path, builder.record(builder.standard_findings(), kind=kind)), "DocumentReference"
    )[0]
    assert (_code(document["type"]) if "type" in document else None) == code


_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_./ -]{0,20}", fullmatch=True).filter(lambda s: s == s.strip())
_texts = st.text(min_size=1, max_size=80).filter(lambda s: s.strip())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.tuples(_ids, _texts, st.sampled_from(["note", "radiology", "pathology"])),
        min_size=1,
        max_size=4,
        unique_by=lambda r: r[0],
    )
)
def test_bundle_with_text_reads_back_as_the_same_documents(
    tmp_path_factory: pytest.TempPathFactory, records: list[tuple[str, str, str]]
) -> None:
    out = tmp_path_factory.mktemp("roundtrip")
    pairs = []
    for record_id, text, kind in records:
        evidence = Evidence.of(text, record_id, 0, 1, "medlens.rule.test.v1")
        finding = Finding(type="problem", text="x", evidence=(evidence,))
        document = Document(id=record_id, text=text, kind=kind, patient_id="p-1", date=dt.date(2024, 1, 2))
        result = RecordResult(
            id=record_id,
            kind=kind,
            tasks={"notes.extract": NotesExtractResult(name="t", backend="rules", findings=(finding,))},
        )
        pairs.append((document, result))
    _write(out, *pairs, include_text=True)
    back = [d for d in read_fhir(out / "bundle.json") if isinstance(d, Document)]
    assert [(d.id, d.text, d.kind, d.patient_id, d.date) for d in back] == [
        (doc.id, doc.text, doc.kind, "p-1", dt.date(2024, 1, 2)) for doc, _ in pairs
    ]
