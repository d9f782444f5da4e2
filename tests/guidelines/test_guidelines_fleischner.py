"""Fleischner Society 2017, Table 1: one row per cell, plus size rounding, exclusions and insufficient input."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from medlens.guidelines.fleischner import FleischnerInput, fleischner_recommendation, load_fleischner_table


@pytest.mark.parametrize(
    ("nodule_type", "size", "multiple", "risk", "rule", "follow_up"),
    [
        # A. solid, single
        ("solid", 4.0, False, "low", "A.single.lt6.low", "none"),
        ("solid", 4.0, False, "high", "A.single.lt6.high", "optional"),
        ("solid", 7.0, False, "low", "A.single.6to8.low", "ct"),
        ("solid", 7.0, False, "high", "A.single.6to8.high", "ct"),
        ("solid", 10.0, False, "low", "A.single.gt8.low", "workup"),
        ("solid", 10.0, False, "high", "A.single.gt8.high", "workup"),
        # A. solid, multiple
        ("solid", 4.0, True, "low", "A.multiple.lt6.low", "none"),
        ("solid", 4.0, True, "high", "A.multiple.lt6.high", "optional"),
        ("solid", 7.0, True, "low", "A.multiple.6to8.low", "ct"),
        ("solid", 7.0, True, "high", "A.multiple.6to8.high", "ct"),
        ("solid", 10.0, True, "low", "A.multiple.gt8.low", "ct"),
        ("solid", 10.0, True, "high", "A.multiple.gt8.high", "ct"),
        # B. subsolid (risk does not matter)
        ("ground_glass", 4.0, False, None, "B.single.ggn.lt6", "none"),
        ("ground_glass", 8.0, False, "high", "B.single.ggn.ge6", "ct"),
        ("part_solid", 4.0, False, None, "B.single.part_solid.lt6", "none"),
        ("part_solid", 8.0, False, "low", "B.single.part_solid.ge6", "ct"),
        ("part_solid", 4.0, True, None, "B.multiple.lt6", "ct"),
        ("ground_glass", 9.0, True, None, "B.multiple.ge6", "ct"),
    ],
)
def test_table1_cell(
    nodule_type: str, size: float, multiple: bool, risk: str | None, rule: str, follow_up: str
) -> None:
    res = fleischner_recommendation(
        FleischnerInput(
            nodule_type=nodule_type,  # type: ignore[arg-type]
            mean_diameter_mm=size,
            multiple=multiple,
            risk=risk,  # type: ignore[arg-type]
            age_years=60,
        )
    )
    assert (res.category, res.rule, res.follow_up) == ("recommendation", rule, follow_up)
    assert res.recommendation
    assert res.citation.table == "Table 1"


@pytest.mark.parametrize(
    ("size", "band_rule"),
    [
        (5.4, "A.single.lt6.low"),
        (5.5, "A.single.6to8.low"),  # rounds to 6 mm
        (8.0, "A.single.6to8.low"),
        (8.4, "A.single.6to8.low"),  # rounds to 8 mm
        (8.5, "A.single.gt8.low"),  # rounds to 9 mm
    ],
)
def test_size_rounded_to_nearest_mm_before_banding(size: float, band_rule: str) -> None:
    res = fleischner_recommendation(FleischnerInput(nodule_type="solid", mean_diameter_mm=size, risk="low"))
    assert res.rule == band_rule


def test_mean_diameter_from_long_and_short_axis() -> None:
    res = fleischner_recommendation(
        FleischnerInput(nodule_type="solid", long_axis_mm=9.0, short_axis_mm=5.0, risk="high", age_years=50)
    )
    assert (res.size_mm, res.rule) == (7, "A.single.6to8.high")


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"age_years": 34}, "exclusion.age"),
        ({"known_cancer": True}, "exclusion.known_cancer"),
        ({"immunocompromised": True}, "exclusion.immunocompromised"),
        ({"screening": True}, "exclusion.screening"),
    ],
)
def test_exclusions_are_not_applicable(kwargs: dict[str, object], rule: str) -> None:
    nodule = FleischnerInput.model_validate({"nodule_type": "solid", "mean_diameter_mm": 7.0, "risk": "low", **kwargs})
    res = fleischner_recommendation(nodule)
    assert (res.category, res.rule, res.recommendation) == ("not_applicable", rule, None)


def test_age_35_is_applicable() -> None:
    res = fleischner_recommendation(
        FleischnerInput(nodule_type="solid", mean_diameter_mm=7.0, risk="low", age_years=35)
    )
    assert res.category == "recommendation"


def test_missing_age_is_flagged_in_reasons() -> None:
    res = fleischner_recommendation(FleischnerInput(nodule_type="solid", mean_diameter_mm=7.0, risk="low"))
    assert any("age not given" in r for r in res.reasons)


def test_solid_without_risk_is_insufficient() -> None:
    res = fleischner_recommendation(FleischnerInput(nodule_type="solid", mean_diameter_mm=7.0))
    assert (res.category, res.rule) == ("insufficient", "insufficient.risk_missing")


def test_missing_size_is_insufficient() -> None:
    res = fleischner_recommendation(FleischnerInput(nodule_type="ground_glass"))
    assert (res.category, res.rule) == ("insufficient", "insufficient.size_missing")


def test_part_solid_with_large_solid_component_is_flagged() -> None:
    res = fleischner_recommendation(
        FleischnerInput(nodule_type="part_solid", mean_diameter_mm=12.0, solid_component_mm=6.0)
    )
    assert any("highly suspicious" in r for r in res.reasons)


def test_only_one_axis_is_rejected() -> None:
    with pytest.raises(ValidationError):
        FleischnerInput(nodule_type="solid", long_axis_mm=5.0)


def test_every_packaged_cell_is_reachable_once() -> None:
    keys = [(c.type, c.multiplicity, c.size, c.risk) for c in load_fleischner_table().cells]
    assert len(keys) == len(set(keys)) == 18
