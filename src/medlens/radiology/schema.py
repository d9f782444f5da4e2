"""Result models of ``radiology.labels`` (what the task returns; also the JSON schema an LLM backend is held to)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medlens.core.types import Assertion, Claim, TaskResult

__all__ = [
    "LABEL_STATUSES",
    "Label",
    "LabelStatus",
    "RadiologyLabelsResult",
    "ReportSectionRole",
]

LabelStatus = Literal["positive", "negative", "uncertain", "not_mentioned"]
LABEL_STATUSES: tuple[LabelStatus, ...] = ("positive", "negative", "uncertain", "not_mentioned")

# Where in a report a mention sits (medlens.radiology.report_sections): only findings, impression and body (text
# before any header, or a report without headers) produce labels.
ReportSectionRole = Literal["findings", "impression", "body", "indication", "comparison", "technique", "exam", "other"]


class Label(Claim):
    """One observation of the label set (e.g. CheXpert's 14) and its status in one report.

    ``evidence`` holds the mention spans that decided the status (and, where the impression overrode the findings,
    the overridden findings spans too; each span's ``explanation`` says which). A ``not_mentioned`` label has no
    evidence and ``supported=False``; so has a ``positive`` "No Finding" that no explicit normal statement or
    negative mention supports.
    """

    name: str = Field(description="Observation name as in the label set, e.g. 'Pleural Effusion'.")
    status: LabelStatus = Field(
        description="positive, negative, uncertain or not_mentioned (CheXpert 1, 0, -1, blank)."
    )
    assertion: Assertion | None = Field(
        default=None, description="ConText assertion of the deciding mention, with the cues that set it."
    )
    section: ReportSectionRole | None = Field(
        default=None, description="Report section of the deciding mention: findings, impression or body."
    )
    precedence: Literal["impression"] | None = Field(
        default=None,
        description="'impression' when the impression and the findings disagreed and the impression decided.",
    )
    overridden_status: LabelStatus | None = Field(
        default=None, description="With precedence: the status the findings section alone would have given."
    )
    derived_from: tuple[str, ...] = Field(
        default=(),
        description="Labels this status was derived from rather than read directly: the children of a parent "
        "(Lung Opacity from Consolidation), the labels that decide No Finding, or the label whose mention implies "
        "this one (Cardiomegaly uncertain from 'CHF').",
    )


class RadiologyLabelsResult(TaskResult):
    """What ``radiology.labels`` returns for one report: every label of the set, in the set's order."""

    labelset: str = Field(description="Label set (lexicon) used, e.g. 'chexpert'.")
    labels: tuple[Label, ...] = Field(default=(), description="One entry per label of the set, in its order.")

    def status_of(self, name: str) -> LabelStatus:
        """Status of the label called ``name`` (``not_mentioned`` when the set has no such label)."""
        for label in self.labels:
            if label.name == name:
                return label.status
        return "not_mentioned"
