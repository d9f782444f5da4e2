from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import sqlalchemy as sa
from server_support import NOTE, Service


def _result(service: Service) -> dict[str, Any]:
    (record_id,) = service.submit(NOTE)
    service.run([record_id])
    result: dict[str, Any] = service.client.get(f"/records/{record_id}/results", headers=service.reader).json()[0]
    return result


def _bundle(service: Service) -> dict[str, Any]:
    r = service.client.get(f"/projects/{service.project_id}/export/fhir", headers=service.reviewer)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle: dict[str, Any] = r.json()
    return bundle


def _types(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["resourceType"] for e in bundle["entry"]]


def _decide(service: Service, result_id: str, decision: str, reason: str, **extra: Any) -> None:
    r = service.client.post(
        f"/review/items/{result_id}/decision",
        json={"decision": decision, "reason_code": reason, **extra},
        headers=service.reviewer,
    )
    assert r.status_code == 200, r.text


def test_results_waiting_for_review_are_not_exported(service: Service) -> None:
    _result(service)
    assert _types(_bundle(service)) == ["Device"]


def test_rejected_results_are_not_exported(service: Service) -> None:
    _decide(service, _result(service)["id"], "reject", "wrong_concept")
    assert _types(_bundle(service)) == ["Device"]


def test_accepted_results_are_exported_as_clinician_asserted(service: Service) -> None:
    _decide(service, _result(service)["id"], "accept", "correct")
    bundle = _bundle(service)
    assert "Condition" in _types(bundle)
    codes = [s["code"] for e in bundle["entry"] for s in e["resource"].get("meta", {}).get("security", [])]
    assert codes
    assert set(codes) == {"CLINAST_AIRPT"}


def test_edited_results_export_the_edited_payload(service: Service) -> None:
    result = _result(service)
    edited = dict(result["payload"])
    edited["findings"] = [f for f in result["payload"]["findings"] if f["type"] == "allergy"]
    assert edited["findings"]
    _decide(service, result["id"], "edit", "missing_finding", edited_payload=edited)
    types = _types(_bundle(service))
    assert "AllergyIntolerance" in types
    assert "Condition" not in types


def test_note_nlp_exports_accepted_rows_only(service: Service) -> None:
    empty = service.client.get(f"/projects/{service.project_id}/export/note_nlp", headers=service.reviewer)
    assert len(list(csv.reader(io.StringIO(empty.text)))) == 1  # header only
    _decide(service, _result(service)["id"], "accept", "correct")
    r = service.client.get(f"/projects/{service.project_id}/export/note_nlp", headers=service.reviewer)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows
    assert {"note_nlp_id", "lexical_variant", "term_exists"} <= rows[0].keys()


def test_export_is_audited_with_the_hash_of_what_was_sent(service: Service) -> None:
    _decide(service, _result(service)["id"], "accept", "correct")
    r = service.client.get(f"/projects/{service.project_id}/export/fhir", headers=service.reviewer)
    engine = sa.create_engine(service.db_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT object_ids, output_hash FROM audit_entries WHERE action = 'export.fhir'")
        ).one()
    engine.dispose()
    assert row.output_hash == hashlib.sha256(r.content).hexdigest()
    assert json.loads(row.object_ids)["project"] == service.project_id


def test_reader_cannot_export(service: Service) -> None:
    r = service.client.get(f"/projects/{service.project_id}/export/fhir", headers=service.reader)
    assert r.status_code == 403
