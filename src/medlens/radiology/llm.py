"""radiology.labels, ``llm`` and ``hybrid`` backends: the model labels the report with quotes, medlens grounds them.

The model answers with the labels the report mentions (name from the label set, positive/negative/uncertain, one or
more verbatim quotes); the proposal schema lists the label set's names as an enum, so another label cannot
validate. Each label's quotes are resolved in the report; a label whose quote is not there, or lies on a line that
addresses the model, is dropped and flagged. Labels not proposed are ``not_mentioned``. Several proposals of one
label aggregate as the CheXpert labeler does: positive > uncertain > negative.

``hybrid`` runs the rules backend, keeps its labels, and flags each label where the LLM's grounded status differs
(ML410, both answers kept in the flag). A label the LLM left out is not flagged (models routinely omit negatives and
derived labels such as No Finding), nor is "negative" against "not mentioned": both say the finding is absent.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from medlens.core.types import Document, Evidence
from medlens.llm.backends import LLMRunner, Outcome, parse_options, raise_fatal, raise_first, resolve_quotes
from medlens.llm.review import ReviewFlag
from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.labels_lexicon import load_label_set, load_label_set_file
from medlens.radiology.schema import Label, LabelStatus, RadiologyLabelsResult
from medlens.safety.grounding import GroundingIndex

__all__ = [
    "RadiologyLabelsHybrid",
    "RadiologyLabelsLLM",
    "RadiologyLabelsLLMResult",
    "ground_labels_proposal",
    "proposal_schema",
]

TASK = "radiology.labels"
_RANK: dict[str, int] = {"not_mentioned": 0, "negative": 1, "uncertain": 2, "positive": 3}


def _empty(value: tuple[object, ...]) -> bool:
    """Leave ``review`` out of the JSON when empty, so rules output reads back to the same line."""
    return not value


class RadiologyLabelsLLMResult(RadiologyLabelsResult):
    """radiology.labels result with review flags, model and prompt version (``llm`` and ``hybrid`` backends)."""

    review: tuple[ReviewFlag, ...] = Field(
        default=(), exclude_if=_empty, description="Dropped labels and rules/LLM disagreements."
    )
    model: str | None = Field(default=None, description="Model name of the endpoint.")
    prompt_version: str | None = Field(
        default=None, description="Prompt version, e.g. medlens.prompt.radiology.labels.v1."
    )


@functools.cache
def proposal_schema(names: tuple[str, ...]) -> type[BaseModel]:
    """The proposal schema for a label set: ``{"labels": [{"name", "status", "quotes"}]}`` with names as an enum."""
    name_type: Any = Literal.__getitem__(names)
    status_type: Any = Literal["positive", "negative", "uncertain"]
    list_type: Any = list
    frozen = ConfigDict(frozen=True, extra="forbid")
    proposed: type[BaseModel] = create_model(
        "ProposedLabel",
        __config__=frozen,
        name=(name_type, Field(description="Label name, spelled exactly as in the label set.")),
        status=(
            status_type,
            Field(description="positive (present), negative (stated absent) or uncertain (possible)."),
        ),
        quotes=(
            list[str],
            Field(min_length=1, max_length=5, description="Words copied exactly from the report that decide it."),
        ),
    )
    return create_model(
        "RadiologyProposal",
        __config__=frozen,
        labels=(list_type[proposed], Field(max_length=100, description="Labels the report mentions, one entry each.")),
    )


def _label_names(labelset: str) -> tuple[str, tuple[str, ...]]:
    loaded = load_label_set_file(labelset) if labelset.endswith((".yaml", ".yml")) else load_label_set(labelset)
    return loaded.labelset, tuple(entry.name for entry in loaded.labels)


def ground_labels_proposal(
    proposal: Any, names: Sequence[str], text: str, record_id: str, *, producer: str
) -> tuple[list[Label], list[ReviewFlag]]:
    """Every label of the set from a proposal (grounded or ``not_mentioned``) and the flags of what was dropped.

    Args:
        proposal: the model's answer (an instance of :func:`proposal_schema`).
        names: label names of the set, in its order.
        text: the original report.
        record_id: the report's id.
        producer: evidence producer (prompt version and model).
    """
    index = GroundingIndex(text, record_id)
    best: dict[str, tuple[LabelStatus, list[Evidence]]] = {}
    flags: list[ReviewFlag] = []
    for i, p in enumerate(proposal.labels):
        resolved = resolve_quotes(
            index, p.quotes, producer=producer, field=f"labels.{p.name}", llm_value=f"{p.status} (proposal {i})"
        )
        if resolved.dropped is not None:
            flags.append(resolved.dropped)
            continue
        flags.extend(resolved.notes)
        current = best.get(p.name)
        if current is None or _RANK[p.status] > _RANK[current[0]]:
            best[p.name] = (p.status, list(resolved.evidence))
        elif p.status == current[0]:
            current[1].extend(resolved.evidence)
    labels: list[Label] = []
    for name in names:
        if name in best:
            status, evidence = best[name]
            evidence.sort(key=lambda e: (e.start, e.end))
            labels.append(Label(name=name, status=status, evidence=tuple(evidence)))
        else:
            labels.append(Label(name=name, status="not_mentioned", supported=False))
    return labels, flags


class RadiologyLabelsLLM:
    """radiology.labels with an OpenAI-compatible LLM; every label grounded by quote (backend ``llm``).

    Args:
        labelset: label set name or ``.yaml`` path (as for the rules backend; few-shot examples only for chexpert).
        **options: :class:`medlens.llm.backends.LLMTaskOptions` fields.
    """

    name = "medlens.task.radiology.labels.v1"
    backend = "llm"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.radiology.labels",)

    def __init__(self, *, labelset: str = "chexpert", **options: Any) -> None:
        self.labelset, self.names = _label_names(labelset)
        opts = parse_options(TASK, options)
        if labelset != "chexpert":  # the worked examples use CheXpert names
            opts = opts.model_copy(update={"few_shot": False})
        self.runner = LLMRunner(TASK, proposal_schema(self.names), opts, context={"labels": list(self.names)})

    def __call__(self, batch: Sequence[Document]) -> list[RadiologyLabelsLLMResult]:
        """One result per document, in order; raises the first record's LLM error (the pipeline records it)."""
        outcomes = self.runner.ask_batch(batch)
        raise_first(outcomes)
        return [self._result(doc, out) for doc, out in zip(batch, outcomes, strict=True)]

    def _result(self, doc: Document, outcome: Outcome) -> RadiologyLabelsLLMResult:
        labels, flags = ground_labels_proposal(
            outcome.parsed, self.names, doc.text, doc.id, producer=self.runner.producer
        )
        return RadiologyLabelsLLMResult(
            name=self.name,
            backend=self.backend,
            labelset=self.labelset,
            labels=tuple(labels),
            review=tuple(flags),
            model=self.runner.model,
            prompt_version=self.runner.prompt_version,
        )

    def close(self) -> None:
        """Close the endpoint's connections."""
        self.runner.close()


def _worth_flagging(rules: LabelStatus, llm: LabelStatus) -> bool:
    # A label the model left out is no answer (models routinely omit negatives and derived labels such as
    # No Finding); "negative" against "not mentioned" both say absent.
    if rules == llm or llm == "not_mentioned":
        return False
    return {rules, llm} != {"negative", "not_mentioned"}


class RadiologyLabelsHybrid:
    """radiology.labels: rules decide, the LLM cross-checks; disagreements flagged (backend ``hybrid``).

    Args:
        labelset: label set (as for the rules backend).
        impression_precedence: rules option.
        propagate_to_parent: rules option.
        sections: rules option.
        **options: :class:`medlens.llm.backends.LLMTaskOptions` fields.
    """

    name = "medlens.task.radiology.labels.v1"
    backend = "hybrid"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.radiology.labels",)

    def __init__(
        self,
        *,
        labelset: str = "chexpert",
        impression_precedence: bool = True,
        propagate_to_parent: bool = True,
        sections: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        self.rules = RadiologyLabelsRules(
            labelset=labelset,
            impression_precedence=impression_precedence,
            propagate_to_parent=propagate_to_parent,
            sections=sections,
        )
        self.llm = RadiologyLabelsLLM(labelset=labelset, **options)
        self.runner = self.llm.runner

    def __call__(self, batch: Sequence[Document]) -> list[RadiologyLabelsLLMResult]:
        """One result per document, in order."""
        outcomes = self.runner.ask_batch(batch)
        raise_fatal(outcomes)
        return [self._result(doc, out) for doc, out in zip(batch, outcomes, strict=True)]

    def _result(self, doc: Document, outcome: Outcome) -> RadiologyLabelsLLMResult:
        rules = self.rules.label(doc.text, doc.id)
        flags: list[ReviewFlag] = []
        if outcome.error is not None:
            flags.append(
                ReviewFlag(
                    kind="llm_failed",
                    code=outcome.error.code,
                    field="labels",
                    message="the LLM call failed; rules only",
                )
            )
        else:
            proposed, flags = ground_labels_proposal(
                outcome.parsed, self.llm.names, doc.text, doc.id, producer=self.runner.producer
            )
            by_name = {label.name: label for label in proposed}
            for label in rules:
                llm = by_name.get(label.name)
                if llm is None or not _worth_flagging(label.status, llm.status):
                    continue
                flags.append(
                    ReviewFlag(
                        kind="disagreement",
                        code="ML410",
                        field=f"labels.{label.name}",
                        message="rules and LLM give this label different statuses; the rules' status is kept",
                        rules_value=label.status,
                        llm_value=llm.status,
                        evidence=(*label.evidence, *llm.evidence),
                    )
                )
        return RadiologyLabelsLLMResult(
            name=self.name,
            backend=self.backend,
            labelset=self.rules.labelset,
            labels=tuple(rules),
            review=tuple(flags),
            model=self.runner.model,
            prompt_version=self.runner.prompt_version,
        )

    def close(self) -> None:
        """Close the endpoint's connections."""
        self.runner.close()
