"""Lung-RADS v2022 assessment categories: one row per size band / status line, plus exam-level rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from medlens.guidelines.lung_rads import LungRadsExam, LungRadsNodule, load_lung_rads_table, lung_rads_category


def _exam(
    nodule_type: str, status: str, mean: float | None = None, solid: float | None = None, **flags: bool
) -> LungRadsExam:
    nodule = LungRadsNodule(
        nodule_type=nodule_type,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        mean_diameter_mm=mean,
        solid_component_mm=solid,
        **flags,
    )
    return LungRadsExam(baseline=status == "baseline", nodules=(nodule,))


@pytest.mark.parametrize(
    ("nodule_type", "status", "mean", "solid", "category", "rule"),
    [
        # solid, baseline
        ("solid", "baseline", 5.9, None, "2", "S.baseline.lt6"),
        ("solid", "baseline", 6.0, None, "3", "S.baseline.6to8"),
        ("solid", "baseline", 7.9, None, "3", "S.baseline.6to8"),
        ("solid", "baseline", 8.0, None, "4A", "S.baseline.8to15"),
        ("solid", "baseline", 14.9, None, "4A", "S.baseline.8to15"),
        ("solid", "baseline", 15.0, None, "4B", "S.baseline.ge15"),
        # solid, new
        ("solid", "new", 3.9, None, "2", "S.new.lt4"),
        ("solid", "new", 4.0, None, "3", "S.new.4to6"),
        ("solid", "new", 6.0, None, "4A", "S.new.6to8"),
        ("solid", "new", 8.0, None, "4B", "S.new.ge8"),
        # solid, growing
        ("solid", "growing", 7.9, None, "4A", "S.growing.lt8"),
        ("solid", "growing", 8.0, None, "4B", "S.growing.ge8"),
        ("solid", "stable", 5.0, None, "2", "S.stable.lt6"),
        # part-solid, baseline
        ("part_solid", "baseline", 5.9, 2.0, "2", "P.baseline.lt6"),
        ("part_solid", "baseline", 10.0, 5.9, "3", "P.baseline.solid_lt6"),
        ("part_solid", "baseline", 10.0, 6.0, "4A", "P.baseline.solid_6to8"),
        ("part_solid", "baseline", 12.0, 8.0, "4B", "P.baseline.solid_ge8"),
        # part-solid, new / growing
        ("part_solid", "new", 5.9, 3.0, "3", "P.new.lt6"),
        ("part_solid", "new", 9.0, 3.9, "4A", "P.new_growing.solid_lt4"),
        ("part_solid", "growing", 9.0, 3.0, "4A", "P.new_growing.solid_lt4"),
        ("part_solid", "new", 9.0, 4.0, "4B", "P.new_growing.solid_ge4"),
        ("part_solid", "growing", 9.0, 5.0, "4B", "P.new_growing.solid_ge4"),
        ("part_solid", "stable", 5.0, 2.0, "2", "P.stable.lt6"),
        # ground-glass
        ("ground_glass", "baseline", 29.9, None, "2", "G.lt30"),
        ("ground_glass", "new", 12.0, None, "2", "G.lt30"),
        ("ground_glass", "growing", 20.0, None, "2", "G.lt30"),
        ("ground_glass", "stable", 20.0, None, "2", "G.stable.lt30"),
        ("ground_glass", "stable", 35.0, None, "2", "G.stable.ge30"),
        ("ground_glass", "baseline", 30.0, None, "3", "G.baseline_new.ge30"),
        ("ground_glass", "new", 31.0, None, "3", "G.baseline_new.ge30"),
        # airway
        ("airway_subsegmental", "baseline", None, None, "2", "A.subsegmental"),
        ("airway_subsegmental", "stable", None, None, "2", "A.subsegmental"),
        ("airway_segmental_or_proximal", "baseline", None, None, "4A", "A.segmental.baseline_new"),
        ("airway_segmental_or_proximal", "new", None, None, "4A", "A.segmental.baseline_new"),
        ("airway_segmental_or_proximal", "stable", None, None, "4B", "A.segmental.followup"),
    ],
)
def test_category_row(
    nodule_type: str, status: str, mean: float | None, solid: float | None, category: str, rule: str
) -> None:
    res = lung_rads_category(_exam(nodule_type, status, mean, solid))
    assert (res.category, res.rule) == (category, rule)
    assert res.citation.version == "v2022"


@pytest.mark.parametrize(
    ("status", "mean", "category", "rule"),
    [
        ("baseline", 9.9, "2", "J.lt10"),
        ("new", 9.0, "2", "J.lt10"),
        ("baseline", 10.0, "4A", "S.baseline.8to15"),  # >= 10 mm: solid rules apply
        ("growing", 7.0, "4A", "S.growing.lt8"),  # growing: not covered by the juxtapleural row
    ],
)
def test_juxtapleural_benign_features(status: str, mean: float, category: str, rule: str) -> None:
    res = lung_rads_category(_exam("solid", status, mean, juxtapleural_benign_features=True))
    assert (res.category, res.rule) == (category, rule)


def test_mean_diameter_rounded_to_one_decimal() -> None:
    assert lung_rads_category(_exam("solid", "baseline", 5.96)).category == "3"
    assert lung_rads_category(_exam("solid", "baseline", 5.94)).category == "2"


@pytest.mark.parametrize(
    "flag",
    ["benign_calcification", "fat_containing"],
)
def test_benign_features_are_category_1(flag: str) -> None:
    res = lung_rads_category(_exam("solid", "baseline", 20.0, **{flag: True}))
    assert (res.category, res.rule) == ("1", "benign_features")


def test_no_nodules_is_category_1() -> None:
    assert lung_rads_category(LungRadsExam(baseline=True)).rule == "exam.no_nodules"


@pytest.mark.parametrize("flag", ["prior_being_located", "lungs_not_fully_evaluable", "inflammatory_or_infectious"])
def test_incomplete_exam_is_category_0(flag: str) -> None:
    exam = LungRadsExam.model_validate({"baseline": True, flag: True})
    assert lung_rads_category(exam).category == "0"


def test_exam_category_is_highest_nodule() -> None:
    exam = LungRadsExam(
        baseline=True,
        nodules=(
            LungRadsNodule(nodule_type="solid", mean_diameter_mm=4.0),
            LungRadsNodule(nodule_type="solid", mean_diameter_mm=9.0),
            LungRadsNodule(nodule_type="ground_glass", mean_diameter_mm=12.0),
        ),
    )
    res = lung_rads_category(exam)
    assert (res.category, [n.category for n in res.nodules]) == ("4A", ["2", "4A", "2"])


@pytest.mark.parametrize(("mean", "expected"), [(7.0, "4X"), (9.0, "4X"), (16.0, "4X"), (5.0, "2")])
def test_4x_only_upgrades_category_3_or_4(mean: float, expected: str) -> None:
    assert lung_rads_category(_exam("solid", "baseline", mean, suspicious_features=True)).category == expected


def test_s_modifier_is_added_to_label() -> None:
    exam = LungRadsExam(
        baseline=True,
        nodules=(LungRadsNodule(nodule_type="solid", mean_diameter_mm=9.0),),
        significant_other_finding=True,
    )
    res = lung_rads_category(exam)
    assert (res.category, res.s_modifier, res.label) == ("4A", True, "4A S")


@pytest.mark.parametrize(
    ("nodule_type", "status", "mean", "solid", "rule"),
    [
        ("solid", "stable", 7.0, None, "insufficient.not_encoded"),  # stepped management
        ("ground_glass", "growing", 32.0, None, "insufficient.not_encoded"),  # slow growth not an input
        ("airway_subsegmental", "growing", None, None, "insufficient.not_encoded"),
        ("solid", "baseline", None, None, "insufficient.size_missing"),
        ("part_solid", "baseline", 9.0, None, "insufficient.size_missing"),
        ("part_solid", "new", None, 3.0, "insufficient.size_missing"),
    ],
)
def test_not_encoded_or_missing_is_insufficient(
    nodule_type: str, status: str, mean: float | None, solid: float | None, rule: str
) -> None:
    res = lung_rads_category(_exam(nodule_type, status, mean, solid))
    assert (res.category, res.rule, res.label) == ("insufficient", rule, "insufficient")


def test_atypical_cyst_is_not_encoded() -> None:
    res = lung_rads_category(LungRadsExam(baseline=True, atypical_cyst=True))
    assert res.category == "insufficient"


def test_follow_up_nodule_status_must_match_exam() -> None:
    with pytest.raises(ValidationError):
        LungRadsExam(baseline=False, nodules=(LungRadsNodule(nodule_type="solid", mean_diameter_mm=5.0),))


def test_packaged_rows_have_unique_ids() -> None:
    ids = [row.id for row in load_lung_rads_table().rows]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("nodule_type", "status", "mean", "interval"),
    [
        ("solid", "baseline", 5.0, "12 months"),  # category 2
        ("solid", "baseline", 7.0, "6 months"),  # category 3
        ("solid", "baseline", 10.0, "3 months"),  # category 4A
        ("solid", "baseline", 16.0, "tissue sampling"),  # category 4B
    ],
)
def test_management_follows_the_exam_category(nodule_type: str, status: str, mean: float, interval: str) -> None:
    assert interval in (lung_rads_category(_exam(nodule_type, status, mean)).management or "")


def test_every_category_has_management_and_insufficient_has_none() -> None:
    assert set(load_lung_rads_table().management) == {"0", "1", "2", "3", "4A", "4B", "4X"}
    assert lung_rads_category(_exam("solid", "baseline", None)).management is None
