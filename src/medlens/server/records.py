"""Routes: submit records (JSON documents, a FHIR resource or Bundle, text files), list and read them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, HTTPException, Query, UploadFile
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medlens.core.errors import InputError
from medlens.core.types import Document, DocumentKind
from medlens.io.fhir_reader import read_fhir
from medlens.safety.audit import event, sha256_hex
from medlens.server.deps import (
    CurrentUser,
    DbSession,
    Principal,
    ServerContext,
    audit,
    get_ctx,
    patient_key,
    project_for,
    require_role,
    visible,
)
from medlens.server.schemas import PatientKeyIn, PatientKeyOut, RecordOut, RecordsIn, RecordsOut
from medlens.store.models import Record

__all__ = ["router", "store_documents"]

router = APIRouter(tags=["records"])
Reviewer = Annotated[Principal, Depends(require_role("reviewer"))]
Ctx = Annotated[ServerContext, Depends(get_ctx)]


def store_documents(
    session: DbSession, ctx: ServerContext, principal: Principal, project_id: str, documents: list[Document]
) -> list[Record]:
    """Store documents as records of a project (all or none) and audit the submission.

    Raises:
        HTTPException: 413 over ``max_records_per_request``; 409 when a record id is already in the project.
    """
    if len(documents) > ctx.settings.max_records_per_request:
        raise HTTPException(413, f"at most {ctx.settings.max_records_per_request} documents per request")
    if len({d.id for d in documents}) != len(documents):
        raise HTTPException(409, "duplicate record id in the request (ML110)")
    records = []
    for doc in documents:
        record = Record(
            project_id=project_id,
            external_id=doc.id,
            patient_key=patient_key(ctx, project_id, doc.patient_id) if doc.patient_id else None,
            kind=doc.kind,
            text_sha256=sha256_hex(doc.text),
            document=json.loads(doc.model_dump_json()),
            created_by=principal.user_id,
        )
        session.add(record)
        records.append(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, "a record with this id is already in the project (ML110)") from None
    for record in records:
        audit(
            session,
            event(
                principal.actor,
                "record.create",
                {"project": project_id, "record": record.id},
                input_hash=record.text_sha256,
            ),
        )
    session.commit()
    return records


@router.post("/projects/{project_id}/records", response_model=RecordsOut, status_code=201)
def submit_records(project_id: str, body: RecordsIn, principal: Reviewer, session: DbSession, ctx: Ctx) -> RecordsOut:
    """Store JSON documents (reviewer or admin)."""
    project_for(session, principal, project_id)
    documents = [Document(**d.model_dump()) for d in body.documents]
    records = store_documents(session, ctx, principal, project_id, documents)
    return RecordsOut(records=[RecordOut.model_validate(r) for r in records])


@router.post("/projects/{project_id}/records/fhir", response_model=RecordsOut, status_code=201)
def submit_fhir(
    project_id: str,
    principal: Reviewer,
    session: DbSession,
    ctx: Ctx,
    resource: Annotated[dict[str, Any], Body(description="A DocumentReference, DiagnosticReport or Bundle.")],
) -> RecordsOut:
    """Store the documents of a FHIR R4 resource or Bundle (read by ``medlens.io.fhir_reader``)."""
    project_for(session, principal, project_id)
    documents: list[Document] = []
    codes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="medlens-fhir-") as tmp:
        path = Path(tmp) / "input.json"
        path.write_text(json.dumps(resource), encoding="utf-8")
        for item in read_fhir(path, max_bytes=ctx.settings.max_body_bytes):
            if isinstance(item, InputError):
                codes.append(item.code)
            else:
                documents.append(item)
    if codes or not documents:
        raise HTTPException(422, {"message": "the FHIR input has no usable document", "codes": codes or ["ML102"]})
    records = store_documents(session, ctx, principal, project_id, documents)
    return RecordsOut(records=[RecordOut.model_validate(r) for r in records])


@router.post("/projects/{project_id}/records/files", response_model=RecordsOut, status_code=201)
def submit_files(
    project_id: str,
    principal: Reviewer,
    session: DbSession,
    ctx: Ctx,
    files: Annotated[list[UploadFile], File(description="UTF-8 text files; the file name is the record id.")],
    kind: Annotated[DocumentKind, Form(description="Kind of every file.")] = "note",
) -> RecordsOut:
    """Store uploaded UTF-8 text files, one record each."""
    project_for(session, principal, project_id)
    documents = []
    for upload in files:
        try:
            text = upload.file.read().decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(422, {"message": "a file is not UTF-8 text", "codes": ["ML101"]}) from None
        name = Path(upload.filename or "").name
        if not name:
            raise HTTPException(422, {"message": "every file needs a name", "codes": ["ML104"]})
        documents.append(Document(id=name, text=text, kind=kind, source=f"upload:{name}"))
    records = store_documents(session, ctx, principal, project_id, documents)
    return RecordsOut(records=[RecordOut.model_validate(r) for r in records])


@router.get("/projects/{project_id}/records", response_model=RecordsOut)
def list_records(
    project_id: str,
    principal: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RecordsOut:
    """Records of a project, oldest first (without their text)."""
    project_for(session, principal, project_id)
    stmt = select(Record).where(Record.project_id == project_id).order_by(Record.created_at, Record.id)
    rows = session.scalars(stmt.limit(limit).offset(offset))
    return RecordsOut(records=[RecordOut.model_validate(r) for r in rows])


def record_for(session: DbSession, principal: Principal, record_id: str) -> Record:
    """The record, if the caller may see its project (404 otherwise)."""
    return visible(session, principal, Record, record_id)


@router.get("/records/{record_id}", response_model=RecordOut)
def get_record(record_id: str, principal: CurrentUser, session: DbSession) -> RecordOut:
    """One record, with its document."""
    record = record_for(session, principal, record_id)
    out = RecordOut.model_validate(record)
    return out.model_copy(update={"document": record.document})


@router.post("/projects/{project_id}/patient-key", response_model=PatientKeyOut)
def get_patient_key(
    project_id: str, body: PatientKeyIn, principal: CurrentUser, session: DbSession, ctx: Ctx
) -> PatientKeyOut:
    """The key of a patient id in a project (the id travels in the body, never in a URL)."""
    project_for(session, principal, project_id)
    return PatientKeyOut(patient_key=patient_key(ctx, project_id, body.patient_id))
