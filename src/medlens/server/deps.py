"""Dependencies: the server context, database sessions, who is calling (token or session cookie), roles, projects.

Authentication: ``Authorization: Bearer <token>`` (API tokens, stored as SHA-256) or the session cookie set by
``POST /auth/login`` (signed, sliding idle expiry; unsafe methods also need the ``X-CSRF-Token`` header). Every
authenticated request counts against a per-token (or per-user) rate limit. Objects in a project the caller is not
a member of answer 404, as if they did not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from medlens.safety.audit import AuditEvent, append_event
from medlens.server.settings import ServerSettings
from medlens.server.worker import JobWorker
from medlens.store.audit_store import DbAuditLog
from medlens.store.credentials import hash_token
from medlens.store.models import ApiToken, Job, Membership, Project, Record, Result, User, utcnow

__all__ = [
    "SESSION_COOKIE",
    "CurrentUser",
    "DbSession",
    "Principal",
    "RateLimiter",
    "ServerContext",
    "audit",
    "get_ctx",
    "get_session",
    "patient_key",
    "project_for",
    "require_role",
    "set_session_cookie",
    "visible",
]

SESSION_COOKIE = "medlens_session"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RANK = {"reader": 0, "reviewer": 1, "admin": 2}


class RateLimiter:
    """Token buckets per key: ``burst`` requests at once, refilled at ``per_minute`` a minute."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Take one request; return 0 when allowed, else seconds until one is."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


@dataclass
class ServerContext:
    """What the routes share; built by ``create_app`` and kept on ``app.state.ctx``."""

    settings: ServerSettings
    engine: Engine
    sessions: sessionmaker[Session]
    worker: JobWorker
    limiter: RateLimiter
    secret: bytes
    serializer: URLSafeTimedSerializer = field(init=False)

    def __post_init__(self) -> None:
        self.serializer = URLSafeTimedSerializer(self.secret, salt="medlens.session")

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token bound to a web session."""
        return hmac.new(self.secret, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def get_ctx(request: Request) -> ServerContext:
    """The server context."""
    ctx: ServerContext = request.app.state.ctx
    return ctx


def get_session(ctx: Annotated[ServerContext, Depends(get_ctx)]) -> Iterator[Session]:
    """A database session per request (routes commit what they change)."""
    with ctx.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    username: str
    role: str
    via: str
    token_id: str | None = None
    session_id: str | None = None

    @property
    def actor(self) -> str:
        """The audit actor id."""
        return f"user:{self.user_id}"

    def at_least(self, role: str) -> bool:
        """True when this caller's role is ``role`` or higher (reader < reviewer < admin)."""
        return _RANK[self.role] >= _RANK[role]


def _unauthorized() -> HTTPException:
    return HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})


def _from_token(session: Session, raw: str) -> Principal | None:
    row = session.execute(
        select(ApiToken, User).join(User, ApiToken.user_id == User.id).where(ApiToken.token_hash == hash_token(raw))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked or not user.is_active or (token.expires_at is not None and token.expires_at <= utcnow()):
        return None
    return Principal(user.id, user.username, user.role, "token", token.id)


def _from_cookie(
    request: Request, response: Response, ctx: ServerContext, session: Session, cookie: str
) -> Principal | None:
    try:
        data: dict[str, Any] = ctx.serializer.loads(cookie, max_age=ctx.settings.session_idle_minutes * 60)
    except BadSignature:
        return None
    user = session.get(User, str(data.get("uid", "")))
    if user is None or not user.is_active:
        return None
    sid = str(data.get("sid", ""))
    if request.method in _UNSAFE and not hmac.compare_digest(
        request.headers.get("x-csrf-token", ""), ctx.csrf_token(sid)
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token for a cookie session")
    set_session_cookie(response, ctx, user.id, sid)  # sliding idle expiry
    return Principal(user.id, user.username, user.role, "session", session_id=sid)


def set_session_cookie(response: Response, ctx: ServerContext, user_id: str, session_id: str) -> None:
    """Set (or renew) the signed session cookie."""
    response.set_cookie(
        SESSION_COOKIE,
        ctx.serializer.dumps({"uid": user_id, "sid": session_id}),
        max_age=ctx.settings.session_idle_minutes * 60,
        httponly=True,
        secure=ctx.settings.cookie_secure,
        samesite="strict",
    )


def current_user(
    request: Request,
    response: Response,
    ctx: Annotated[ServerContext, Depends(get_ctx)],
    session: DbSession,
) -> Principal:
    """Authenticate the request and apply the rate limit.

    Raises:
        HTTPException: 401 without valid credentials, 403 on a missing CSRF token, 429 over the rate limit.
    """
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _unauthorized()
        principal = _from_token(session, raw.strip())
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = _from_cookie(request, response, ctx, session, cookie)
    if principal is None:
        raise _unauthorized()
    wait = ctx.limiter.hit(principal.token_id or principal.user_id)
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(retry)})
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_role(role: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers with ``role`` or higher (403 otherwise)."""

    def check(principal: CurrentUser) -> Principal:
        if not principal.at_least(role):
            raise HTTPException(403, f"needs role {role} or higher")
        return principal

    return check


def project_for(session: Session, principal: Principal, project_id: str) -> Project:
    """The project, if the caller may see it (admins see all; others, their memberships). 404 otherwise."""
    project = session.get(Project, project_id)
    if project is None:
        raise HTTPException(404, "project not found")
    if principal.role != "admin":
        member = session.get(Membership, (project_id, principal.user_id))
        if member is None:
            raise HTTPException(404, "project not found")
    return project


InProject = TypeVar("InProject", Job, Record, Result)


def visible(session: Session, principal: Principal, model: type[InProject], object_id: str) -> InProject:
    """A job, record or result by id, if the caller may see its project. 404 otherwise ("<kind> not found")."""
    obj = session.get(model, object_id)
    if obj is None:
        raise HTTPException(404, f"{model.__name__.lower()} not found")
    project_for(session, principal, obj.project_id)
    return obj


def patient_key(ctx: ServerContext, project_id: str, patient_id: str) -> str:
    """Keyed hash (HMAC-SHA-256, 32 hex digits) of a patient id within a project: patient URLs carry no MRN."""
    return hmac.new(ctx.secret, f"patient:{project_id}\x1f{patient_id}".encode(), hashlib.sha256).hexdigest()[:32]


def audit(session: Session, item: AuditEvent) -> None:
    """Append an audit entry in the session's transaction."""
    append_event(DbAuditLog(session), item)
