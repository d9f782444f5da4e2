"""The vocabulary of de-identification: PHI types, detected spans, site configuration and the fail-closed error.

PHI types follow the HIPAA Safe Harbor identifiers, 45 CFR §164.514(b)(2)(i)(A)-(R), split where clinical text
needs it (MRN, accession and account numbers are all "(H)-(J) numbers" in the rule, but sites audit them apart) and
with ``FACILITY`` added (hospital names narrow a patient's location; the i2b2 2014 de-identification guidelines
annotate them as PHI).
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medlens.core.errors import MedlensError
from medlens.core.types import PhiType

__all__ = [
    "DEID_VERSION",
    "PHI_TYPES",
    "DeidConfig",
    "DeidError",
    "DeidMode",
    "DenyTerm",
    "ExtraPattern",
    "PhiSpan",
    "PhiType",
]

DEID_VERSION = "medlens.deid.text.v1"
"""Version of the detector and transformer together; stored in ``Document.meta["deid"]["version"]``."""

PHI_TYPES: tuple[PhiType, ...] = get_args(PhiType)

DeidMode = Literal["redact", "mask", "surrogate"]


class DeidError(MedlensError):
    """De-identification failed; the record must not be passed on (fail closed).

    Codes: ML601 detection failed, ML602 transformation failed (including spans that do not fit the text),
    ML603 the mapping file cannot be decrypted with the given key, ML604 the mapping file is unreadable or invalid.
    Messages never contain document text.
    """

    code = "ML600"


class PhiSpan(BaseModel):
    """One detected identifier: where it is, what it is, who found it. Never holds the text itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0, description="First character (inclusive), in code points.")
    end: int = Field(ge=0, description="Last character (exclusive).")
    type: PhiType = Field(description="The kind of identifier.")
    detector: str = Field(description="Versioned id of the rule that found it, e.g. 'medlens.deid.date.numeric.v1'.")
    confidence: float = Field(ge=0.0, le=1.0, description="How sure the detector is, in [0, 1].")

    @model_validator(mode="after")
    def _ordered(self) -> PhiSpan:
        if self.end <= self.start:
            raise ValueError(f"span end {self.end} must follow start {self.start}")
        return self


class ExtraPattern(BaseModel):
    """A site-specific pattern: every match of ``regex`` is an identifier of ``type``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: PhiType = Field(description="PHI type of the matches.")
    regex: str = Field(min_length=1, description="Python regular expression; the whole match is the span.")
    ignore_case: bool = Field(default=False, description="Match regardless of case.")
    confidence: float = Field(default=0.9, ge=0.0, le=1.0, description="Confidence given to the matches.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        if compiled.match("") is not None:
            raise ValueError("the pattern matches the empty string")
        return value


class DenyTerm(BaseModel):
    """A term that is always an identifier wherever it occurs (whole words, any case)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str = Field(min_length=2, description="The term, e.g. the site's own hospital name.")
    type: PhiType = Field(default="FACILITY", description="PHI type given to its occurrences.")


class DeidConfig(BaseModel):
    """Site configuration of the text de-identifier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    types: list[PhiType] = Field(
        default_factory=lambda: list(PHI_TYPES), description="PHI types to detect; leave all on for Safe Harbor."
    )
    extra_patterns: list[ExtraPattern] = Field(
        default_factory=list, description="Site patterns (e.g. the local MRN format) added to the built-in ones."
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Terms that are never PHI (any case, whole words), e.g. a drug or eponym the lexicons mistake "
        "for a name. A detected span lying inside an occurrence of an allowed term is dropped.",
    )
    deny: list[DenyTerm] = Field(
        default_factory=list, description="Terms that are always PHI, e.g. the site's own hospital and clinic names."
    )
    min_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Spans below this confidence are dropped (lower it for recall)."
    )
    date_shift: bool = Field(
        default=True,
        description="Surrogate mode: shift dates by the patient's offset keeping their format. If false, dates are "
        "reduced to their year (which Safe Harbor permits), or to '[DATE]' when they state no year.",
    )
    keep_year: bool = Field(
        default=False,
        description="Do not flag a year standing alone ('in 2019'); Safe Harbor permits years "
        "(§164.514(b)(2)(i)(C)) except those of ages over 89. Years inside full dates are always handled.",
    )
    day_first: bool = Field(default=False, description="Read numeric dates as day/month/year (non-US sites).")
    locale: Literal["en_US"] = Field(default="en_US", description="Locale of surrogate names, places and formats.")
    keep_meta: list[str] = Field(
        default_factory=list,
        description="Document.meta keys passed through unchanged by deidentify(); all others are dropped because "
        "they are not de-identified. List only keys known to hold no PHI.",
    )

    @field_validator("allow")
    @classmethod
    def _no_empty_allow(cls, value: list[str]) -> list[str]:
        if any(not term.strip() for term in value):
            raise ValueError("allow terms must not be empty")
        return value
