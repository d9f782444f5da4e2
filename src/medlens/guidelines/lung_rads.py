"""Lung-RADS v2022 assessment category of a lung cancer screening CT from structured nodules.

Source: American College of Radiology, Lung-RADS v2022, assessment categories table. Size thresholds live in
``lexicon/lung_rads.yaml`` as rows with medlens ids (no ACR wording is reproduced); this module applies them, takes
the most suspicious nodule as the exam category, and applies the exam-level category 0 and 1 conditions, the 4X
upgrade and the S modifier from caller-supplied flags.

Decision support for review by a qualified reader, not for diagnostic use on its own. Not encoded (returned as
``insufficient``): atypical pulmonary cysts, stepped management of stable category 3/4 nodules, growing
ground-glass nodules of 30 mm or more, growing subsegmental airway nodules.

Example:
    >>> exam = LungRadsExam(baseline=True, nodules=(LungRadsNodule(nodule_type="solid", mean_diameter_mm=7.0),))
    >>> lung_rads_category(exam).category
    '3'
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.lexicon import load_yaml_lexicon
from medlens.guidelines.schema import Citation, LexiconHeader

__all__ = [
    "LungRadsCategory",
    "LungRadsExam",
    "LungRadsNodule",
    "LungRadsNoduleResult",
    "LungRadsResult",
    "LungRadsRow",
    "LungRadsTable",
    "NoduleStatus",
    "NoduleType",
    "load_lung_rads_table",
    "lung_rads_category",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_CITATION = Citation(
    guideline="ACR Lung-RADS v2022 (American College of Radiology)", version="v2022", table="assessment categories"
)

LungRadsCategory = Literal["0", "1", "2", "3", "4A", "4B", "4X", "insufficient"]
NoduleStatus = Literal["baseline", "new", "stable", "growing"]
NoduleType = Literal["solid", "part_solid", "ground_glass", "airway_subsegmental", "airway_segmental_or_proximal"]
_RANK: dict[str, int] = {"1": 1, "2": 2, "3": 3, "4A": 4, "4B": 5, "4X": 6}


class LungRadsNodule(BaseModel):
    """One nodule as the radiologist described it."""

    model_config = _FROZEN

    nodule_id: str = Field(default="", description="Free id of the nodule (e.g. 'RUL-1').")
    nodule_type: NoduleType = Field(description="Solid, part-solid, ground-glass (non-solid) or airway nodule.")
    status: NoduleStatus = Field(
        default="baseline",
        description="baseline (first screening exam), new, stable or growing (> 1.5 mm mean diameter in 12 months).",
    )
    mean_diameter_mm: float | None = Field(default=None, gt=0, description="Mean diameter, mm.")
    solid_component_mm: float | None = Field(default=None, ge=0, description="Part-solid: solid component, mm.")
    benign_calcification: bool = Field(
        default=False, description="Complete, central, popcorn or concentric-ring calcification."
    )
    fat_containing: bool = Field(default=False, description="Contains macroscopic fat.")
    juxtapleural_benign_features: bool = Field(
        default=False,
        description="Juxtapleural/perifissural, solid, smooth margins, oval, lentiform or triangular shape.",
    )
    suspicious_features: bool = Field(
        default=False, description="Additional features or findings that increase suspicion (4X upgrade)."
    )


class LungRadsExam(BaseModel):
    """A screening CT: exam-level conditions and its nodules."""

    model_config = _FROZEN

    baseline: bool = Field(description="True for the baseline (first) screening exam.")
    nodules: tuple[LungRadsNodule, ...] = Field(default=(), description="All reported nodules.")
    prior_being_located: bool = Field(default=False, description="Prior chest CT being located for comparison.")
    lungs_not_fully_evaluable: bool = Field(default=False, description="Part or all of the lungs cannot be evaluated.")
    inflammatory_or_infectious: bool = Field(
        default=False, description="Findings suggestive of an inflammatory or infectious process."
    )
    atypical_cyst: bool = Field(default=False, description="Atypical pulmonary cyst present (not encoded).")
    significant_other_finding: bool = Field(
        default=False, description="Clinically significant or potentially significant non-lung-cancer finding (S)."
    )

    @model_validator(mode="after")
    def _status_matches_exam(self) -> LungRadsExam:
        for nodule in self.nodules:
            if self.baseline != (nodule.status == "baseline"):
                raise ValueError(
                    "on a baseline exam every nodule has status 'baseline'; on a follow-up none does "
                    f"(nodule {nodule.nodule_id!r} has {nodule.status!r})"
                )
        return self


class LungRadsRow(BaseModel):
    """One threshold row."""

    model_config = _FROZEN

    id: str = Field(description="Row id, reported as the rule.")
    type: Literal[
        "solid", "part_solid", "ground_glass", "juxtapleural", "airway_subsegmental", "airway_segmental_or_proximal"
    ] = Field(description="Nodule type the row applies to.")
    status: tuple[NoduleStatus, ...] = Field(description="Statuses the row applies to.")
    measure: Literal["mean", "solid", "none"] = Field(description="Size compared: mean diameter or solid component.")
    min: float | None = Field(default=None, description="Inclusive lower bound, mm.")
    max: float | None = Field(default=None, description="Exclusive upper bound, mm.")
    category: Literal["2", "3", "4A", "4B"] = Field(description="Category assigned.")
    note: str = Field(default="", description="Why the row exists when it is a medlens reading.")


class LungRadsTable(BaseModel):
    """Validated content of ``lexicon/lung_rads.yaml``."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    rows: tuple[LungRadsRow, ...] = Field(description="Rows, first match wins within a type.")
    management: dict[Literal["0", "1", "2", "3", "4A", "4B", "4X"], str] = Field(
        default_factory=dict, description="Short paraphrase of the management column, by exam category."
    )


class LungRadsNoduleResult(BaseModel):
    """Category of one nodule."""

    model_config = _FROZEN

    nodule_id: str = Field(description="The nodule's id.")
    category: LungRadsCategory = Field(description="Nodule category (before 4X), or insufficient.")
    rule: str = Field(description="Row id or rule that decided.")
    reasons: tuple[str, ...] = Field(description="Steps, with the numbers used.")


class LungRadsResult(BaseModel):
    """Lung-RADS v2022 exam category (decision support, to be confirmed by a reader)."""

    model_config = _FROZEN

    category: LungRadsCategory = Field(description="Exam category, or insufficient.")
    s_modifier: bool = Field(description="S modifier requested by the caller.")
    label: str = Field(description="Category as reported, e.g. '4A S'.")
    rule: str = Field(description="Rule that decided the exam category.")
    nodules: tuple[LungRadsNoduleResult, ...] = Field(description="Per-nodule results.")
    citation: Citation = Field(description="Guideline, version, table.")
    reasons: tuple[str, ...] = Field(description="Steps.")
    management: str | None = Field(
        default=None, description="Paraphrase of the table's management for the category; None when insufficient."
    )


@functools.cache
def load_lung_rads_table() -> LungRadsTable:
    """Load and validate the packaged Lung-RADS v2022 thresholds (cached).

    Raises:
        ConfigError: ML205 if the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.guidelines", "lung_rads.yaml", LungRadsTable)


def _one_decimal(value: float) -> Decimal:
    # v2022: mean diameter reported to one decimal place.
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _row_matches(row: LungRadsRow, nodule: LungRadsNodule, sizes: dict[str, Decimal | None]) -> bool | None:
    """True/False, or None when the row needs a size the nodule lacks."""
    if nodule.status not in row.status:
        return False
    if row.measure == "none":
        return True
    size = sizes[row.measure]
    if size is None:
        return None
    if row.min is not None and size < Decimal(str(row.min)):
        return False
    return not (row.max is not None and size >= Decimal(str(row.max)))


def _nodule_category(nodule: LungRadsNodule, table: LungRadsTable) -> LungRadsNoduleResult:
    reasons: list[str] = []

    def out(category: LungRadsCategory, rule: str) -> LungRadsNoduleResult:
        return LungRadsNoduleResult(nodule_id=nodule.nodule_id, category=category, rule=rule, reasons=tuple(reasons))

    if nodule.benign_calcification or nodule.fat_containing:
        reasons.append("benign calcification pattern or macroscopic fat: category 1")
        return out("1", "benign_features")
    sizes: dict[str, Decimal | None] = {
        "mean": _one_decimal(nodule.mean_diameter_mm) if nodule.mean_diameter_mm is not None else None,
        "solid": _one_decimal(nodule.solid_component_mm) if nodule.solid_component_mm is not None else None,
    }
    types: list[str] = [nodule.nodule_type]
    if nodule.juxtapleural_benign_features and nodule.nodule_type == "solid":
        types.insert(0, "juxtapleural")
    for row_type in types:
        for row in table.rows:
            if row.type != row_type:
                continue
            matched = _row_matches(row, nodule, sizes)
            if matched is None:
                # A row earlier in the order needs a size we lack: a later row must not decide in its place.
                reasons.append(f"{nodule.nodule_type} nodule lacks the {row.measure} size row {row.id} needs")
                return out("insufficient", "insufficient.size_missing")
            if matched:
                size = sizes.get(row.measure) if row.measure != "none" else None
                reasons.append(
                    f"{row.type}, {nodule.status}"
                    + (f", {row.measure} {size} mm" if size is not None else "")
                    + f": row {row.id} -> {row.category}"
                    + (f" ({row.note})" if row.note else "")
                )
                return out(row.category, row.id)
    reasons.append(f"{nodule.nodule_type}, {nodule.status}: no encoded row (see CARD.md, not encoded)")
    return out("insufficient", "insufficient.not_encoded")


def lung_rads_category(exam: LungRadsExam) -> LungRadsResult:
    """Lung-RADS v2022 category of one screening CT.

    Args:
        exam: Exam-level flags and every reported nodule.

    Returns:
        The frozen result. The exam category is the highest nodule category; 4X applies when a category 3 or 4
        nodule has suspicious features; ``insufficient`` when any nodule cannot be categorised with the encoded rows.
    """
    table = load_lung_rads_table()
    reasons: list[str] = []
    nodules = tuple(_nodule_category(n, table) for n in exam.nodules)

    def result(category: LungRadsCategory, rule: str) -> LungRadsResult:
        s = exam.significant_other_finding and category != "insufficient"
        return LungRadsResult(
            category=category,
            s_modifier=s,
            label=f"{category} S" if s else category,
            rule=rule,
            nodules=nodules,
            citation=_CITATION,
            reasons=tuple(reasons),
            management=table.management.get(category) if category != "insufficient" else None,
        )

    if exam.prior_being_located or exam.lungs_not_fully_evaluable or exam.inflammatory_or_infectious:
        reasons.append("incomplete exam: prior being located, lungs not fully evaluable or inflammatory/infectious")
        return result("0", "exam.incomplete")
    if exam.atypical_cyst:
        reasons.append("atypical pulmonary cyst: not encoded")
        return result("insufficient", "insufficient.not_encoded_cyst")
    if not nodules:
        reasons.append("no lung nodules: category 1")
        return result("1", "exam.no_nodules")
    insufficient = [n for n in nodules if n.category == "insufficient"]
    if insufficient:
        reasons.append(f"{len(insufficient)} nodule(s) could not be categorised")
        return result("insufficient", insufficient[0].rule)
    worst_index = max(range(len(nodules)), key=lambda i: _RANK[nodules[i].category])
    worst = nodules[worst_index]
    category: LungRadsCategory = worst.category
    rule = worst.rule
    reasons.append(f"highest nodule category {category} (row {rule})")
    suspicious = [
        n
        for n, r in zip(exam.nodules, nodules, strict=True)
        if n.suspicious_features and r.category in ("3", "4A", "4B")
    ]
    if suspicious:
        reasons.append("category 3 or 4 nodule with additional suspicious features: 4X")
        category, rule = "4X", "exam.4X"
    elif any(n.suspicious_features for n in exam.nodules):
        reasons.append("suspicious features flagged on a nodule below category 3: 4X applies only to 3 or 4")
    return result(category, rule)
