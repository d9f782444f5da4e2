"""Shared test data for the LLM tests: a tiny result schema and a sentinel that must never leak."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SENTINEL", "Finding"]

SENTINEL = "Zyxwvut Quillfeather"  # a synthetic name that must never reach logs, errors or a remote server


class Finding(BaseModel):
    """Tiny result schema used across the tests."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=40)
    present: bool
    count: int = Field(ge=0)
