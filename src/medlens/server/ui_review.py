"""The review UI, part 2: the document view of one result, decisions and autosaved edit drafts.

The document view shows the record text with the result's evidence highlighted, assertion badges, the result
panel (claims, codes, evidence offsets) and the decision controls. Decisions post through htmx to
``/ui/review/{result_id}/decision`` and go through the same checks as the API
(:func:`medlens.server.review.apply_decision`: reason codes, validation, grounding, one decision per result, audit).
An edit in progress is autosaved (debounced ``PATCH /ui/review/{result_id}/draft``) as a :class:`ReviewDraft` row
per reviewer, restored when the page is opened again and removed when the edit is saved. Accepted and edited
results are what the FHIR export carries, tagged CLINAST_AIRPT (:mod:`medlens.server.export`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import and_, or_, select

from medlens.server.claims import apply_edit, draft_fields, highlighted_text, iter_claims
from medlens.server.deps import DbSession, Principal, ServerContext, get_ctx, visible
from medlens.server.review import apply_decision
from medlens.server.schemas import REASON_CODES
from medlens.server.ui import UiUser, redirect, render
from medlens.store.models import Project, Record, Result, ReviewDecision, ReviewDraft, User, utcnow

__all__ = ["neighbours", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
Ctx = Annotated[ServerContext, Depends(get_ctx)]


def neighbours(session: DbSession, result: Result) -> tuple[str | None, str | None]:
    """Ids of the previous and next results waiting for review, in queue order, around ``result``."""
    p, c, i = result.priority, result.created_at, result.id
    before = or_(
        Result.priority < p,
        and_(Result.priority == p, Result.created_at < c),
        and_(Result.priority == p, Result.created_at == c, Result.id < i),
    )
    after = or_(
        Result.priority > p,
        and_(Result.priority == p, Result.created_at > c),
        and_(Result.priority == p, Result.created_at == c, Result.id > i),
    )
    base = select(Result.id).where(
        Result.project_id == result.project_id, Result.status == "needs_review", Result.id != i
    )
    previous = session.scalars(
        base.where(before).order_by(Result.priority.desc(), Result.created_at.desc(), Result.id.desc()).limit(1)
    ).first()
    following = session.scalars(
        base.where(after).order_by(Result.priority, Result.created_at, Result.id).limit(1)
    ).first()
    return previous, following


def _visible_result(session: DbSession, principal: Principal, result_id: str) -> tuple[Result, Record, Project]:
    result = visible(session, principal, Result, result_id)
    return result, session.get_one(Record, result.record_id), session.get_one(Project, result.project_id)


def _require_reviewer(principal: Principal) -> None:
    if not principal.at_least("reviewer"):
        raise HTTPException(403, "needs role reviewer or higher")


@router.get("/review/{result_id}")
def review_page(result_id: str, principal: UiUser, session: DbSession, ctx: Ctx, response: Response) -> HTMLResponse:
    """The document view: highlighted evidence, assertion badges, result panel, decision controls."""
    result, record, project = _visible_result(session, principal, result_id)
    text = str(record.document.get("text", ""))
    claims = list(iter_claims(result.payload))
    decisions = list(
        session.execute(
            select(ReviewDecision, User.username)
            .outerjoin(User, User.id == ReviewDecision.reviewer_id)
            .where(ReviewDecision.result_id == result.id)
            .order_by(ReviewDecision.decided_at, ReviewDecision.id)
        )
    )
    draft = session.get(ReviewDraft, (result.id, principal.user_id))
    previous, following = neighbours(session, result)
    context = {
        "title": f"Review · {result.task}",
        "project": project,
        "result": result,
        "record": record,
        "document": record.document,
        "text_html": highlighted_text(text, claims),
        "claims": claims,
        "decisions": decisions,
        "draft": draft.fields if draft is not None else {},
        "draft_saved": draft.updated_at if draft is not None else None,
        "reason_codes": REASON_CODES,
        "previous": previous,
        "next": following,
        "can_decide": principal.at_least("reviewer") and result.status == "needs_review",
        "blind": False,
    }
    return render("review.html", context, ctx=ctx, principal=principal, sub=response)


@router.post("/review/{result_id}/decision")
async def decision(
    result_id: str, request: Request, principal: UiUser, session: DbSession, response: Response
) -> Response:
    """Accept, reject or edit (form fields as in :mod:`medlens.server.claims`), then go to the next item."""
    _require_reviewer(principal)
    result, record, _project = _visible_result(session, principal, result_id)
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    kind = form.get("decision", "")
    if kind not in REASON_CODES:
        raise HTTPException(422, {"message": "decision must be accept, reject or edit", "codes": ["ML104"]})
    edited = apply_edit(result.payload, str(record.document.get("text", "")), form) if kind == "edit" else None
    _, following = neighbours(session, result)
    apply_decision(session, principal, result, kind, form.get("reason_code", ""), edited)
    draft = session.get(ReviewDraft, (result.id, principal.user_id))
    if draft is not None:
        session.delete(draft)
        session.commit()
    url = f"/ui/review/{following}" if following else f"/ui/projects/{result.project_id}/queue"
    return redirect(request, url, response)


@router.patch("/review/{result_id}/draft")
async def save_draft(
    result_id: str, request: Request, principal: UiUser, session: DbSession, ctx: Ctx, response: Response
) -> HTMLResponse:
    """Autosave the edit form of a result waiting for review (one draft per reviewer and result)."""
    _require_reviewer(principal)
    result, _record, _project = _visible_result(session, principal, result_id)
    if result.status != "needs_review":
        raise HTTPException(409, "this result was already decided")
    fields = draft_fields(dict((await request.form()).multi_items()))
    draft = session.get(ReviewDraft, (result.id, principal.user_id))
    now = utcnow()
    if draft is None:
        session.add(ReviewDraft(result_id=result.id, user_id=principal.user_id, fields=fields, updated_at=now))
    else:
        draft.fields = fields
        draft.updated_at = now
    session.commit()
    return render("_draft_status.html", {"saved": now}, ctx=ctx, principal=principal, sub=response)


@router.delete("/review/{result_id}/draft")
def discard_draft(result_id: str, principal: UiUser, session: DbSession, ctx: Ctx, response: Response) -> HTMLResponse:
    """Throw away your draft of this result."""
    result, _record, _project = _visible_result(session, principal, result_id)
    draft = session.get(ReviewDraft, (result.id, principal.user_id))
    if draft is not None:
        session.delete(draft)
        session.commit()
    return render("_draft_status.html", {"saved": None}, ctx=ctx, principal=principal, sub=response)
