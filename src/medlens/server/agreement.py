"""Blinded double review of a sample of results, and Cohen's kappa per task (the agreement page).

The sample is the results flagged ``sampled`` by the job worker (a fixed share of results, chosen from the result
id, see ``review_sample_rate``). Each reviewer gives an independent vote (accept / reject / edit, with a reason
code) on a blinded page that shows the record and the result but neither the review status, nor earlier
decisions, nor anyone else's vote; votes never change a result's status. For each task, the items with votes from
two reviewers (the first two, by time) give Cohen's kappa over the three categories. Agreement figures are shown to
admins and to reviewers who have voted on every sampled item, so they cannot steer anyone's remaining votes.

Cohen, J. (1960). A coefficient of agreement for nominal scales. Educ. Psychol. Meas. 20(1):37-46:
kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e the agreement expected by chance from
each rater's marginal proportions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medlens.safety.audit import event
from medlens.server.claims import highlighted_text, iter_claims
from medlens.server.deps import DbSession, Principal, ServerContext, audit, get_ctx, project_for
from medlens.server.schemas import REASON_CODES
from medlens.server.ui import UiUser, redirect, render
from medlens.store.models import AgreementVote, Record, Result

__all__ = ["TaskAgreement", "cohen_kappa", "router", "task_agreement"]

router = APIRouter(prefix="/ui", include_in_schema=False)
Ctx = Annotated[ServerContext, Depends(get_ctx)]
CATEGORIES = ("accept", "reject", "edit")


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters over nominal categories.

    Args:
        pairs: (rater A's category, rater B's category) per item.

    Returns:
        kappa in [-1, 1]; None with no items, or when chance agreement is 1 (both raters used one and the same
        category throughout, so kappa is undefined).

    Examples:
        >>> round(cohen_kappa([("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15), 4)
        0.4
    """
    items = list(pairs)
    n = len(items)
    if n == 0:
        return None
    observed = sum(a == b for a, b in items) / n
    first = Counter(a for a, _ in items)
    second = Counter(b for _, b in items)
    expected = sum(first[c] * second[c] for c in first.keys() | second.keys()) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True, slots=True)
class TaskAgreement:
    """Agreement of the double review for one task."""

    task: str
    sampled: int
    paired: int
    observed: float | None
    kappa: float | None


def task_agreement(votes: Sequence[AgreementVote], sampled: Counter[str]) -> list[TaskAgreement]:
    """Kappa per task from the votes: each result's first two votes by different reviewers (by time)."""
    by_result: dict[str, list[AgreementVote]] = {}
    for vote in sorted(votes, key=lambda v: (v.decided_at, v.id)):
        by_result.setdefault(vote.result_id, []).append(vote)
    pairs: dict[str, list[tuple[str, str]]] = {}
    for item in by_result.values():
        if len(item) >= 2:
            pairs.setdefault(item[0].task, []).append((item[0].decision, item[1].decision))
    out = []
    for task in sorted(sampled.keys() | pairs.keys()):
        these = pairs.get(task, [])
        observed = sum(a == b for a, b in these) / len(these) if these else None
        out.append(TaskAgreement(task, sampled[task], len(these), observed, cohen_kappa(these)))
    return out


def _sample(session: DbSession, project_id: str) -> list[Result]:
    stmt = select(Result).where(Result.project_id == project_id).order_by(Result.created_at, Result.id)
    return [r for r in session.scalars(stmt) if "sampled" in (r.flags or [])]


@router.get("/projects/{project_id}/agreement")
def agreement_page(
    project_id: str, principal: UiUser, session: DbSession, ctx: Ctx, response: Response
) -> HTMLResponse:
    """The sampled items (your votes only) and, once you have voted on all, kappa per task."""
    project = project_for(session, principal, project_id)
    sample = _sample(session, project_id)
    votes = list(session.scalars(select(AgreementVote).where(AgreementVote.project_id == project_id)))
    mine = {v.result_id for v in votes if v.reviewer_id == principal.user_id}
    pending = [r for r in sample if r.id not in mine]
    show_stats = principal.role == "admin" or (bool(sample) and not pending)
    stats = task_agreement(votes, Counter(r.task for r in sample)) if show_stats else []
    context = {
        "title": f"Agreement · {project.name}",
        "project": project,
        "sample": sample,
        "mine": mine,
        "pending": len(pending),
        "show_stats": show_stats,
        "stats": stats,
    }
    return render("agreement.html", context, ctx=ctx, principal=principal, sub=response)


def _sampled_result(session: DbSession, principal: Principal, result_id: str) -> tuple[Result, Record]:
    result = session.get(Result, result_id)
    if result is None or "sampled" not in (result.flags or []):
        raise HTTPException(404, "result not in the agreement sample")
    project_for(session, principal, result.project_id)
    return result, session.get_one(Record, result.record_id)


@router.get("/agreement/{result_id}")
def blind_page(result_id: str, principal: UiUser, session: DbSession, ctx: Ctx, response: Response) -> HTMLResponse:
    """A sampled result, blinded: no status, no decisions, no other votes."""
    result, record = _sampled_result(session, principal, result_id)
    project = project_for(session, principal, result.project_id)
    claims = list(iter_claims(result.payload))
    voted = session.scalars(
        select(AgreementVote).where(
            AgreementVote.result_id == result.id, AgreementVote.reviewer_id == principal.user_id
        )
    ).first()
    sample_ids = [r.id for r in _sample(session, result.project_id)]
    where = sample_ids.index(result.id)
    context = {
        "title": f"Double review · {result.task}",
        "project": project,
        "result": result,
        "record": record,
        "document": record.document,
        "text_html": highlighted_text(str(record.document.get("text", "")), claims),
        "claims": claims,
        "decisions": [],
        "draft": {},
        "draft_saved": None,
        "reason_codes": REASON_CODES,
        "previous": sample_ids[where - 1] if where > 0 else None,
        "next": sample_ids[where + 1] if where + 1 < len(sample_ids) else None,
        "can_decide": principal.at_least("reviewer") and voted is None,
        "my_vote": voted,
        "blind": True,
    }
    return render("review.html", context, ctx=ctx, principal=principal, sub=response)


@router.post("/agreement/{result_id}/vote")
async def vote(result_id: str, request: Request, principal: UiUser, session: DbSession, response: Response) -> Response:
    """Store your blinded vote on a sampled result (once), then go to the next sampled item you have not voted on.

    Raises:
        HTTPException: 403 below reviewer; 404 not sampled or not visible; 409 already voted; 422 bad reason code.
    """
    if not principal.at_least("reviewer"):
        raise HTTPException(403, "needs role reviewer or higher")
    result, _record = _sampled_result(session, principal, result_id)
    form = await request.form()
    decision, reason = str(form.get("decision", "")), str(form.get("reason_code", ""))
    if decision not in CATEGORIES or reason not in REASON_CODES[decision]:
        raise HTTPException(422, {"message": "unknown decision or reason code", "codes": ["ML104"]})
    row = AgreementVote(
        project_id=result.project_id,
        result_id=result.id,
        reviewer_id=principal.user_id,
        task=result.task,
        decision=decision,
        reason_code=reason,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, "you already voted on this item") from None
    audit(
        session,
        event(
            principal.actor,
            "review.agreement.vote",
            {"result": result.id, "vote": row.id, "reason": reason},
            input_hash=result.output_sha256,
        ),
    )
    session.commit()
    voted = set(
        session.scalars(
            select(AgreementVote.result_id).where(
                AgreementVote.project_id == result.project_id, AgreementVote.reviewer_id == principal.user_id
            )
        )
    )
    following = next((r.id for r in _sample(session, result.project_id) if r.id not in voted), None)
    url = f"/ui/agreement/{following}" if following else f"/ui/projects/{result.project_id}/agreement"
    return redirect(request, url, response)
