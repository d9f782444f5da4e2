"""Routes: web login/logout, who am I, API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from sqlalchemy import select

from medlens.safety.audit import event
from medlens.server.deps import (
    SESSION_COOKIE,
    CurrentUser,
    DbSession,
    ServerContext,
    audit,
    get_ctx,
    set_session_cookie,
)
from medlens.server.schemas import LoginIn, LoginOut, TokenIn, TokenOut, UserOut
from medlens.store.credentials import hash_password, hash_token, new_token, token_prefix, verify_password
from medlens.store.models import ApiToken, User, utcnow

__all__ = ["authenticate", "router"]

router = APIRouter(prefix="/auth", tags=["auth"])
# Checked when the user does not exist, so a wrong name and a wrong password take the same time.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def authenticate(session: DbSession, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (same work whether or not the name exists)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok or not user.is_active:
        return None
    return user


@router.post("/login", response_model=LoginOut)
def login(
    body: LoginIn, response: Response, session: DbSession, ctx: Annotated[ServerContext, Depends(get_ctx)]
) -> LoginOut:
    """Open a web session (sets an HttpOnly cookie that expires after the idle time)."""
    user = authenticate(session, body.username, body.password)
    if user is None:
        raise HTTPException(401, "wrong user name or password")
    sid = secrets.token_urlsafe(16)
    set_session_cookie(response, ctx, user.id, sid)
    audit(session, event(f"user:{user.id}", "auth.login", {"user": user.id}))
    session.commit()
    return LoginOut(username=user.username, role=user.role, csrf_token=ctx.csrf_token(sid))


@router.post("/logout", status_code=204)
def logout(principal: CurrentUser, response: Response) -> Response:
    """End the web session (clears the cookie)."""
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserOut)
def me(principal: CurrentUser, session: DbSession) -> User:
    """The caller."""
    return session.get_one(User, principal.user_id)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, principal: CurrentUser, session: DbSession) -> TokenOut:
    """Create an API token; the response is the only time the token is shown."""
    owner_id = body.user_id or principal.user_id
    if owner_id != principal.user_id and principal.role != "admin":
        raise HTTPException(403, "only admins create tokens for other users")
    if session.get(User, owner_id) is None:
        raise HTTPException(404, "user not found")
    raw = new_token()
    expires = utcnow() + dt.timedelta(days=body.expires_days) if body.expires_days else None
    token = ApiToken(user_id=owner_id, name=body.name, prefix=token_prefix(raw), token_hash=hash_token(raw))
    token.expires_at = expires
    session.add(token)
    session.flush()
    audit(session, event(principal.actor, "auth.token.create", {"token": token.id, "user": owner_id}))
    session.commit()
    return TokenOut(id=token.id, name=token.name, prefix=token.prefix, token=raw, expires_at=expires)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(principal: CurrentUser, session: DbSession) -> list[ApiToken]:
    """Your tokens that are not revoked (prefixes only)."""
    stmt = select(ApiToken).where(ApiToken.user_id == principal.user_id, ApiToken.revoked.is_(False))
    return list(session.scalars(stmt.order_by(ApiToken.created_at)))


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, principal: CurrentUser, session: DbSession) -> Response:
    """Revoke a token (yours, or anyone's as admin)."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != principal.user_id and principal.role != "admin"):
        raise HTTPException(404, "token not found")
    token.revoked = True
    audit(session, event(principal.actor, "auth.token.revoke", {"token": token.id}))
    session.commit()
    return Response(status_code=204)
