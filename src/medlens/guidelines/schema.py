"""Shared result vocabulary of the guideline engines: the citation every result carries.

The engines are decision support for a qualified reader, not a diagnosis: each result names the guideline, its
version and the table row that fired, so a reviewer can check it against the source.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Citation", "LexiconHeader"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Citation(BaseModel):
    """The published source of a rule."""

    model_config = _FROZEN

    guideline: str = Field(description="Guideline name and reference, e.g. 'RECIST 1.1 (Eisenhauer 2009)'.")
    version: str = Field(description="Guideline version, e.g. '1.1', '2017', 'v2022'.")
    table: str = Field(description="Table or section of the publication the rule comes from.")


class LexiconHeader(BaseModel):
    """Provenance block required at the top of every guideline table file."""

    model_config = _FROZEN

    guideline: str = Field(description="Full bibliographic reference of the guideline.")
    version: str = Field(description="Guideline version encoded by the file.")
    licence: str = Field(description="Licence of the medlens encoding and terms of the source.")
    note: str = Field(default="", description="What was, and was not, encoded.")
