"""Routes: results per record, per patient, and one by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from medlens.server.deps import CurrentUser, DbSession, project_for, visible
from medlens.server.records import record_for
from medlens.server.schemas import ResultOut
from medlens.store.models import Record, Result

__all__ = ["router"]

router = APIRouter(tags=["results"])


@router.get("/records/{record_id}/results", response_model=list[ResultOut])
def record_results(record_id: str, principal: CurrentUser, session: DbSession) -> list[Result]:
    """Every result of a record, oldest first."""
    record = record_for(session, principal, record_id)
    stmt = select(Result).where(Result.record_id == record.id).order_by(Result.created_at, Result.id)
    return list(session.scalars(stmt))


@router.get("/projects/{project_id}/patients/{patient_key}/results", response_model=list[ResultOut])
def patient_results(
    project_id: str,
    patient_key: str,
    principal: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[Result]:
    """Results of every record of one patient (key from ``POST /projects/{id}/patient-key``), by record order."""
    project_for(session, principal, project_id)
    stmt = (
        select(Result)
        .join(Record, Record.id == Result.record_id)
        .where(Record.project_id == project_id, Record.patient_key == patient_key)
        .order_by(Record.created_at, Record.id, Result.created_at, Result.id)
    )
    return list(session.scalars(stmt.limit(limit)))


@router.get("/results/{result_id}", response_model=ResultOut)
def get_result(result_id: str, principal: CurrentUser, session: DbSession) -> Result:
    """One result."""
    return visible(session, principal, Result, result_id)
