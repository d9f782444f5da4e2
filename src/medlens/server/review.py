"""Routes: the review queue, one item, and decisions (accept / reject / edit with a reason code).

A decision moves a result out of ``needs_review`` exactly once (a second decision gets 409). An edit's payload is
validated against the task's registered result model and must stay grounded: every evidence quote must be the
record's text at its offsets. The original AI output stays on the result; the edited one is on the decision.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import ValidationError
from sqlalchemy import func, select, update

from medlens.core.registry import load_object, tasks
from medlens.core.types import TaskResult
from medlens.registrations import register_all
from medlens.safety.audit import canonical_json, event, sha256_hex
from medlens.server.deps import CurrentUser, DbSession, Principal, audit, project_for, require_role, visible
from medlens.server.schemas import (
    REASON_CODES,
    DecisionIn,
    DecisionOut,
    Page,
    QueueItem,
    RecordOut,
    ResultOut,
    ReviewItemOut,
)
from medlens.store.models import Record, Result, ReviewDecision, utcnow

__all__ = ["apply_decision", "result_model", "router", "ungrounded_evidence"]

router = APIRouter(tags=["review"])
Reviewer = Annotated[Principal, Depends(require_role("reviewer"))]
_STATUS = {"accept": "accepted", "reject": "rejected", "edit": "edited"}


def result_model(task: str) -> type[TaskResult]:
    """The registered result model of a task alias or name."""
    register_all()
    model: type[TaskResult] = load_object(tasks.get(tasks.resolve(task)).result)
    return model


def ungrounded_evidence(value: Any, text: str) -> int:
    """How many evidence items in ``value`` do not quote ``text`` exactly at their offsets."""
    if isinstance(value, dict):
        if {"start", "end", "quote"} <= value.keys():
            start, end = value["start"], value["end"]
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text)):
                return 1
            return 0 if text[start:end] == value["quote"] else 1
        return sum(ungrounded_evidence(v, text) for v in value.values())
    if isinstance(value, list):
        return sum(ungrounded_evidence(v, text) for v in value)
    return 0


@router.get("/projects/{project_id}/review/queue", response_model=Page)
def queue(
    project_id: str,
    principal: CurrentUser,
    session: DbSession,
    flagged_only: Annotated[bool, Query(description="Only results with a flag.")] = False,
    task: Annotated[str | None, Query(max_length=64, description="Only this task alias.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page:
    """Results waiting for review, most urgent first (unsupported, low confidence, sampled, then the rest)."""
    project_for(session, principal, project_id)
    where = [Result.project_id == project_id, Result.status == "needs_review"]
    if flagged_only:
        where.append(Result.priority < 9)
    if task is not None:
        where.append(Result.task == task)
    total = session.scalar(select(func.count()).select_from(Result).where(*where)) or 0
    stmt = select(Result).where(*where).order_by(Result.priority, Result.created_at, Result.id)
    items = [
        QueueItem(
            result_id=r.id,
            record_id=r.record_id,
            task=r.task,
            flags=r.flags,
            confidence=r.confidence,
            priority=r.priority,
            created_at=r.created_at,
        )
        for r in session.scalars(stmt.limit(limit).offset(offset))
    ]
    return Page(total=total, items=items)


def _decisions(session: DbSession, result_id: str) -> list[ReviewDecision]:
    stmt = select(ReviewDecision).where(ReviewDecision.result_id == result_id)
    return list(session.scalars(stmt.order_by(ReviewDecision.decided_at, ReviewDecision.id)))


@router.get("/review/items/{result_id}", response_model=ReviewItemOut)
def review_item(result_id: str, principal: CurrentUser, session: DbSession) -> ReviewItemOut:
    """A result with its record (document included) and earlier decisions."""
    result = visible(session, principal, Result, result_id)
    record = session.get_one(Record, result.record_id)
    return ReviewItemOut(
        result=ResultOut.model_validate(result),
        record=RecordOut.model_validate(record).model_copy(update={"document": record.document}),
        decisions=[DecisionOut.model_validate(d) for d in _decisions(session, result.id)],
        reason_codes={k: list(v) for k, v in REASON_CODES.items()},
    )


def _check_edit(result: Result, record: Record, payload: dict[str, Any] | None) -> dict[str, Any]:
    if payload is None:
        raise HTTPException(422, {"message": "an edit needs edited_payload", "codes": ["ML104"]})
    try:
        model = result_model(result.task).model_validate(payload)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
        raise HTTPException(422, {"message": "edited_payload is not a valid result", "errors": errors}) from None
    if model.name != result.task_name:
        raise HTTPException(422, {"message": "edited_payload must keep the task name", "codes": ["ML104"]})
    data: dict[str, Any] = model.model_dump(mode="json")
    if ungrounded_evidence(data, str(record.document.get("text", ""))):
        raise HTTPException(422, {"message": "evidence does not quote the record at its offsets", "codes": ["ML402"]})
    return data


def apply_decision(
    session: DbSession,
    principal: Principal,
    result: Result,
    decision: str,
    reason_code: str,
    edited_payload: dict[str, Any] | None = None,
) -> ReviewDecision:
    """Check and store a decision on ``result`` (already checked visible to ``principal``), audit it and commit.

    Shared by the API and the review UI.

    Raises:
        HTTPException: 422 wrong reason code or invalid/ungrounded edit; 409 when already decided.
    """
    if reason_code not in REASON_CODES.get(decision, ()):
        raise HTTPException(
            422, {"message": "unknown reason code for this decision", "valid": list(REASON_CODES.get(decision, ()))}
        )
    edited: dict[str, Any] | None = None
    if decision == "edit":
        edited = _check_edit(result, session.get_one(Record, result.record_id), edited_payload)
    elif edited_payload is not None:
        raise HTTPException(422, {"message": "edited_payload is only for edit decisions", "codes": ["ML104"]})
    now = utcnow()
    moved = session.execute(
        update(Result)
        .where(Result.id == result.id, Result.status == "needs_review")
        .values(status=_STATUS[decision], decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        session.rollback()
        raise HTTPException(409, "this result was already decided")
    row = ReviewDecision(
        result_id=result.id,
        reviewer_id=principal.user_id,
        decided_at=now,
        decision=decision,
        reason_code=reason_code,
        edited_payload=edited,
    )
    session.add(row)
    session.flush()
    output_hash = sha256_hex(canonical_json(edited)) if edited is not None else result.output_sha256
    audit(
        session,
        event(
            principal.actor,
            f"review.{decision}",
            {"result": result.id, "record": result.record_id, "decision": row.id, "reason": reason_code},
            input_hash=result.output_sha256,
            output_hash=output_hash,
            model=f"{result.task_name}:{result.backend}",
        ),
    )
    session.commit()
    return row


@router.post("/review/items/{result_id}/decision", response_model=DecisionOut)
def decide(result_id: str, body: DecisionIn, principal: Reviewer, session: DbSession) -> ReviewDecision:
    """Accept, reject or edit a result waiting for review (reviewer or admin).

    Raises:
        HTTPException: 422 wrong reason code or invalid/ungrounded edit; 409 when already decided.
    """
    result = visible(session, principal, Result, result_id)
    return apply_decision(session, principal, result, body.decision, body.reason_code, body.edited_payload)
