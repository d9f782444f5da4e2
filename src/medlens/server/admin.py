"""Routes: users, projects and memberships."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medlens.safety.audit import event
from medlens.server.deps import CurrentUser, DbSession, Principal, audit, project_for, require_role
from medlens.server.schemas import MemberIn, ProjectIn, ProjectOut, UserIn, UserOut
from medlens.store.credentials import hash_password
from medlens.store.models import Membership, Project, User

__all__ = ["router"]

router = APIRouter(tags=["admin"])
Admin = Annotated[Principal, Depends(require_role("admin"))]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, principal: Admin, session: DbSession) -> User:
    """Create a user (admin)."""
    user = User(username=body.username, role=body.role, is_active=True)
    user.password_hash = hash_password(body.password) if body.password else None
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, "user name taken") from None
    audit(session, event(principal.actor, "user.create", {"user": user.id}))
    session.commit()
    return user


@router.get("/users", response_model=list[UserOut])
def list_users(principal: Admin, session: DbSession) -> list[User]:
    """Every user (admin)."""
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("/projects", response_model=ProjectOut, status_code=201)
def create_project(body: ProjectIn, principal: Admin, session: DbSession) -> Project:
    """Create a project (admin)."""
    project = Project(name=body.name)
    session.add(project)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, "project name taken") from None
    audit(session, event(principal.actor, "project.create", {"project": project.id}))
    session.commit()
    return project


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(principal: CurrentUser, session: DbSession) -> list[Project]:
    """Projects you may see (all, for admins)."""
    stmt = select(Project).order_by(Project.name)
    if principal.role != "admin":
        stmt = stmt.join(Membership, Membership.project_id == Project.id).where(Membership.user_id == principal.user_id)
    return list(session.scalars(stmt))


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, principal: CurrentUser, session: DbSession) -> Project:
    """One project."""
    return project_for(session, principal, project_id)


@router.put("/projects/{project_id}/members", status_code=204)
def add_member(project_id: str, body: MemberIn, principal: Admin, session: DbSession) -> Response:
    """Add a user to a project (admin; idempotent)."""
    project_for(session, principal, project_id)
    if session.get(User, body.user_id) is None:
        raise HTTPException(404, "user not found")
    if session.get(Membership, (project_id, body.user_id)) is None:
        session.add(Membership(project_id=project_id, user_id=body.user_id))
        audit(session, event(principal.actor, "project.member.add", {"project": project_id, "user": body.user_id}))
        session.commit()
    return Response(status_code=204)


@router.delete("/projects/{project_id}/members/{user_id}", status_code=204)
def remove_member(project_id: str, user_id: str, principal: Admin, session: DbSession) -> Response:
    """Remove a user from a project (admin)."""
    member = session.get(Membership, (project_id, user_id))
    if member is None:
        raise HTTPException(404, "membership not found")
    session.delete(member)
    audit(session, event(principal.actor, "project.member.remove", {"project": project_id, "user": user_id}))
    session.commit()
    return Response(status_code=204)
