"""notes.extract, ``llm`` and ``hybrid`` backends: the model proposes quoted facts, medlens grounds them.

The model answers in :class:`NotesProposal` (type, name, a verbatim quote, assertion flags, value as written) and
never gives offsets: medlens resolves each quote in the note (:func:`medlens.llm.backends.resolve_quotes`), drops a
proposal whose quote is not there, whose value's numbers are not in its quote, or whose quote sits on a line that
addresses the model, and records each drop as a review flag. Codes are never taken from the model (left empty).

``hybrid`` runs the rules backend first; an LLM finding overlapping a rules finding of the same type is the same
fact: where their assertions differ (negated/uncertain/historical/hypothetical/family) the rules' answer is kept and
both are flagged for review (ML410). A grounded LLM finding the rules did not make is added and flagged ``llm_only``
(ML411). If the LLM call fails, the rules result is returned with an ``llm_failed`` flag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import ASSERTION_STATUSES, Assertion, Document, Evidence
from medlens.llm.backends import LLMRunner, Outcome, parse_options, raise_fatal, raise_first, resolve_quotes
from medlens.llm.review import ReviewFlag
from medlens.notes.rules import NotesExtractRules
from medlens.notes.schema import Finding, FindingType, MeasurementDetail, MedicationDetail, NotesExtractResult, Quantity
from medlens.safety.grounding import GroundingIndex
from medlens.text.analysis import analyze

__all__ = [
    "NotesExtractHybrid",
    "NotesExtractLLM",
    "NotesExtractLLMResult",
    "NotesProposal",
    "ProposedFinding",
    "ground_notes_proposal",
]

TASK = "notes.extract"
_PLAIN_NUMBER = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?\s*$")


def _empty(value: tuple[object, ...]) -> bool:
    """Leave ``review`` out of the JSON when empty, so rules output reads back to the same line."""
    return not value


class ProposedFinding(BaseModel):
    """One fact as the model proposes it (no offsets: medlens finds the quote)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: FindingType = Field(description="problem, medication, allergy, vital, lab or procedure.")
    text: str = Field(min_length=1, max_length=120, description="Name of the fact in plain words, e.g. 'asthma'.")
    quote: str = Field(
        min_length=1, max_length=300, description="Words copied exactly from the note that state this fact."
    )
    negated: bool = Field(default=False, description="The note says it is absent ('denies chest pain').")
    uncertain: bool = Field(default=False, description="The note says it is possible or suspected.")
    historical: bool = Field(default=False, description="The note says it is in the past, not current.")
    hypothetical: bool = Field(default=False, description="The note states it as conditional or future.")
    family: bool = Field(default=False, description="The note says it is about a family member.")
    value: str | None = Field(
        default=None,
        max_length=40,
        description="Medication: dose as written ('10'); vital or lab: result as written ('7.2', '120/80'); else null.",
    )
    unit: str | None = Field(default=None, max_length=20, description="Unit of the value as written, e.g. 'mg'.")


class NotesProposal(BaseModel):
    """The model's answer for one note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    findings: list[ProposedFinding] = Field(max_length=300, description="Facts the note states, in note order.")


class NotesExtractLLMResult(NotesExtractResult):
    """notes.extract result with review flags, model and prompt version (``llm`` and ``hybrid`` backends)."""

    review: tuple[ReviewFlag, ...] = Field(
        default=(), exclude_if=_empty, description="Dropped claims, disagreements, LLM-only facts."
    )
    model: str | None = Field(default=None, description="Model name of the endpoint.")
    prompt_version: str | None = Field(
        default=None, description="Prompt version, e.g. medlens.prompt.notes.extract.v1."
    )


def _assertion(p: ProposedFinding) -> Assertion:
    return Assertion(
        negated=p.negated, uncertain=p.uncertain, historical=p.historical, hypothetical=p.hypothetical, family=p.family
    )


def _statuses(assertion: Assertion) -> str:
    return ",".join(assertion.statuses) or "affirmed"


def _finding(p: ProposedFinding, evidence: tuple[Evidence, ...], section: str | None) -> Finding:
    medication = measurement = None
    if p.value is not None:
        written = p.value if p.unit is None else f"{p.value} {p.unit}"
        number = float(p.value) if _PLAIN_NUMBER.match(p.value) else None
        quantity = Quantity(text=written, value=number, unit=p.unit, evidence=evidence)
        if p.type in ("vital", "lab"):
            measurement = MeasurementDetail(value=quantity)
        elif p.type == "medication":
            medication = MedicationDetail(dose=quantity)
    return Finding(
        type=p.type,
        text=p.text,
        assertion=_assertion(p),
        section=section,
        evidence=evidence,
        medication=medication,
        measurement=measurement,
    )


def ground_notes_proposal(
    proposal: NotesProposal, text: str, record_id: str, *, producer: str
) -> tuple[list[Finding], list[ReviewFlag]]:
    """Grounded findings of a proposal and the flags of what was dropped or only loosely matched.

    Args:
        proposal: the model's answer.
        text: the original note (offsets index it, whatever the model saw).
        record_id: the note's id.
        producer: evidence producer (prompt version and model).
    """
    index = GroundingIndex(text, record_id)
    analysis = None
    findings: list[Finding] = []
    flags: list[ReviewFlag] = []
    for i, p in enumerate(proposal.findings):
        resolved = resolve_quotes(
            index,
            [p.quote],
            producer=producer,
            field=f"findings[{i}]",
            value=p.value,
            llm_value=f"{p.type}: {p.text}" + (f" = {p.value}" if p.value is not None else ""),
        )
        if resolved.dropped is not None:
            flags.append(resolved.dropped)
            continue
        flags.extend(resolved.notes)
        if analysis is None:
            analysis = analyze(text)
        findings.append(_finding(p, resolved.evidence, analysis.section_at(resolved.evidence[0].start).name))
    findings.sort(key=lambda f: (f.evidence[0].start, f.evidence[0].end))
    return findings, flags


class NotesExtractLLM:
    """notes.extract with an OpenAI-compatible LLM; every finding grounded by quote (backend ``llm``).

    Keyword options are :class:`medlens.llm.backends.LLMTaskOptions` (``endpoint``, ``cache``, ``deid``...).

    Raises:
        ConfigError: ML201 for invalid options; ML205 for a broken prompt file.
    """

    name = "medlens.task.notes.extract.v1"
    backend = "llm"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.notes.extract",)

    def __init__(self, **options: Any) -> None:
        self.runner = LLMRunner(TASK, NotesProposal, parse_options(TASK, options))

    def __call__(self, batch: Sequence[Document]) -> list[NotesExtractLLMResult]:
        """One result per document, in order; raises the first record's LLM error (the pipeline records it)."""
        outcomes = self.runner.ask_batch(batch)
        raise_first(outcomes)
        return [self._result(doc, out) for doc, out in zip(batch, outcomes, strict=True)]

    def _result(self, doc: Document, outcome: Outcome) -> NotesExtractLLMResult:
        findings, flags = ground_notes_proposal(outcome.parsed, doc.text, doc.id, producer=self.runner.producer)
        return NotesExtractLLMResult(
            name=self.name,
            backend=self.backend,
            findings=tuple(findings),
            review=tuple(flags),
            model=self.runner.model,
            prompt_version=self.runner.prompt_version,
        )

    def close(self) -> None:
        """Close the endpoint's connections."""
        self.runner.close()


def _overlaps(a: Finding, b: Finding) -> bool:
    return any(x.start < y.end and y.start < x.end for x in a.evidence for y in b.evidence)


def _where(f: Finding) -> str:
    ev = f.evidence[0]
    return f"findings[{f.type}@{ev.start}:{ev.end}]"


class NotesExtractHybrid:
    """notes.extract: rules first, the LLM proposes, grounding and rules verify (backend ``hybrid``).

    Args:
        types: finding types the rules return (as for the ``rules`` backend).
        **options: :class:`medlens.llm.backends.LLMTaskOptions` fields.
    """

    name = "medlens.task.notes.extract.v1"
    backend = "hybrid"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.notes.extract",)

    def __init__(self, *, types: Sequence[str] | None = None, **options: Any) -> None:
        self.rules = NotesExtractRules(types=types)
        self.runner = LLMRunner(TASK, NotesProposal, parse_options(TASK, options))

    def __call__(self, batch: Sequence[Document]) -> list[NotesExtractLLMResult]:
        """One result per document, in order."""
        outcomes = self.runner.ask_batch(batch)
        raise_fatal(outcomes)
        return [self._result(doc, out) for doc, out in zip(batch, outcomes, strict=True)]

    def _result(self, doc: Document, outcome: Outcome) -> NotesExtractLLMResult:
        rules = self.rules.extract(doc.text, doc.id)
        flags: list[ReviewFlag] = []
        findings = list(rules)
        if outcome.error is not None:
            flags.append(
                ReviewFlag(
                    kind="llm_failed",
                    code=outcome.error.code,
                    field="findings",
                    message="the LLM call failed; rules findings only",
                )
            )
        else:
            proposed, flags = ground_notes_proposal(outcome.parsed, doc.text, doc.id, producer=self.runner.producer)
            for llm in proposed:
                same = [r for r in rules if r.type == llm.type and _overlaps(r, llm)]
                if not same:
                    findings.append(llm)
                    flags.append(
                        ReviewFlag(
                            kind="llm_only",
                            code="ML411",
                            field=_where(llm),
                            message="grounded LLM finding that the rules did not make",
                            llm_value=f"{llm.type}: {llm.text} ({_statuses(llm.assertion)})",
                            evidence=llm.evidence,
                        )
                    )
                    continue
                for r in same:
                    if any(getattr(r.assertion, s) != getattr(llm.assertion, s) for s in ASSERTION_STATUSES):
                        flags.append(
                            ReviewFlag(
                                kind="disagreement",
                                code="ML410",
                                field=f"{_where(r)}.assertion",
                                message="rules and LLM assert this finding differently; the rules' answer is kept",
                                rules_value=_statuses(r.assertion),
                                llm_value=_statuses(llm.assertion),
                                evidence=(*r.evidence, *llm.evidence),
                            )
                        )
        findings.sort(key=lambda f: (f.evidence[0].start, f.evidence[0].end) if f.evidence else (len(doc.text), 0))
        return NotesExtractLLMResult(
            name=self.name,
            backend=self.backend,
            findings=tuple(findings),
            review=tuple(flags),
            model=self.runner.model,
            prompt_version=self.runner.prompt_version,
        )

    def close(self) -> None:
        """Close the endpoint's connections."""
        self.runner.close()
