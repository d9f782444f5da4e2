"""Request and response bodies of the API (frozen pydantic models; they make the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import DocumentKind

__all__ = [
    "REASON_CODES",
    "DecisionIn",
    "DecisionOut",
    "DocumentIn",
    "JobIn",
    "JobOut",
    "LoginIn",
    "LoginOut",
    "MemberIn",
    "Page",
    "PatientKeyIn",
    "PatientKeyOut",
    "ProjectIn",
    "ProjectOut",
    "QueueItem",
    "RecordOut",
    "RecordsIn",
    "RecordsOut",
    "ResultOut",
    "ReviewItemOut",
    "TokenIn",
    "TokenOut",
    "UserIn",
    "UserOut",
]

_IN = ConfigDict(frozen=True, extra="forbid")
_OUT = ConfigDict(frozen=True, from_attributes=True)

# Reason codes a reviewer picks (never free text, which could carry PHI into the database and the audit log).
REASON_CODES: dict[str, tuple[str, ...]] = {
    "accept": ("correct", "correct_minor_issue"),
    "reject": (
        "not_in_text",
        "wrong_concept",
        "wrong_assertion",
        "wrong_patient",
        "duplicate",
        "not_clinically_relevant",
        "other",
    ),
    "edit": ("wrong_span", "wrong_value", "wrong_code", "wrong_assertion", "missing_finding", "other"),
}


class LoginIn(BaseModel):
    """Credentials for a web session."""

    model_config = _IN
    username: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=1, max_length=1024, description="Password.")


class LoginOut(BaseModel):
    """A session was opened (cookie set)."""

    model_config = _OUT
    username: str = Field(description="User name.")
    role: str = Field(description="reader, reviewer or admin.")
    csrf_token: str = Field(description="Send as X-CSRF-Token with every unsafe request made with the cookie.")


class UserIn(BaseModel):
    """A new user (admin only)."""

    model_config = _IN
    username: str = Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$", description="User name.")
    role: Literal["reader", "reviewer", "admin"] = Field(description="Role.")
    password: str | None = Field(default=None, min_length=12, max_length=1024, description="Password (web login).")


class UserOut(BaseModel):
    """A user."""

    model_config = _OUT
    id: str = Field(description="Opaque user id.")
    username: str = Field(description="User name.")
    role: str = Field(description="Role.")
    is_active: bool = Field(description="False when disabled.")


class TokenIn(BaseModel):
    """Create an API token (for yourself, or for another user as admin)."""

    model_config = _IN
    name: str = Field(pattern=r"^[A-Za-z0-9._ -]{1,64}$", description="A label for people.")
    user_id: str | None = Field(default=None, description="Owner (admin only); default yourself.")
    expires_days: int | None = Field(default=None, ge=1, le=3650, description="Lifetime in days; default none.")


class TokenOut(BaseModel):
    """A token; ``token`` is shown once, at creation."""

    model_config = _OUT
    id: str = Field(description="Token id.")
    name: str = Field(description="Label.")
    prefix: str = Field(description="First characters of the token.")
    token: str | None = Field(default=None, description="The token itself (only in the creation response).")
    expires_at: dt.datetime | None = Field(default=None, description="When it stops working.")


class ProjectIn(BaseModel):
    """A new project (admin only)."""

    model_config = _IN
    name: str = Field(pattern=r"^[A-Za-z0-9._ -]{1,128}$", description="Project name.")


class ProjectOut(BaseModel):
    """A project."""

    model_config = _OUT
    id: str = Field(description="Opaque project id.")
    name: str = Field(description="Name.")


class MemberIn(BaseModel):
    """Add a user to a project (admin only)."""

    model_config = _IN
    user_id: str = Field(description="User id.")


class DocumentIn(BaseModel):
    """One record to store (the ``Document`` fields)."""

    model_config = _IN
    id: str = Field(min_length=1, max_length=255, description="The record's own id, unique in the project.")
    text: str = Field(description="The text.")
    kind: DocumentKind = Field(default="note", description="What sort of text this is.")
    patient_id: str | None = Field(default=None, max_length=255, description="Patient id (kept, never in URLs).")
    date: dt.date | dt.datetime | None = Field(default=None, description="Date written.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Other fields, passed through.")


class RecordsIn(BaseModel):
    """Documents to store in one project."""

    model_config = _IN
    documents: list[DocumentIn] = Field(min_length=1, description="The documents.")


class RecordOut(BaseModel):
    """A stored record (without its text unless asked for)."""

    model_config = _OUT
    id: str = Field(description="Opaque record id (use in URLs).")
    project_id: str = Field(description="Project.")
    external_id: str = Field(description="The record's own id.")
    kind: str = Field(description="Kind.")
    patient_key: str | None = Field(default=None, description="Keyed hash of the patient id.")
    text_sha256: str = Field(description="SHA-256 of the text.")
    created_at: dt.datetime = Field(description="When stored.")
    document: dict[str, Any] | None = Field(default=None, description="The document, on single-record reads.")


class RecordsOut(BaseModel):
    """Stored records, in submission order."""

    model_config = _OUT
    records: list[RecordOut] = Field(description="The records.")


class PatientKeyIn(BaseModel):
    """A patient id to turn into its key (sent in a body, so it never appears in a URL)."""

    model_config = _IN
    patient_id: str = Field(min_length=1, max_length=255, description="Patient id.")


class PatientKeyOut(BaseModel):
    """The patient key of a project."""

    model_config = _OUT
    patient_key: str = Field(description="Use in /projects/{project_id}/patients/{patient_key}/results.")


class JobIn(BaseModel):
    """Tasks to run over records."""

    model_config = _IN
    tasks: list[str] = Field(min_length=1, max_length=16, description="Task aliases, e.g. 'notes.extract'.")
    record_ids: list[str] = Field(min_length=1, max_length=10_000, description="Opaque record ids.")


class JobOut(BaseModel):
    """A job and its progress."""

    model_config = _OUT
    id: str = Field(description="Job id.")
    project_id: str = Field(description="Project.")
    status: str = Field(description="queued, running, done or failed.")
    tasks: list[str] = Field(description="Tasks.")
    n_records: int = Field(description="Records in the job.")
    n_done: int = Field(description="Records processed without errors.")
    n_failed: int = Field(description="Records with at least one task error.")
    error_code: str | None = Field(default=None, description="Why the job failed.")
    created_at: dt.datetime = Field(description="Submitted.")
    started_at: dt.datetime | None = Field(default=None, description="Started.")
    finished_at: dt.datetime | None = Field(default=None, description="Finished.")


class ResultOut(BaseModel):
    """One task's result for one record."""

    model_config = _OUT
    id: str = Field(description="Result id.")
    record_id: str = Field(description="Record.")
    job_id: str = Field(description="Job.")
    task: str = Field(description="Task alias.")
    task_name: str = Field(description="Full versioned task name.")
    backend: str = Field(description="Backend.")
    status: str = Field(description="needs_review, accepted, rejected or edited.")
    flags: list[str] = Field(description="Why it needs review.")
    confidence: float | None = Field(default=None, description="Lowest evidence score.")
    payload: dict[str, Any] = Field(description="The task result (edited payload once edited).")
    created_at: dt.datetime = Field(description="Produced.")
    decided_at: dt.datetime | None = Field(default=None, description="Reviewed.")


class QueueItem(BaseModel):
    """A result waiting for review."""

    model_config = _OUT
    result_id: str = Field(description="Result id.")
    record_id: str = Field(description="Record id.")
    task: str = Field(description="Task alias.")
    flags: list[str] = Field(description="Why it is here.")
    confidence: float | None = Field(default=None, description="Lowest evidence score.")
    priority: int = Field(description="0 = most urgent.")
    created_at: dt.datetime = Field(description="Produced.")


class Page(BaseModel):
    """A page of queue items."""

    model_config = _OUT
    total: int = Field(description="Items matching, all pages.")
    items: list[QueueItem] = Field(description="This page.")


class DecisionIn(BaseModel):
    """A review decision."""

    model_config = _IN
    decision: Literal["accept", "reject", "edit"] = Field(description="What to do with the result.")
    reason_code: str = Field(pattern=r"^[a-z_]{1,32}$", description="See REASON_CODES for the codes per decision.")
    edited_payload: dict[str, Any] | None = Field(
        default=None, description="The corrected task result (edit only); validated and grounded in the record."
    )


class DecisionOut(BaseModel):
    """A stored decision."""

    model_config = _OUT
    id: str = Field(description="Decision id.")
    result_id: str = Field(description="Result.")
    reviewer_id: str | None = Field(default=None, description="Reviewer.")
    decision: str = Field(description="accept, reject or edit.")
    reason_code: str = Field(description="Reason code.")
    decided_at: dt.datetime = Field(description="When.")


class ReviewItemOut(BaseModel):
    """Everything a reviewer needs for one result."""

    model_config = _OUT
    result: ResultOut = Field(description="The result.")
    record: RecordOut = Field(description="The record, with its document.")
    decisions: list[DecisionOut] = Field(description="Earlier decisions, oldest first.")
    reason_codes: dict[str, list[str]] = Field(description="Valid reason codes per decision.")
