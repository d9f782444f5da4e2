"""Review flags: what the ``llm`` and ``hybrid`` backends could not accept as is, with both answers for a reviewer.

A flag is data in the result payload (``review``), never a log line: it may hold the model's proposed value and
quote, because a reviewer needs them, and the payload already holds quotes of the record. Kinds:

* ``dropped`` — an LLM claim left out of the result: its quote is not in the record (ML403), a number of its value
  is not in its evidence (ML404), its quote is empty (ML405), or its evidence lies on a line addressing the model
  (ML406, possible prompt injection);
* ``disagreement`` — rules and LLM gave different answers for the same field (ML410); the result keeps the rules'
  answer and the flag holds both;
* ``llm_only`` — a grounded LLM claim that the rules did not make, added to the result for review (ML411);
* ``llm_failed`` — the hybrid backend's LLM call failed; the rules result is returned alone (the error code);
* ``relocated`` — the quote was found but not where the model said, or only after normalisation (ML402).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import Evidence

__all__ = ["ReviewFlag", "ReviewKind"]

ReviewKind = Literal["dropped", "disagreement", "llm_only", "llm_failed", "relocated"]


class ReviewFlag(BaseModel):
    """One item for the review queue, attached to a task result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ReviewKind = Field(description="dropped, disagreement, llm_only, llm_failed or relocated.")
    code: str = Field(description="Stable code: ML402-ML407 (grounding), ML410 disagreement, ML411 LLM only, ML7xx.")
    field: str = Field(description="What the flag is about, e.g. 'findings[3]', 'labels.Cardiomegaly', 'fields.pT'.")
    message: str = Field(description="Why, in words (never document text).")
    rules_value: str | None = Field(default=None, description="The rules backend's answer, where there is one.")
    llm_value: str | None = Field(default=None, description="The LLM's answer, as proposed.")
    quotes: tuple[str, ...] = Field(default=(), description="The quotes the LLM gave, as proposed (maybe not in text).")
    evidence: tuple[Evidence, ...] = Field(default=(), description="Evidence resolved in the record, where any.")
