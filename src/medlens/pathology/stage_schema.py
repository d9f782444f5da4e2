"""Result models of ``pathology.stage``: the AJCC 8th edition stage group computed from the extracted pT/pN/pM.

The group is computed by :func:`medlens.guidelines.ajcc.stage` (a deterministic table lookup with a citation);
this payload adds where the inputs came from (evidence spans of the T, N, M, size and extent statements), whether T
was inferred from extent or size (``t_inferred``, ``t_source``) and whether a stated pT is below what the extent
statements establish (``t_below_extent``), and how the computed group compares with the stage the report states.
A disagreement is a review flag, not an error. Decision support for a qualified reader, not for diagnostic use on
its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medlens.core.types import Claim, TaskResult
from medlens.guidelines.schema import Citation

__all__ = ["PathologyStage", "PathologyStageResult", "StageAgreement", "StageStatus", "TSource"]

StageStatus = Literal["staged", "insufficient", "ambiguous", "not_applicable"]
StageAgreement = Literal["agree", "disagree", "not_stated", "undetermined"]
TSource = Literal["stated", "extent", "size", "tumour_features"]


class PathologyStage(Claim):
    """The computed AJCC stage group of one report, with its inputs, citation and the stated-stage comparison.

    ``evidence`` holds the spans of the T, N and M categories (and of the tumour size when T was inferred from it)
    that went into the lookup; ``supported`` is False when no field was used (e.g. an unsupported site).
    """

    site: str | None = Field(default=None, description="AJCC site id used (e.g. 'breast'), None when none maps.")
    site_source: Literal["cancer_type", "specimen"] | None = Field(
        default=None, description="What the site was mapped from: the TCGA cancer type or a specimen's organ."
    )
    tcga_code: str | None = Field(default=None, description="TCGA study abbreviation of the report, when extracted.")
    status: StageStatus = Field(description="staged, insufficient, ambiguous or not_applicable.")
    stage_group: str | None = Field(default=None, description="Computed stage group when status is 'staged'.")
    candidates: tuple[str, ...] = Field(
        default=(), description="Groups still possible when not staged ('no stage group' included), table order."
    )
    missing: tuple[str, ...] = Field(default=(), description="Inputs the group depends on that were not available.")
    classification: str | None = Field(default=None, description="Prefix used by the engine: p, yp, c, yc, rp...")
    t: str | None = Field(default=None, description="T category given to the engine, prefix kept (e.g. 'pT2a').")
    n: str | None = Field(default=None, description="N category given to the engine (e.g. 'pN1mi').")
    m: str | None = Field(default=None, description="M category given to the engine (e.g. 'pM1', 'cM0').")
    t_inferred: bool = Field(
        default=False,
        description="True when T was not stated and was inferred from the stated extent and/or size (a floor).",
    )
    t_source: TSource | None = Field(
        default=None,
        description="Where T came from: 'stated' (pT in the report), 'extent' (extent statements, with size where "
        "the site needs it), 'size' (size band alone) or 'tumour_features' (a site's grid of tumour count, size and "
        "vascular invasion, e.g. liver); None when no T.",
    )
    t_extent: str | None = Field(
        default=None,
        description="T (no prefix) the report's extent statements (and size) establish, also when a pT is stated.",
    )
    t_below_extent: bool = Field(
        default=False,
        description="True when the stated pT is lower than the extent statements establish: a review item.",
    )
    extent_criteria: tuple[str, ...] = Field(
        default=(), description="Ids of the AJCC extent criteria that fired (medlens.guidelines.ajcc_extent)."
    )
    m_assumed: bool = Field(
        default=False, description="True when M was not stated and cM0 was assumed (only with assume_cm0=True)."
    )
    rule: str | None = Field(default=None, description="Engine row id(s) that fired, or the reason code.")
    citation: Citation | None = Field(default=None, description="AJCC manual, chapter and table of the rule.")
    reasons: tuple[str, ...] = Field(default=(), description="Steps taken, with the values used (no report text).")
    stated_stage: str | None = Field(default=None, description="Stage group the report states, as normalised.")
    agreement: StageAgreement = Field(
        description="Stated vs computed: agree, disagree, not_stated (the report states none) or undetermined "
        "(stated, but no single group was computed and the stated one is among the candidates)."
    )


class PathologyStageResult(TaskResult):
    """What ``pathology.stage`` returns for one report."""

    stage: PathologyStage = Field(description="The computed stage and its comparison with the stated stage.")
