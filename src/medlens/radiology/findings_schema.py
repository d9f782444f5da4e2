"""Result models of ``radiology.findings``: lesions (nodules, masses, cysts...) and other measured structures.

Every attribute is a claim of its own with the span it was read from, so a reviewer sees which words set the size,
the lobe, the composition or the change. Sizes are in millimetres whatever the report wrote (``1.2 cm`` -> 12 mm).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medlens.core.types import Assertion, Claim, TaskResult
from medlens.radiology.schema import ReportSectionRole

__all__ = [
    "CHANGE_VALUES",
    "ChangeValue",
    "Dimension",
    "Lesion",
    "LesionAttribute",
    "LesionChange",
    "LesionLocation",
    "MeanDiameterMethod",
    "Measurement",
    "RadiologyFindingsResult",
]

ChangeValue = Literal["new", "stable", "increased", "decreased", "resolved"]
CHANGE_VALUES: tuple[ChangeValue, ...] = ("new", "stable", "increased", "decreased", "resolved")

# How mean_diameter_mm was computed. Lung-RADS v2022 and Fleischner 2017 both define the mean diameter of a nodule
# as the average of its long and short axis (measured on the same image); a report rarely says which written
# dimension is which, so the larger two written dimensions stand for long and short axis.
MeanDiameterMethod = Literal["single_dimension", "mean_long_short_axis", "mean_two_largest_of_three"]


class Dimension(Claim):
    """One written dimension of a size, in millimetres, with the words that state it."""

    value_mm: float = Field(gt=0, description="The dimension in millimetres (cm x 10).")
    value: float = Field(gt=0, description="The number as written.")
    unit: Literal["mm", "cm"] = Field(description="UCUM code of the unit as written (or shared: '8 x 6 mm').")


class LesionAttribute(Claim):
    """A normalised descriptor (composition, margin) and the words that state it."""

    value: str = Field(description="Normalised value, e.g. 'part_solid', 'spiculated'.")


class LesionLocation(Claim):
    """Where a lesion lies, from the location words near it. Unstated parts are None."""

    lobe: Literal["RUL", "RML", "RLL", "LUL", "LLL", "lingula"] | None = Field(
        default=None, description="Lung lobe (lingula for the lingular segments of the left upper lobe)."
    )
    segment: str | None = Field(default=None, description="Lung segment as named, e.g. 'superior', 'lateral basal'.")
    laterality: Literal["left", "right", "bilateral"] | None = Field(default=None, description="Side.")
    organ: str | None = Field(default=None, description="Organ named, e.g. 'lung', 'liver', 'kidney'.")


class LesionChange(Claim):
    """Change versus a prior exam as the report states it, with the prior size and date when written."""

    value: ChangeValue = Field(description="new, stable, increased, decreased or resolved.")
    prior_sizes: tuple[Dimension, ...] = Field(default=(), description="Prior dimensions, mm, when stated.")
    prior_mean_diameter_mm: float | None = Field(
        default=None, description="Mean diameter of the prior size (same method as the lesion's), mm."
    )
    prior_date: str | None = Field(default=None, description="ISO 8601 date of the prior exam, when stated.")
    prior_date_text: str | None = Field(default=None, description="The prior date as written.")


class Lesion(Claim):
    """One lesion statement (or a group: 'multiple nodules, largest 7 mm') of a report.

    ``evidence`` holds the lesion word and, when wider, the whole phrase the attributes were read from. Negated
    statements ("no suspicious nodules") are kept with ``assertion.negated`` set, so a reader can tell "not seen"
    from "not mentioned".
    """

    kind: str = Field(description="nodule, mass, lesion, cyst, granuloma, tumor or metastasis (lexicon 'kind').")
    text: str = Field(description="The lesion word as written, e.g. 'nodules'.")
    count: int | None = Field(default=None, ge=1, description="Number of lesions when written ('two nodules').")
    multiple: bool = Field(default=False, description="More than one lesion (plural or 'multiple', 'several').")
    sizes: tuple[Dimension, ...] = Field(default=(), description="1-3 written dimensions, mm, in written order.")
    size_of: Literal["lesion", "largest"] | None = Field(
        default=None, description="'largest' when the size is that of the largest of several ('largest 7 mm')."
    )
    mean_diameter_mm: float | None = Field(
        default=None, description="Mean diameter, mm, rounded to 0.1 mm (Lung-RADS v2022); see mean_diameter_method."
    )
    mean_diameter_method: MeanDiameterMethod | None = Field(
        default=None,
        description="single_dimension (the one size written), mean_long_short_axis (average of the two written "
        "dimensions, Lung-RADS v2022 / Fleischner 2017), or mean_two_largest_of_three (three written: the two "
        "largest taken as long and short axis).",
    )
    location: LesionLocation | None = Field(default=None, description="Lobe, segment, laterality and organ.")
    composition: tuple[LesionAttribute, ...] = Field(
        default=(),
        description="solid, part_solid, subsolid, ground_glass, calcified, partially_calcified, "
        "noncalcified, indeterminate_calcification, fat_containing, cystic.",
    )
    solid_component: Dimension | None = Field(default=None, description="Part-solid: size of the solid component.")
    margins: tuple[LesionAttribute, ...] = Field(
        default=(), description="smooth, circumscribed, lobulated, irregular, spiculated, ill_defined."
    )
    change: LesionChange | None = Field(default=None, description="Change versus prior, when stated.")
    assertion: Assertion = Field(default_factory=Assertion, description="ConText assertion of the lesion word.")
    section: ReportSectionRole = Field(description="Report section: findings, impression or body.")


class Measurement(Claim):
    """A size written in the findings that belongs to no lesion ('the aorta measures 4.2 cm')."""

    structure: str = Field(description="The words before the size that name what was measured, as written.")
    sizes: tuple[Dimension, ...] = Field(description="1-3 dimensions, mm.")
    section: ReportSectionRole = Field(description="Report section: findings, impression or body.")


class RadiologyFindingsResult(TaskResult):
    """What ``radiology.findings`` returns for one report."""

    lesions: tuple[Lesion, ...] = Field(default=(), description="Lesion statements in text order.")
    measurements: tuple[Measurement, ...] = Field(default=(), description="Other measured structures in text order.")
