"""The review UI, part 1: page rendering, web login, projects, the review queue and the patient timeline.

Server-rendered Jinja2 pages with htmx (vendored in ``static/``; no front-end build step). Every page needs a web
session (the cookie set at ``/ui/login``); a request without one is sent to the login page. Unsafe requests carry
the session's CSRF token, which the pages put in a ``<meta name="csrf-token">`` tag and ``static/ui.js`` sends as
``X-CSRF-Token`` with every htmx request (checked in :mod:`medlens.server.deps`). The login form itself is
protected by a double-submit token (cookie + hidden field). Project membership is checked exactly as in the API
(404 for a project the user is not in). Document text is rendered, escaped by Jinja2's autoescaping or
``html.escape``, and never logged. Pages are served with a strict Content-Security-Policy (scripts from this origin
only), so even a failure of escaping could not run injected script.

The document view and decisions are in :mod:`medlens.server.ui_review`, blinded double review and Cohen's kappa in
:mod:`medlens.server.agreement`; keyboard shortcuts are documented in ``docs/review-ui.md``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections import Counter
from importlib.resources import files
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from medlens.safety.audit import event
from medlens.server.auth import authenticate
from medlens.server.claims import Claim, iter_claims
from medlens.server.deps import (
    SESSION_COOKIE,
    DbSession,
    Principal,
    ServerContext,
    audit,
    current_user,
    get_ctx,
    project_for,
    set_session_cookie,
)
from medlens.store.models import Membership, Project, Record, Result

__all__ = [
    "LOGIN_CSRF_COOKIE",
    "UI_HEADERS",
    "LoginRequired",
    "UiUser",
    "html_exception_handler",
    "login_required_handler",
    "progress",
    "redirect",
    "render",
    "router",
    "static_dir",
    "ui_user",
]

router = APIRouter(prefix="/ui", include_in_schema=False)
Ctx = Annotated[ServerContext, Depends(get_ctx)]
LOGIN_CSRF_COOKIE = "medlens_login_csrf"
# Pages hold record text: no caching, no referrer, no framing, scripts and styles from this origin only.
UI_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("medlens.server", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def static_dir() -> str:
    """The folder of the UI's static files (htmx, ui.js, ui.css)."""
    return str(files("medlens.server") / "static")


class LoginRequired(Exception):
    """Raised by :func:`ui_user` when the request has no valid web session."""


def ui_user(request: Request, response: Response, ctx: Ctx, session: DbSession) -> Principal:
    """The user of a web session (rate limit and CSRF checks as in the API).

    Raises:
        LoginRequired: no valid session cookie (answered with a redirect to the login page).
        HTTPException: 403 on a missing CSRF token, 429 over the rate limit.
    """
    if not request.cookies.get(SESSION_COOKIE):
        raise LoginRequired
    try:
        principal = current_user(request, response, ctx, session)
    except HTTPException as exc:
        if exc.status_code == 401:
            raise LoginRequired from None
        raise
    if principal.via != "session" or principal.session_id is None:
        raise LoginRequired
    return principal


UiUser = Annotated[Principal, Depends(ui_user)]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def login_required_handler(request: Request, exc: Exception) -> Response:
    """Send the browser to the login page (htmx requests get ``HX-Redirect``)."""
    return redirect(request, "/ui/login")


async def html_exception_handler(request: Request, exc: Exception) -> Response:
    """HTTP errors of UI routes as a small HTML page (or fragment for htmx); the API keeps its JSON errors."""
    assert isinstance(exc, StarletteHTTPException)
    if not request.url.path.startswith("/ui/"):
        return await http_exception_handler(request, exc)
    detail: Any = exc.detail
    codes: list[str] = []
    if isinstance(detail, dict):
        message = str(detail.get("message", "request failed"))
        codes = [str(c) for c in detail.get("codes", [])]
    else:
        message = str(detail)
    name = "_error.html" if _is_htmx(request) else "error.html"
    html = _ENV.get_template(name).render(status=exc.status_code, message=message, codes=codes, user=None, csrf="")
    headers = {**UI_HEADERS, **(exc.headers or {})}
    return HTMLResponse(html, status_code=exc.status_code, headers=headers)


def render(
    name: str,
    context: dict[str, Any],
    *,
    ctx: ServerContext | None = None,
    principal: Principal | None = None,
    sub: Response | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a template into a response with the UI's security headers.

    Args:
        name: Template file in ``templates/``.
        context: Template variables.
        ctx: Server context (for the CSRF token of the page).
        principal: The signed-in user (header and CSRF meta tag).
        sub: The response the auth dependency set the renewed session cookie on; its cookies are carried over
            (FastAPI drops them when a route returns its own response).
        status_code: HTTP status.
        headers: Extra headers.
    """
    csrf = ""
    if ctx is not None and principal is not None and principal.session_id is not None:
        csrf = ctx.csrf_token(principal.session_id)
    html = _ENV.get_template(name).render(user=principal, csrf=csrf, **context)
    response = HTMLResponse(html, status_code=status_code, headers={**UI_HEADERS, **(headers or {})})
    if sub is not None:
        for key, value in sub.headers.raw:
            if key.lower() == b"set-cookie":
                response.headers.append("set-cookie", value.decode("latin-1"))
    return response


def redirect(request: Request, url: str, sub: Response | None = None) -> Response:
    """Send the browser on to ``url`` (``HX-Redirect`` for htmx, 303 otherwise), keeping a renewed session cookie."""
    response: Response
    if _is_htmx(request):
        response = Response(status_code=200, headers={**UI_HEADERS, "HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303, headers=UI_HEADERS)
    if sub is not None:
        for key, value in sub.headers.raw:
            if key.lower() == b"set-cookie":
                response.headers.append("set-cookie", value.decode("latin-1"))
    return response


def progress(session: DbSession, project_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Project id -> (decided results, all results)."""
    out = {pid: (0, 0) for pid in project_ids}
    if not project_ids:
        return out
    stmt = (
        select(Result.project_id, Result.status, func.count())
        .where(Result.project_id.in_(project_ids))
        .group_by(Result.project_id, Result.status)
    )
    for pid, status, n in session.execute(stmt):
        done, total = out[pid]
        out[pid] = (done + (n if status != "needs_review" else 0), total + n)
    return out


# --- login ----------------------------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    """The login form (with a double-submit CSRF token)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render("login.html", {"login_csrf": token, "error": None})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict")
    return response


@router.post("/login")
async def login_submit(request: Request, session: DbSession, ctx: Ctx) -> Response:
    """Check the form's credentials, open a web session and go to the projects page."""
    form = await request.form()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = str(form.get("login_csrf", ""))
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise HTTPException(403, "the login form expired; reload the page")
    user = authenticate(session, str(form.get("username", ""))[:64], str(form.get("password", ""))[:1024])
    if user is None:
        return render("login.html", {"login_csrf": cookie, "error": "Wrong user name or password."}, status_code=401)
    sid = secrets.token_urlsafe(16)
    response = RedirectResponse("/ui/", status_code=303, headers=UI_HEADERS)
    set_session_cookie(response, ctx, user.id, sid)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    audit(session, event(f"user:{user.id}", "auth.login", {"user": user.id}))
    session.commit()
    return response


@router.post("/logout")
def logout(request: Request, principal: UiUser) -> Response:
    """End the web session."""
    response = redirect(request, "/ui/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- projects and queue ---------------------------------------------------------------------------------------------


def _visible_projects(session: DbSession, principal: Principal) -> list[Project]:
    stmt = select(Project).order_by(Project.name)
    if principal.role != "admin":
        stmt = stmt.join(Membership, Membership.project_id == Project.id).where(Membership.user_id == principal.user_id)
    return list(session.scalars(stmt))


@router.get("/")
def home(principal: UiUser, session: DbSession, ctx: Ctx, response: Response) -> HTMLResponse:
    """Projects the user may see, with review progress."""
    projects = _visible_projects(session, principal)
    counts = progress(session, [p.id for p in projects])
    rows = [{"project": p, "done": counts[p.id][0], "total": counts[p.id][1]} for p in projects]
    return render("home.html", {"rows": rows, "title": "Projects"}, ctx=ctx, principal=principal, sub=response)


@router.get("/projects/{project_id}/queue")
def queue_page(
    project_id: str,
    principal: UiUser,
    session: DbSession,
    ctx: Ctx,
    response: Response,
    flagged_only: Annotated[bool, Query()] = False,
    task: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Results waiting for review, most urgent first, and the project's progress."""
    project = project_for(session, principal, project_id)
    where = [Result.project_id == project_id, Result.status == "needs_review"]
    if flagged_only:
        where.append(Result.priority < 9)
    if task:
        where.append(Result.task == task)
    total = session.scalar(select(func.count()).select_from(Result).where(*where)) or 0
    stmt = (
        select(Result, Record)
        .join(Record, Record.id == Result.record_id)
        .where(*where)
        .order_by(Result.priority, Result.created_at, Result.id)
        .limit(100)
        .offset(offset)
    )
    items = [
        {
            "result": result,
            "record": record,
            "date": record.document.get("date"),
        }
        for result, record in session.execute(stmt)
    ]
    tasks = sorted(set(session.scalars(select(Result.task).where(Result.project_id == project_id).distinct())))
    done, all_results = progress(session, [project_id])[project_id]
    context = {
        "title": f"Queue · {project.name}",
        "project": project,
        "items": items,
        "total": total,
        "offset": offset,
        "flagged_only": flagged_only,
        "task": task or "",
        "tasks": tasks,
        "done": done,
        "all_results": all_results,
    }
    return render("queue.html", context, ctx=ctx, principal=principal, sub=response)


# --- patients -------------------------------------------------------------------------------------------------------


def _sort_date(document: dict[str, Any], created: dt.datetime) -> str:
    value = document.get("date")
    return str(value) if value else created.date().isoformat()


@router.get("/projects/{project_id}/patients")
def patients_page(project_id: str, principal: UiUser, session: DbSession, ctx: Ctx, response: Response) -> HTMLResponse:
    """Patients of a project (by key; ids never appear in URLs) with their number of records."""
    project = project_for(session, principal, project_id)
    stmt = (
        select(Record.patient_key, func.count(), func.min(Record.created_at))
        .where(Record.project_id == project_id, Record.patient_key.is_not(None))
        .group_by(Record.patient_key)
        .order_by(func.min(Record.created_at))
    )
    rows = [{"key": key, "n": n} for key, n, _first in session.execute(stmt)]
    context = {"title": f"Patients · {project.name}", "project": project, "rows": rows}
    return render("patients.html", context, ctx=ctx, principal=principal, sub=response)


@router.get("/projects/{project_id}/patients/{patient_key}")
def patient_page(
    project_id: str, patient_key: str, principal: UiUser, session: DbSession, ctx: Ctx, response: Response
) -> HTMLResponse:
    """One patient's timeline: records by date, each with its results and their claims."""
    project = project_for(session, principal, project_id)
    records = list(
        session.scalars(select(Record).where(Record.project_id == project_id, Record.patient_key == patient_key))
    )
    if not records:
        raise HTTPException(404, "patient not found")
    results: dict[str, list[Result]] = {}
    stmt = select(Result).where(Result.record_id.in_([r.id for r in records])).order_by(Result.created_at, Result.id)
    for result in session.scalars(stmt):
        results.setdefault(result.record_id, []).append(result)
    timeline = []
    for record in sorted(records, key=lambda r: (_sort_date(r.document, r.created_at), r.created_at, r.id)):
        entries = []
        for result in results.get(record.id, []):
            claims = _claim_summaries(result.payload)
            entries.append({"result": result, "claims": claims[:30], "more": max(0, len(claims) - 30)})
        timeline.append(
            {
                "record": record,
                "date": _sort_date(record.document, record.created_at),
                "dated": bool(record.document.get("date")),
                "results": entries,
            }
        )
    statuses = Counter(r.status for found in results.values() for r in found)
    context = {
        "title": "Patient timeline",
        "project": project,
        "patient_key": patient_key,
        "timeline": timeline,
        "statuses": dict(statuses),
    }
    return render("patient.html", context, ctx=ctx, principal=principal, sub=response)


def _claim_summaries(payload: dict[str, Any]) -> list[Claim]:
    """The claims of a result payload (for the timeline)."""
    return list(iter_claims(payload))
