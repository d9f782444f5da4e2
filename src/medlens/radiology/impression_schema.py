"""Result models of ``radiology.impression``: a draft impression whose every sentence cites the spans it copies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medlens.core.types import Claim, Evidence, TaskResult
from medlens.guidelines.schema import Citation

__all__ = [
    "GuidelineNote",
    "ImpressionSentence",
    "ImpressionSentenceKind",
    "ImpressionSource",
    "RadiologyImpressionResult",
]

ImpressionSentenceKind = Literal["extractive", "template", "guideline"]
ImpressionSource = Literal["findings", "body", "none"]


class ImpressionSentence(Claim):
    """One sentence of a drafted impression.

    An ``extractive`` sentence is the findings text it was built from, copied (clauses trimmed, whitespace collapsed,
    first letter capitalised, a final period added): ``evidence`` holds exactly the copied spans, so every word of
    ``text`` appears in them. A ``template`` sentence is the fixed normal sentence of ``lexicon/impression.yaml``;
    its ``evidence`` holds the negative mentions and normal statements it summarises (``supported=False`` and no
    evidence when there are none, which the task never emits). A ``guideline`` sentence states a guideline engine's
    category and management (``guidelines`` holds the full note); its ``evidence`` is the lesion text the engine read.
    It states no finding: the findings it rests on are in the sentences before it.
    """

    text: str = Field(description="The sentence as it appears in the draft impression.")
    kind: ImpressionSentenceKind = Field(description="'extractive' (copied from the findings) or 'template'.")
    rank: int = Field(ge=1, description="Position in the impression, 1 = first (most urgent by the priority list).")
    labels: tuple[str, ...] = Field(
        default=(), description="Labels (and 'other:<id>' findings) this sentence reports, most urgent first."
    )
    statuses: tuple[str, ...] = Field(
        default=(), description="Status of each entry of ``labels`` in the findings: positive or uncertain."
    )
    label_evidence: tuple[Evidence, ...] = Field(
        default=(), description="The label mentions (from radiology.labels) inside the copied spans."
    )


class GuidelineNote(Claim):
    """What a guideline engine made of the report's lung nodules (decision support for a reader, never a diagnosis).

    ``evidence`` holds the lesion spans (lesion word, sizes, composition, change) the engine input was built from.
    """

    guideline: Literal["lung_rads_v2022", "fleischner_2017"] = Field(description="Which engine.")
    status: Literal["recommendation", "insufficient", "not_applicable"] = Field(
        description="recommendation (category and management), insufficient (input the report leaves open, see "
        "reasons) or not_applicable (the guideline excludes this case)."
    )
    rule: str = Field(description="Table row / cell id, or the insufficiency or exclusion rule.")
    category: str | None = Field(default=None, description="Lung-RADS category label or Fleischner Table 1 cell.")
    recommendation: str | None = Field(default=None, description="Paraphrase of the table's management.")
    citation: Citation | None = Field(default=None, description="Guideline, version, table.")
    reasons: tuple[str, ...] = Field(default=(), description="Steps, with the numbers used.")


class RadiologyImpressionResult(TaskResult):
    """What ``radiology.impression`` returns for one report."""

    sentences: tuple[ImpressionSentence, ...] = Field(default=(), description="The draft impression, in order.")
    normal: bool = Field(
        description="True when the findings state no abnormality (No Finding positive in the findings alone)."
    )
    source_section: ImpressionSource = Field(
        description="Where the sentences were read: the FINDINGS section, the un-sectioned body, or none found."
    )
    guidelines: tuple[GuidelineNote, ...] = Field(
        default=(), description="Guideline engine notes on the lung nodules of the source section."
    )

    @property
    def text(self) -> str:
        """The impression as one string (sentences joined by a space)."""
        return " ".join(s.text for s in self.sentences)
