"""Records, evidence and results: the vocabulary every family shares (DESIGN.md §1).

Offsets are Python ``str`` indices (Unicode code points) into ``Document.text``; ``end`` is exclusive.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.errors import GroundingError

__all__ = [
    "ASSERTION_STATUSES",
    "Assertion",
    "AssertionStatus",
    "Claim",
    "Code",
    "Cue",
    "Document",
    "DocumentKind",
    "ErrorItem",
    "Evidence",
    "Observation",
    "Patient",
    "PhiType",
    "RecordResult",
    "Span",
    "Study",
    "TaskResult",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# The identifier types of HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)) as medlens names them, shared by the
# de-identifier (medlens.safety.deid) and the synthetic gold corpora (medlens.eval).
PhiType = Literal[
    "NAME",
    "DATE",
    "AGE",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IP",
    "SSN",
    "MRN",
    "ACCOUNT",
    "ACCESSION",
    "HEALTH_PLAN",
    "LICENSE",
    "DEVICE_ID",
    "VEHICLE_ID",
    "BIOMETRIC",
    "ADDRESS",
    "LOCATION",
    "ZIP",
    "FACILITY",
    "ID",
]

DocumentKind = Literal["note", "radiology", "pathology", "dialogue", "abstract", "other"]
AssertionStatus = Literal["negated", "uncertain", "historical", "hypothetical", "family"]
ASSERTION_STATUSES: tuple[AssertionStatus, ...] = ("negated", "uncertain", "historical", "hypothetical", "family")


class Span(BaseModel):
    """A character range ``[start, end)`` in one record's text."""

    model_config = _FROZEN

    record_id: str = Field(description="Id of the record whose text the offsets index.")
    start: int = Field(ge=0, description="First character (inclusive), in code points.")
    end: int = Field(ge=0, description="Last character (exclusive), in code points.")

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} precedes start {self.start}")
        return self

    def check(self, text: str) -> str:
        """Return the text this span covers, raising ``GroundingError`` (ML401) if it lies outside ``text``."""
        if self.end > len(text):
            raise GroundingError(
                f"span [{self.start}, {self.end}) of record {self.record_id!r} ends past its text (length {len(text)})",
                code="ML401",
            )
        return text[self.start : self.end]


class Evidence(Span):
    """A span plus what it quotes and what produced it (Presidio-style explanation)."""

    quote: str = Field(description="Exactly text[start:end] of the record.")
    producer: str = Field(description="Registered, versioned name of the rule, prompt or model that produced it.")
    score: float = Field(default=1.0, ge=0.0, le=1.0, description="Confidence in [0, 1].")
    explanation: str | None = Field(default=None, description="Short reason, e.g. the cue or pattern that fired.")

    @classmethod
    def of(
        cls,
        text: str,
        record_id: str,
        start: int,
        end: int,
        producer: str,
        *,
        score: float = 1.0,
        explanation: str | None = None,
    ) -> Evidence:
        """Build evidence for ``text[start:end]``, checking the span lies inside ``text``."""
        if not 0 <= start <= end <= len(text):
            raise GroundingError(
                f"span [{start}, {end}) of record {record_id!r} lies outside its text (length {len(text)})",
                code="ML401",
            )
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score {score} is outside [0, 1]")
        # Every field is checked above, so skip re-validation: rules build tens of these per note (hot path).
        return cls.model_construct(
            record_id=record_id,
            start=start,
            end=end,
            quote=text[start:end],
            producer=producer,
            score=score,
            explanation=explanation,
        )

    def verify(self, text: str) -> None:
        """Raise ``GroundingError`` (ML401/ML402) unless this evidence quotes ``text`` exactly."""
        if self.check(text) != self.quote:
            raise GroundingError(
                f"evidence [{self.start}, {self.end}) of record {self.record_id!r} does not match its quote",
                code="ML402",
            )


class Cue(BaseModel):
    """The lexical cue that decided one assertion status, so a reviewer can see why."""

    model_config = _FROZEN

    status: AssertionStatus = Field(description="The status this cue sets.")
    start: int = Field(ge=0, description="Cue start offset in the record text.")
    end: int = Field(ge=0, description="Cue end offset (exclusive).")
    text: str = Field(description="The cue as written.")
    rule: str = Field(description="Versioned id of the cue rule, e.g. 'medlens.context.negated.no.v1'.")


class Assertion(BaseModel):
    """ConText-style assertion of a target concept. All false = affirmed, present, current, about the patient."""

    model_config = _FROZEN

    negated: bool = Field(default=False, description="Stated absent ('denies chest pain').")
    uncertain: bool = Field(default=False, description="Possible or suspected ('rule out PE').")
    historical: bool = Field(default=False, description="In the past, not current ('history of MI').")
    hypothetical: bool = Field(default=False, description="Conditional or future ('return if fever').")
    family: bool = Field(default=False, description="About someone other than the patient ('mother had').")
    cues: tuple[Cue, ...] = Field(default=(), description="Cues that set the statuses above.")

    @property
    def statuses(self) -> tuple[AssertionStatus, ...]:
        """The statuses that are set, in canonical order."""
        return tuple(s for s in ASSERTION_STATUSES if getattr(self, s))


class Code(BaseModel):
    """A code in a terminology."""

    model_config = _FROZEN

    system: str = Field(description="Code system URI, e.g. 'http://hl7.org/fhir/sid/icd-10-cm'.")
    code: str = Field(description="The code.")
    display: str | None = Field(default=None, description="Human-readable display from the terminology.")
    source: str | None = Field(default=None, description="Where the mapping comes from (package or lexicon file).")


class Claim(BaseModel):
    """Base for anything a task asserts. Evidence is required unless ``supported`` is False."""

    model_config = _FROZEN

    evidence: tuple[Evidence, ...] = Field(default=(), description="Spans in the source that support the claim.")
    supported: bool = Field(default=True, description="False when no evidence supports the claim.")

    @model_validator(mode="after")
    def _grounded(self) -> Claim:
        if self.supported and not self.evidence:
            raise ValueError("a supported claim needs at least one evidence span (or set supported=False)")
        return self


class Document(BaseModel):
    """One text record: a note, report, dialogue or abstract."""

    model_config = _FROZEN

    id: str = Field(min_length=1, description="Stable record id, unique within a run.")
    text: str = Field(description="The full text; all offsets index it.")
    kind: DocumentKind = Field(default="note", description="What sort of text this is.")
    patient_id: str | None = Field(default=None, description="Patient the record belongs to.")
    date: dt.date | dt.datetime | None = Field(default=None, description="Date the record was written.")
    source: str | None = Field(default=None, description="Where it was read from (path:line or URI).")
    meta: dict[str, Any] = Field(default_factory=dict, description="Other input fields, passed through.")


class Observation(BaseModel):
    """A structured measurement (lab or vital) that arrived as data, not text."""

    model_config = _FROZEN

    id: str = Field(min_length=1, description="Stable record id.")
    patient_id: str | None = Field(default=None, description="Patient the observation belongs to.")
    code: Code | None = Field(default=None, description="What was measured (LOINC where known).")
    value: float | str | None = Field(default=None, description="The value.")
    unit: str | None = Field(default=None, description="UCUM unit.")
    time: dt.datetime | dt.date | None = Field(default=None, description="When it was measured.")
    source: str | None = Field(default=None, description="Where it was read from.")


class Study(BaseModel):
    """An imaging study (declared here; the imaging family fills it in)."""

    model_config = _FROZEN

    id: str = Field(min_length=1, description="Stable record id.")
    patient_id: str | None = Field(default=None, description="Patient the study belongs to.")
    modality: str | None = Field(default=None, description="DICOM modality, e.g. 'CT'.")
    paths: tuple[str, ...] = Field(default=(), description="Files or folders holding the image data.")
    date: dt.date | dt.datetime | None = Field(default=None, description="Study date.")
    meta: dict[str, Any] = Field(default_factory=dict, description="DICOM or other metadata.")


class Patient(BaseModel):
    """A patient and their records, ordered on a timeline."""

    model_config = _FROZEN

    id: str = Field(min_length=1, description="Patient id.")
    documents: tuple[Document, ...] = Field(default=(), description="Text records.")
    observations: tuple[Observation, ...] = Field(default=(), description="Structured measurements.")
    studies: tuple[Study, ...] = Field(default=(), description="Imaging studies.")


class TaskResult(BaseModel):
    """Base for what one task returns for one record. Families subclass it with their payload."""

    model_config = _FROZEN

    name: str = Field(description="Full versioned task name, e.g. 'medlens.task.notes.extract.v1'.")
    backend: str = Field(description="Backend that produced it, e.g. 'rules'.")


class ErrorItem(BaseModel):
    """A record-level failure: recorded on the line, never dropping it."""

    model_config = _FROZEN

    code: str = Field(description="Stable error code, e.g. 'ML104'.")
    message: str = Field(description="What went wrong (never document text).")
    task: str | None = Field(default=None, description="Task that failed, if any.")


class RecordResult(BaseModel):
    """The results.jsonl envelope: one line per input record (DESIGN.md §1.1)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Record id.")
    kind: str = Field(description="Record kind.")
    patient_id: str | None = Field(default=None, description="Patient id.")
    source: str | None = Field(default=None, description="Where the record was read from.")
    tasks: dict[str, TaskResult] = Field(default_factory=dict, description="Short task name -> its result.")
    errors: list[ErrorItem] = Field(default_factory=list, description="Record-level failures.")

    def to_json(self) -> str:
        """Serialise as one JSON line, including each task's subclass fields."""
        return self.model_dump_json(serialize_as_any=True, exclude_none=True)
