"""Routes: export ACCEPTED results only, as a FHIR R4 Bundle or OMOP NOTE_NLP rows.

Accepted and edited results (the edited payload for an edit) are written with ``medlens.export.fhir`` /
``medlens.export.omop``; nothing still waiting for review or rejected leaves the service. A human accepted every
exported resource, so its ``meta.security`` AI tag is switched from AIAST (v3-ObservationValue, "Artificial
Intelligence asserted") to CLINAST_AIRPT ("Clinician Asserted from AI Reported", CodeSystem AddedProvenanceCS of
HL7 "AI Transparency on FHIR" 1.0.0-ballot). Every export appends an audit entry with the hash of what was sent.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from medlens.core.types import Document, RecordResult
from medlens.export.fhir import AIAST, FhirBundleWriter
from medlens.export.omop import NoteNlpCsvWriter
from medlens.safety.audit import event, sha256_hex
from medlens.server.deps import DbSession, Principal, audit, project_for, require_role
from medlens.server.review import result_model
from medlens.store.models import Record, Result, ReviewDecision

__all__ = ["CLINAST_AIRPT", "accepted_records", "clinician_asserted", "router"]

router = APIRouter(tags=["export"])
Reviewer = Annotated[Principal, Depends(require_role("reviewer"))]

# HL7 AI Transparency on FHIR (1.0.0-ballot), CodeSystem AddedProvenanceCS.
CLINAST_AIRPT: dict[str, str] = {
    "system": "http://hl7.org/fhir/uv/aitransparency/CodeSystem/AddedProvenanceCS",
    "code": "CLINAST_AIRPT",
    "display": "Clinician Asserted from AI Reported",
}


def _effective_payloads(session: DbSession, project_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Record id -> task alias -> payload of the latest accepted or edited result."""
    stmt = (
        select(Result)
        .where(Result.project_id == project_id, Result.status.in_(("accepted", "edited")))
        .order_by(Result.decided_at, Result.id)
    )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for result in session.scalars(stmt):
        payload = result.payload
        if result.status == "edited":
            edit = session.scalars(
                select(ReviewDecision)
                .where(ReviewDecision.result_id == result.id, ReviewDecision.decision == "edit")
                .order_by(ReviewDecision.decided_at.desc())
                .limit(1)
            ).first()
            if edit is None or edit.edited_payload is None:
                continue
            payload = edit.edited_payload
        out.setdefault(result.record_id, {})[result.task] = payload
    return out


def accepted_records(session: DbSession, project_id: str) -> Iterator[tuple[Document, RecordResult]]:
    """Each record with accepted results, as the (document, typed result line) the file writers take."""
    payloads = _effective_payloads(session, project_id)
    for record_id in sorted(payloads):
        record = session.get_one(Record, record_id)
        document = Document.model_validate(record.document)
        line = RecordResult(id=document.id, kind=document.kind, patient_id=document.patient_id)
        for task, payload in payloads[record_id].items():
            line.tasks[task] = result_model(task).model_validate(payload)
        yield document, line


def clinician_asserted(bundle: dict[str, Any]) -> dict[str, Any]:
    """Replace every AIAST security label in the bundle's resources by CLINAST_AIRPT (in place; returned)."""
    for entry in bundle.get("entry", []):
        security = entry.get("resource", {}).get("meta", {}).get("security")
        if security:
            entry["resource"]["meta"]["security"] = [
                dict(CLINAST_AIRPT) if s.get("code") == AIAST["code"] and s.get("system") == AIAST["system"] else s
                for s in security
            ]
    return bundle


@router.get("/projects/{project_id}/export/fhir", response_class=Response)
def export_fhir(project_id: str, principal: Reviewer, session: DbSession) -> Response:
    """A FHIR R4 transaction Bundle of the project's accepted results (reviewer or admin)."""
    project_for(session, principal, project_id)
    n = 0
    with tempfile.TemporaryDirectory(prefix="medlens-export-") as tmp:
        with FhirBundleWriter(Path(tmp)) as writer:
            for document, line in accepted_records(session, project_id):
                writer.write(document, line)
                n += 1
        bundle = json.loads(writer.path.read_text(encoding="utf-8"))
    body = json.dumps(clinician_asserted(bundle), ensure_ascii=False).encode("utf-8")
    audit(
        session,
        event(
            principal.actor, "export.fhir", {"project": project_id, "n_records": str(n)}, output_hash=sha256_hex(body)
        ),
    )
    session.commit()
    return Response(body, media_type="application/fhir+json")


@router.get("/projects/{project_id}/export/note_nlp", response_class=Response)
def export_note_nlp(project_id: str, principal: Reviewer, session: DbSession) -> Response:
    """OMOP CDM v5.4 NOTE_NLP rows (CSV) of the project's accepted ``notes.extract`` results."""
    project_for(session, principal, project_id)
    n = 0
    with tempfile.TemporaryDirectory(prefix="medlens-export-") as tmp:
        writer = NoteNlpCsvWriter(Path(tmp))
        try:
            for document, line in accepted_records(session, project_id):
                writer.write(document, line)
                n += 1
        finally:
            writer.close()
        body = (Path(tmp) / writer.filename).read_bytes()
    audit(
        session,
        event(
            principal.actor,
            "export.note_nlp",
            {"project": project_id, "n_records": str(n)},
            output_hash=sha256_hex(body),
        ),
    )
    session.commit()
    return Response(body, media_type="text/csv; charset=utf-8")
