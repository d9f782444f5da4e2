"""Fleischner Society 2017 recommendation for an incidental pulmonary nodule on CT (Table 1).

Source: MacMahon H, et al. Guidelines for Management of Incidental Pulmonary Nodules Detected on CT Images: From the
Fleischner Society 2017. Radiology 2017;284:228-243, Table 1. The cells live in ``lexicon/fleischner.yaml`` with
medlens's own short wording.

Decision support for review by a qualified reader, not for diagnostic use on its own. The guideline does not apply
to lung cancer screening, patients younger than 35, immunocompromised patients or patients with a known primary
cancer; the engine returns ``not_applicable`` for those rather than a recommendation.

Example:
    >>> fleischner_recommendation(FleischnerInput(nodule_type="solid", mean_diameter_mm=7, risk="low")).rule
    'A.single.6to8.low'
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.lexicon import load_yaml_lexicon
from medlens.guidelines.schema import Citation, LexiconHeader

__all__ = [
    "FleischnerCell",
    "FleischnerInput",
    "FleischnerResult",
    "FleischnerTable",
    "fleischner_recommendation",
    "load_fleischner_table",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_GUIDELINE = "Fleischner Society 2017 (MacMahon H, et al. Radiology 2017;284:228-243)"

NoduleType = Literal["solid", "part_solid", "ground_glass"]
FleischnerCategory = Literal["recommendation", "not_applicable", "insufficient"]


class FleischnerInput(BaseModel):
    """A CT-detected incidental nodule (the dominant one when several) and the patient facts Table 1 needs."""

    model_config = _FROZEN

    nodule_type: NoduleType = Field(description="Solid, part-solid or ground-glass (pure non-solid).")
    mean_diameter_mm: float | None = Field(
        default=None, gt=0, description="Average of long and short axis in mm; computed from the axes if absent."
    )
    long_axis_mm: float | None = Field(default=None, gt=0, description="Long axis, mm.")
    short_axis_mm: float | None = Field(default=None, gt=0, description="Short (perpendicular) axis, mm.")
    solid_component_mm: float | None = Field(default=None, ge=0, description="Part-solid: solid component, mm.")
    multiple: bool = Field(default=False, description="More than one nodule.")
    risk: Literal["low", "high"] | None = Field(
        default=None, description="Patient lung cancer risk (needed for solid nodules only)."
    )
    age_years: int | None = Field(default=None, ge=0, description="Patient age in years.")
    known_cancer: bool = Field(default=False, description="Known primary cancer (staging / metastasis work-up).")
    immunocompromised: bool = Field(default=False, description="Immunocompromised patient (infection risk).")
    screening: bool = Field(default=False, description="Found in lung cancer screening (use Lung-RADS instead).")

    @model_validator(mode="after")
    def _axes_consistent(self) -> FleischnerInput:
        if (self.long_axis_mm is None) != (self.short_axis_mm is None):
            raise ValueError("give both long_axis_mm and short_axis_mm, or neither")
        if self.long_axis_mm is not None and self.short_axis_mm is not None and self.short_axis_mm > self.long_axis_mm:
            raise ValueError("short_axis_mm is larger than long_axis_mm")
        return self


class FleischnerCell(BaseModel):
    """One cell of Table 1."""

    model_config = _FROZEN

    id: str = Field(description="Cell id, reported as the rule.")
    type: Literal["solid", "part_solid", "ground_glass", "subsolid"] = Field(description="Nodule type.")
    multiplicity: Literal["single", "multiple"] = Field(description="Single or multiple nodules.")
    size: Literal["lt6", "6to8", "gt8", "ge6"] = Field(description="Size band (rounded mean diameter).")
    risk: Literal["low", "high", "any"] = Field(description="Patient risk the cell applies to.")
    follow_up: Literal["none", "optional", "ct", "workup"] = Field(description="Kind of action.")
    recommendation: str = Field(description="medlens's short paraphrase of the cell.")


class FleischnerTable(BaseModel):
    """Validated content of ``lexicon/fleischner.yaml``."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    min_age_years: int = Field(description="Guideline applies from this age.")
    part_solid_suspicious_solid_component_mm: int = Field(description="Solid part size flagged as highly suspicious.")
    cells: tuple[FleischnerCell, ...] = Field(description="Table 1 cells.")


class FleischnerResult(BaseModel):
    """Fleischner 2017 recommendation (decision support, to be confirmed by a reader)."""

    model_config = _FROZEN

    category: FleischnerCategory = Field(description="recommendation, not_applicable or insufficient.")
    rule: str = Field(description="Table 1 cell id, or the exclusion / insufficiency rule.")
    recommendation: str | None = Field(
        description="Short paraphrase of the cell; None unless category is recommendation."
    )
    follow_up: Literal["none", "optional", "ct", "workup"] | None = Field(description="Kind of action.")
    size_mm: int | None = Field(description="Mean diameter rounded to the nearest mm, as the table uses.")
    citation: Citation = Field(description="Guideline, version, table.")
    reasons: tuple[str, ...] = Field(description="Steps, with the numbers used.")


@functools.cache
def load_fleischner_table() -> FleischnerTable:
    """Load and validate the packaged Fleischner 2017 Table 1 (cached).

    Raises:
        ConfigError: ML205 if the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.guidelines", "fleischner.yaml", FleischnerTable)


def _size_band(size: int, nodule_type: NoduleType) -> Literal["lt6", "6to8", "gt8", "ge6"]:
    if size < 6:
        return "lt6"
    if nodule_type != "solid":
        return "ge6"
    return "6to8" if size <= 8 else "gt8"


def fleischner_recommendation(nodule: FleischnerInput) -> FleischnerResult:
    """Fleischner 2017 Table 1 recommendation for one incidental nodule.

    Args:
        nodule: The nodule (the most suspicious one when ``multiple``) and patient facts.

    Returns:
        The frozen result: ``category`` is ``recommendation`` with the cell, ``not_applicable`` for the guideline's
        exclusions, or ``insufficient`` when a needed input is missing.
    """
    table = load_fleischner_table()
    reasons: list[str] = []

    def result(
        category: FleischnerCategory, rule: str, cell: FleischnerCell | None = None, size: int | None = None
    ) -> FleischnerResult:
        return FleischnerResult(
            category=category,
            rule=rule,
            recommendation=cell.recommendation if cell else None,
            follow_up=cell.follow_up if cell else None,
            size_mm=size,
            citation=Citation(guideline=_GUIDELINE, version="2017", table="Table 1"),
            reasons=tuple(reasons),
        )

    # Table 1 notes: the guideline is not for these patients.
    exclusions = [
        (nodule.screening, "exclusion.screening", "found in lung cancer screening (Lung-RADS applies)"),
        (
            nodule.age_years is not None and nodule.age_years < table.min_age_years,
            "exclusion.age",
            f"patient younger than {table.min_age_years} years",
        ),
        (nodule.known_cancer, "exclusion.known_cancer", "known primary cancer"),
        (nodule.immunocompromised, "exclusion.immunocompromised", "immunocompromised patient"),
    ]
    for applies, rule, why in exclusions:
        if applies:
            reasons.append(f"Fleischner 2017 does not apply: {why}")
            return result("not_applicable", rule)
    if nodule.age_years is None:
        reasons.append(f"age not given: the guideline applies only from {table.min_age_years} years; check it")

    mean = nodule.mean_diameter_mm
    if mean is None and nodule.long_axis_mm is not None and nodule.short_axis_mm is not None:
        mean = (nodule.long_axis_mm + nodule.short_axis_mm) / 2
        reasons.append(f"mean diameter ({nodule.long_axis_mm} + {nodule.short_axis_mm}) / 2 = {mean} mm")
    if mean is None:
        reasons.append("no nodule size given")
        return result("insufficient", "insufficient.size_missing")
    size = int(Decimal(str(mean)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    reasons.append(f"size {mean} mm rounded to {size} mm (Table 1 note: nearest millimetre)")
    band = _size_band(size, nodule.nodule_type)
    multiplicity = "multiple" if nodule.multiple else "single"
    wanted_type: str
    wanted_risk: str
    if nodule.nodule_type == "solid":
        if nodule.risk is None:
            reasons.append("solid nodule: patient risk (low/high) is needed")
            return result("insufficient", "insufficient.risk_missing", size=size)
        wanted_type, wanted_risk = "solid", nodule.risk
    else:
        wanted_type = "subsolid" if nodule.multiple else nodule.nodule_type
        wanted_risk = "any"
    for cell in table.cells:
        if (cell.type, cell.multiplicity, cell.size, cell.risk) == (wanted_type, multiplicity, band, wanted_risk):
            reasons.append(f"Table 1 cell {cell.id}: {wanted_type}, {multiplicity}, {band}, risk {wanted_risk}")
            if (
                nodule.nodule_type == "part_solid"
                and nodule.solid_component_mm is not None
                and nodule.solid_component_mm >= table.part_solid_suspicious_solid_component_mm
            ):
                reasons.append(
                    f"solid component {nodule.solid_component_mm} mm"
                    f" >= {table.part_solid_suspicious_solid_component_mm} mm:"
                    " highly suspicious if it persists (Table 1 note)"
                )
            return result("recommendation", cell.id, cell, size)
    reasons.append("no Table 1 cell encoded for this combination")  # unreachable with the packaged table
    return result("insufficient", "insufficient.not_encoded", size=size)
