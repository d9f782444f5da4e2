"""Account set-up outside the API, for the command line (``medlens users add`` / ``medlens tokens add``).

The first admin cannot be created through the API (every route but health needs an account), so these functions
write to the database directly, migrating it first.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from medlens.core.errors import ConfigError
from medlens.safety.audit import append_event, event
from medlens.store.audit_store import DbAuditLog
from medlens.store.credentials import hash_password, hash_token, new_token, token_prefix
from medlens.store.database import make_engine, migrate
from medlens.store.models import ROLES, ApiToken, Membership, Project, User

__all__ = ["add_member", "add_project", "add_token", "add_user"]


def add_user(db_url: str, username: str, role: str, password: str | None = None) -> str:
    """Create a user and return its id.

    Raises:
        ConfigError: ML201 for an unknown role or a user name already taken.
    """
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; available: {', '.join(ROLES)}", code="ML201")
    engine = make_engine(db_url)
    migrate(engine)
    try:
        with Session(engine) as session:
            if session.scalars(select(User).where(User.username == username)).first() is not None:
                raise ConfigError(f"user name {username!r} is taken", code="ML201")
            user = User(username=username, role=role, is_active=True)
            user.password_hash = hash_password(password) if password else None
            session.add(user)
            session.flush()
            append_event(DbAuditLog(session), event("system", "user.create", {"user": user.id}))
            session.commit()
            return user.id
    finally:
        engine.dispose()


def add_token(db_url: str, username: str, name: str = "cli") -> str:
    """Create an API token for ``username`` and return it (shown once; only its hash is stored).

    Raises:
        ConfigError: ML201 when the user does not exist.
    """
    engine = make_engine(db_url)
    migrate(engine)
    try:
        with Session(engine) as session:
            user = session.scalars(select(User).where(User.username == username)).first()
            if user is None:
                raise ConfigError(f"no user {username!r}", code="ML201")
            raw = new_token()
            token = ApiToken(user_id=user.id, name=name, prefix=token_prefix(raw), token_hash=hash_token(raw))
            session.add(token)
            session.flush()
            append_event(
                DbAuditLog(session), event("system", "auth.token.create", {"token": token.id, "user": user.id})
            )
            session.commit()
            return raw
    finally:
        engine.dispose()


def add_project(db_url: str, name: str) -> str:
    """Create a project and return its id."""
    engine = make_engine(db_url)
    migrate(engine)
    try:
        with Session(engine) as session:
            project = Project(name=name)
            session.add(project)
            session.flush()
            append_event(DbAuditLog(session), event("system", "project.create", {"project": project.id}))
            session.commit()
            return project.id
    finally:
        engine.dispose()


def add_member(db_url: str, project_id: str, username: str) -> None:
    """Make ``username`` a member of a project (idempotent).

    Raises:
        ConfigError: ML201 when the user or project does not exist.
    """
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            user = session.scalars(select(User).where(User.username == username)).first()
            if user is None or session.get(Project, project_id) is None:
                raise ConfigError("no such user or project", code="ML201")
            if session.get(Membership, (project_id, user.id)) is None:
                session.add(Membership(project_id=project_id, user_id=user.id))
                append_event(
                    DbAuditLog(session),
                    event("system", "project.member.add", {"project": project_id, "user": user.id}),
                )
                session.commit()
    finally:
        engine.dispose()
