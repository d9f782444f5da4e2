"""pathology.extract, ``llm`` and ``hybrid`` backends: the model fills quoted fields, medlens grounds and verifies.

The model answers in :class:`PathologyProposal`: each field it fills carries a verbatim quote; values are as
written (size in the stated unit, converted to mm here, never by the model), and TNM categories and stage groups
must match the AJCC notation patterns of the schema. A field is kept only when its quote is in the report, its
value's numbers appear in the quote, and (TNM, stage) the category itself is written in the quote. Specimens and
cancer type are left to the rules backend.

``hybrid`` runs the rules backend (:func:`medlens.pathology.extract.extract_pathology`) first and keeps its values;
where both state a field and differ (pT, pN, pM, stated stage, grade, margins, invasion, node counts, receptors,
HER2, Ki-67) the flag holds both (ML410). A field only the LLM filled, grounded, is added and flagged ``llm_only``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import Claim, Document, Evidence
from medlens.llm.backends import LLMRunner, Outcome, parse_options, raise_fatal, raise_first, resolve_quotes
from medlens.llm.review import ReviewFlag
from medlens.pathology.extract import PathologyExtractRules, extract_pathology
from medlens.pathology.schema import (
    Grade,
    Her2,
    HistologicType,
    InvasionStatus,
    Ki67,
    LymphNodes,
    Margins,
    PathologyExtractResult,
    PathologyFields,
    Receptor,
    StatedStage,
    TNMCategory,
    TumourSize,
    VascularInvasion,
)
from medlens.safety.grounding import GroundingIndex

__all__ = [
    "PathologyExtractHybrid",
    "PathologyExtractLLM",
    "PathologyExtractLLMResult",
    "PathologyProposal",
    "ground_pathology_proposal",
]

TASK = "pathology.extract"
_FROZEN = ConfigDict(frozen=True, extra="forbid")
# AJCC 8th edition notation: prefix (y, r, c, p, a combinations), category, subcategory, suffixes (m), (i+), mi.
_PREFIX = r"(?:yp|yc|rp|p|c|r|a)?"
T_PATTERN = rf"^{_PREFIX}T(?:X|is|0|[1-4][a-e]?)(?:\(m\))?$"
N_PATTERN = rf"^{_PREFIX}N(?:X|0|[1-3][a-c]?)(?:mi)?(?:\((?:i|mol)[+-]\))?$"
M_PATTERN = rf"^{_PREFIX}M(?:X|0|1[a-d]?)$"
STAGE_PATTERN = r"^(?:0|I{1,3}|IV)(?:[A-C][1-3]?)?$"
_SPLIT_TNM = re.compile(r"^(yp|yc|rp|p|c|r|a)?([TNM])(X|is|\d)(.*)$")
_ALNUM = re.compile(r"[^0-9a-z+]")


def _empty(value: tuple[object, ...]) -> bool:
    """Leave ``review`` out of the JSON when empty, so rules output reads back to the same line."""
    return not value


class _Quoted(BaseModel):
    model_config = _FROZEN

    quote: str = Field(min_length=1, max_length=300, description="Words copied exactly from the report that state it.")


class ProposedText(_Quoted):
    """A value stated in words."""

    value: str = Field(
        min_length=1, max_length=80, description="The value as written, e.g. 'invasive ductal carcinoma'."
    )


class ProposedGrade(_Quoted):
    """A grade as written."""

    value: str = Field(min_length=1, max_length=20, description="Grade as written, e.g. '2', '3+4=7', 'high'.")


class ProposedSize(_Quoted):
    """The largest tumour dimension as written."""

    value: str = Field(pattern=r"^\d+(?:\.\d+)?$", description="Largest dimension as written, e.g. '2.1'.")
    unit: Literal["mm", "cm"] = Field(description="Unit as written.")


class ProposedTNM(_Quoted):
    """A TNM category as written, prefix included."""

    value: str = Field(max_length=16, description="Category with prefix, e.g. 'pT2a', 'ypN1mi', 'pM1'.")


class ProposedT(ProposedTNM):
    """Primary tumour category."""

    value: str = Field(pattern=T_PATTERN, max_length=16, description="e.g. 'pT2a', 'ypT1c', 'pTis'.")


class ProposedN(ProposedTNM):
    """Regional node category."""

    value: str = Field(pattern=N_PATTERN, max_length=16, description="e.g. 'pN0', 'pN1mi', 'pN0(i+)'.")


class ProposedM(ProposedTNM):
    """Distant metastasis category."""

    value: str = Field(pattern=M_PATTERN, max_length=16, description="e.g. 'pM1', 'cM0'.")


class ProposedStage(_Quoted):
    """An AJCC stage group stated in the report."""

    value: str = Field(pattern=STAGE_PATTERN, description="Stage group without the word 'stage', e.g. 'IIA'.")


class ProposedMargins(_Quoted):
    """Margin status."""

    status: Literal["involved", "uninvolved"] = Field(description="involved or uninvolved.")


class ProposedInvasion(_Quoted):
    """Lymphovascular or perineural invasion."""

    status: InvasionStatus = Field(description="present, absent or indeterminate.")


class ProposedNodes(_Quoted):
    """Regional lymph node totals as stated."""

    involved: int = Field(ge=0, description="Nodes with tumour.")
    examined: int = Field(ge=0, description="Nodes examined.")


class ProposedReceptor(_Quoted):
    """ER or PR."""

    status: Literal["positive", "negative", "low_positive"] | None = Field(default=None, description="Result.")
    percent: float | None = Field(default=None, ge=0, le=100, description="Percent of nuclei staining, as written.")


class ProposedHer2(_Quoted):
    """HER2 by IHC and/or ISH."""

    ihc: Literal["0", "1+", "2+", "3+"] | None = Field(default=None, description="IHC score.")
    ish: Literal["amplified", "not_amplified", "equivocal"] | None = Field(default=None, description="ISH result.")
    status: Literal["positive", "negative", "equivocal"] | None = Field(default=None, description="Overall, as stated.")


class ProposedKi67(_Quoted):
    """Ki-67 index."""

    percent: float = Field(ge=0, le=100, description="Percent as written.")


class PathologyProposal(BaseModel):
    """The model's answer for one report; a field the report does not state is null."""

    model_config = _FROZEN

    histologic_type: ProposedText | None = Field(default=None, description="Histologic type of the main tumour.")
    grade: ProposedGrade | None = Field(default=None, description="Histologic grade.")
    tumour_size: ProposedSize | None = Field(default=None, description="Largest tumour dimension.")
    pT: ProposedT | None = Field(default=None, description="Primary tumour category.")
    pN: ProposedN | None = Field(default=None, description="Regional lymph node category.")
    pM: ProposedM | None = Field(default=None, description="Distant metastasis category, only when stated.")
    stated_stage: ProposedStage | None = Field(default=None, description="AJCC stage group stated in the report.")
    margins: ProposedMargins | None = Field(default=None, description="Surgical margins.")
    lymphovascular_invasion: ProposedInvasion | None = Field(default=None, description="Lymphovascular invasion.")
    perineural_invasion: ProposedInvasion | None = Field(default=None, description="Perineural invasion.")
    lymph_nodes: ProposedNodes | None = Field(default=None, description="Regional lymph node counts.")
    er: ProposedReceptor | None = Field(default=None, description="Estrogen receptor.")
    pr: ProposedReceptor | None = Field(default=None, description="Progesterone receptor.")
    her2: ProposedHer2 | None = Field(default=None, description="HER2.")
    ki67: ProposedKi67 | None = Field(default=None, description="Ki-67 index.")


class PathologyExtractLLMResult(PathologyExtractResult):
    """pathology.extract result with review flags, model and prompt version (``llm`` and ``hybrid`` backends)."""

    review: tuple[ReviewFlag, ...] = Field(
        default=(), exclude_if=_empty, description="Dropped fields, disagreements, LLM-only fields."
    )
    model: str | None = Field(default=None, description="Model name of the endpoint.")
    prompt_version: str | None = Field(
        default=None, description="Prompt version, e.g. medlens.prompt.pathology.extract.v1."
    )


def _num(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _written_in(value: str, quotes: Sequence[str]) -> bool:
    """The category or stage group itself is written in the quote ('T2a' in 'pT2a', 'IIA' in 'stage IIA')."""
    needle = _ALNUM.sub("", value.lower().replace("(", "").replace(")", ""))
    return any(needle in _ALNUM.sub("", q.lower()) for q in quotes)


def _tnm(value: str, evidence: tuple[Evidence, ...]) -> TNMCategory:
    m = _SPLIT_TNM.match(value)
    if m is None:  # pragma: no cover - the schema pattern admits only this shape
        raise ValueError("not a TNM category")
    prefix, letter, head, tail = m.groups()
    multiple = tail.endswith("(m)")
    sub = f"{letter}{head}{tail.removesuffix('(m)')}"
    return TNMCategory(
        value=value,
        prefix=prefix,
        category=f"{letter}{head}",
        subcategory=sub,
        multiple=multiple,
        evidence=evidence,
    )


def _stage(value: str, evidence: tuple[Evidence, ...]) -> StatedStage:
    group = re.match(r"0|IV|I{1,3}", value)
    return StatedStage(value=value, group=group.group() if group else value, evidence=evidence)


# field name -> (value whose numbers must be in the quote, extra check, builder of the schema claim, display value)
_Builder = Callable[[Any, tuple[Evidence, ...]], Claim]
_FIELDS: dict[str, tuple[Callable[[Any], str | None], Callable[[str, Sequence[str]], bool] | None, _Builder]] = {
    "histologic_type": (
        lambda p: None,
        None,
        lambda p, ev: HistologicType(value=" ".join(p.value.lower().split()), evidence=ev),
    ),
    "grade": (lambda p: p.value, None, lambda p, ev: Grade(value=p.value, evidence=ev)),
    "tumour_size": (
        lambda p: p.value,
        None,
        lambda p, ev: TumourSize(
            largest_mm=float(p.value) * (10 if p.unit == "cm" else 1),
            dimensions_mm=(float(p.value) * (10 if p.unit == "cm" else 1),),
            evidence=ev,
        ),
    ),
    "pT": (lambda p: p.value, _written_in, lambda p, ev: _tnm(p.value, ev)),
    "pN": (lambda p: p.value, _written_in, lambda p, ev: _tnm(p.value, ev)),
    "pM": (lambda p: p.value, _written_in, lambda p, ev: _tnm(p.value, ev)),
    "stated_stage": (lambda p: p.value, _written_in, lambda p, ev: _stage(p.value, ev)),
    "margins": (lambda p: None, None, lambda p, ev: Margins(status=p.status, evidence=ev)),
    "lymphovascular_invasion": (lambda p: None, None, lambda p, ev: VascularInvasion(status=p.status, evidence=ev)),
    "perineural_invasion": (lambda p: None, None, lambda p, ev: VascularInvasion(status=p.status, evidence=ev)),
    "lymph_nodes": (
        lambda p: f"{p.involved} of {p.examined}",
        None,
        lambda p, ev: LymphNodes(involved=p.involved, examined=p.examined, evidence=ev),
    ),
    "er": (lambda p: _num(p.percent), None, lambda p, ev: Receptor(status=p.status, percent=p.percent, evidence=ev)),
    "pr": (lambda p: _num(p.percent), None, lambda p, ev: Receptor(status=p.status, percent=p.percent, evidence=ev)),
    "her2": (lambda p: p.ihc, None, lambda p, ev: Her2(ihc=p.ihc, ish=p.ish, status=p.status, evidence=ev)),
    "ki67": (lambda p: _num(p.percent), None, lambda p, ev: Ki67(percent=p.percent, evidence=ev)),
}


def _shown(p: BaseModel) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.model_dump(exclude={"quote"}, exclude_none=True).items())


def ground_pathology_proposal(
    proposal: PathologyProposal, text: str, record_id: str, *, producer: str
) -> tuple[dict[str, Claim], list[ReviewFlag]]:
    """Grounded fields of a proposal (field name -> schema claim) and the flags of what was dropped.

    Args:
        proposal: the model's answer.
        text: the original report.
        record_id: the report's id.
        producer: evidence producer (prompt version and model).
    """
    index = GroundingIndex(text, record_id)
    fields: dict[str, Claim] = {}
    flags: list[ReviewFlag] = []
    for name, (value_of, extra, build) in _FIELDS.items():
        p = getattr(proposal, name)
        if p is None:
            continue
        resolved = resolve_quotes(
            index,
            [p.quote],
            producer=producer,
            field=f"fields.{name}",
            value=value_of(p),
            llm_value=_shown(p),
            extra_value_check=extra,
        )
        if resolved.dropped is not None:
            flags.append(resolved.dropped)
            continue
        flags.extend(resolved.notes)
        fields[name] = build(p, resolved.evidence)
    return fields, flags


class PathologyExtractLLM:
    """pathology.extract with an OpenAI-compatible LLM; every field grounded by quote (backend ``llm``).

    Keyword options are :class:`medlens.llm.backends.LLMTaskOptions` fields.
    """

    name = "medlens.task.pathology.extract.v1"
    backend = "llm"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.pathology.extract",)

    def __init__(self, **options: Any) -> None:
        self.runner = LLMRunner(TASK, PathologyProposal, parse_options(TASK, options))

    def __call__(self, batch: Sequence[Document]) -> list[PathologyExtractLLMResult]:
        """One result per document, in order; raises the first record's LLM error (the pipeline records it)."""
        outcomes = self.runner.ask_batch(batch)
        raise_first(outcomes)
        return [self._result(doc, out) for doc, out in zip(batch, outcomes, strict=True)]

    def _result(self, doc: Document, outcome: Outcome) -> PathologyExtractLLMResult:
        fields, flags = ground_pathology_proposal(outcome.parsed, doc.text, doc.id, producer=self.runner.producer)
        return PathologyExtractLLMResult(
            name=self.name,
            backend=self.backend,
            fields=PathologyFields.model_validate(fields),
            review=tuple(flags),
            model=self.runner.model,
            prompt_version=self.runner.prompt_version,
        )

    def close(self) -> None:
        """Close the endpoint's connections."""
        self.runner.close()


def _key(name: str, claim: Any) -> str | None:
    """What two answers for one field must agree on (None: not compared)."""
    if isinstance(claim, TNMCategory | StatedStage | Grade):
        return claim.value.lower()
    if isinstance(claim, Margins | VascularInvasion):
        return claim.status
    if isinstance(claim, LymphNodes):
        return f"{claim.involved} of {claim.examined}"
    if isinstance(claim, Receptor):
        return claim.status
    if isinstance(claim, Her2):
        return claim.status or claim.ihc
    if isinstance(claim, Ki67):
        return f"{claim.percent:g}"
    return None


class PathologyExtractHybrid:
    """pathology.extract: rules first and kept; the LLM fills gaps and cross-checks (backend ``hybrid``).

    Keyword options are :class:`medlens.llm.backends.LLMTaskOptions` fields.
    """

    name = "medlens.task.pathology.extract.v1"
    backend = "hybrid"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.pathology.extract",)

    def __init__(self, **options: Any) -> None:
        PathologyExtractRules()  # builds the rules' lexicons and automata now, not on the first record
        self.runner = LLMRunner(TASK, PathologyProposal, parse_options(TASK, options))

    def __call__(self, batch: Sequence[Document]) -> list[PathologyExtractLLMResult]:
        """One result per document, in order."""
        outcomes = self.runner.ask_batch(batch)
        raise_fatal(outcomes)
        return [self._result(doc, out) for doc, out in zip(batch, outcomes, strict=True)]

    def _result(self, doc: Document, outcome: Outcome) -> PathologyExtractLLMResult:
        rules = extract_pathology(doc.text, doc.id)
        flags: list[ReviewFlag] = []
        update: dict[str, Any] = {}
        if outcome.error is not None:
            flags.append(
                ReviewFlag(
                    kind="llm_failed",
                    code=outcome.error.code,
                    field="fields",
                    message="the LLM call failed; rules only",
                )
            )
        else:
            proposed, flags = ground_pathology_proposal(outcome.parsed, doc.text, doc.id, producer=self.runner.producer)
            for name, llm in proposed.items():
                ruled = getattr(rules, name)
                if ruled is None:
                    update[name] = llm
                    flags.append(
                        ReviewFlag(
                            kind="llm_only",
                            code="ML411",
                            field=f"fields.{name}",
                            message="grounded LLM value for a field the rules left empty",
                            llm_value=_key(name, llm) or getattr(llm, "value", None),
                            evidence=llm.evidence,
                        )
                    )
                    continue
                rules_key, llm_key = _key(name, ruled), _key(name, llm)
                if rules_key is not None and llm_key is not None and rules_key != llm_key:
                    flags.append(
                        ReviewFlag(
                            kind="disagreement",
                            code="ML410",
                            field=f"fields.{name}",
                            message="rules and LLM read this field differently; the rules' value is kept",
                            rules_value=rules_key,
                            llm_value=llm_key,
                            evidence=(*ruled.evidence, *llm.evidence),
                        )
                    )
        fields = rules.model_copy(update=update) if update else rules
        return PathologyExtractLLMResult(
            name=self.name,
            backend=self.backend,
            fields=fields,
            review=tuple(flags),
            model=self.runner.model,
            prompt_version=self.runner.prompt_version,
        )

    def close(self) -> None:
        """Close the endpoint's connections."""
        self.runner.close()
