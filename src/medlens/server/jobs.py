"""Routes: submit a job (tasks over records), poll it. Full queue -> 503 with Retry-After."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import func, select

from medlens.safety.audit import event
from medlens.server.deps import (
    CurrentUser,
    DbSession,
    Principal,
    ServerContext,
    audit,
    get_ctx,
    project_for,
    require_role,
    visible,
)
from medlens.server.schemas import JobIn, JobOut
from medlens.store.models import Job, Record

__all__ = ["router"]

router = APIRouter(tags=["jobs"])
Reviewer = Annotated[Principal, Depends(require_role("reviewer"))]


@router.post("/projects/{project_id}/jobs", response_model=JobOut, status_code=202)
def submit_job(
    project_id: str,
    body: JobIn,
    principal: Reviewer,
    session: DbSession,
    ctx: Annotated[ServerContext, Depends(get_ctx)],
) -> Job:
    """Queue tasks over records of the project (reviewer or admin).

    Raises:
        HTTPException: 422 unknown task; 404 a record not in the project; 503 when the job queue is full.
    """
    project_for(session, principal, project_id)
    unknown = sorted(set(body.tasks) - set(ctx.settings.tasks))
    if unknown:
        raise HTTPException(422, f"unknown task; available: {list(ctx.settings.tasks)}")
    record_ids = list(dict.fromkeys(body.record_ids))
    found = session.scalar(
        select(func.count()).select_from(Record).where(Record.project_id == project_id, Record.id.in_(record_ids))
    )
    if found != len(record_ids):
        raise HTTPException(404, "record not found in this project")
    if not ctx.worker.reserve():
        raise HTTPException(503, "job queue full", headers={"Retry-After": str(ctx.settings.retry_after_s)})
    try:
        job = Job(
            project_id=project_id,
            created_by=principal.user_id,
            status="queued",
            tasks=list(dict.fromkeys(body.tasks)),
            record_ids=record_ids,
            n_records=len(record_ids),
            n_done=0,
            n_failed=0,
        )
        session.add(job)
        session.flush()
        audit(session, event(principal.actor, "job.submit", {"project": project_id, "job": job.id}))
        session.commit()
    except BaseException:
        ctx.worker.release()
        raise
    ctx.worker.submit(job.id)
    return job


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, principal: CurrentUser, session: DbSession) -> Job:
    """A job and its progress."""
    return visible(session, principal, Job, job_id)


@router.get("/projects/{project_id}/jobs", response_model=list[JobOut])
def list_jobs(
    project_id: str,
    principal: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Job]:
    """Jobs of a project, newest first."""
    project_for(session, principal, project_id)
    stmt = select(Job).where(Job.project_id == project_id).order_by(Job.created_at.desc(), Job.id)
    return list(session.scalars(stmt.limit(limit).offset(offset)))
