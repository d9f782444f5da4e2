"""RECIST 1.1 (Eisenhauer 2009): one row per line of Tables 1 and 2, plus the nadir and 5 mm edge cases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from medlens.guidelines.recist import (
    RecistBaseline,
    RecistFollowUp,
    TargetLesion,
    load_recist_tables,
    recist_response,
    recist_timepoint_response,
)


def _base(*diameters: float, nodes: tuple[bool, ...] = (), non_target: bool = False) -> RecistBaseline:
    lesions = tuple(
        TargetLesion(lesion_id=f"L{i}", diameter_mm=d, lymph_node=nodes[i] if i < len(nodes) else False)
        for i, d in enumerate(diameters)
    )
    return RecistBaseline(target_lesions=lesions, non_target_lesions_present=non_target)


def _fu(*diameters: float | None, non_target: str = "none", new: str = "no") -> RecistFollowUp:
    lesions = tuple(TargetLesion(lesion_id=f"L{i}", diameter_mm=d) for i, d in enumerate(diameters))
    return RecistFollowUp(target_lesions=lesions, non_target=non_target, new_lesions=new)  # type: ignore[arg-type]


# Target follow-up diameters that produce each target response against a 50 mm baseline (one non-nodal lesion).
_TARGET = {"CR": 0.0, "PR": 30.0, "SD": 45.0, "PD": 61.0, "NE": None}


@pytest.mark.parametrize(
    ("target", "non_target", "new", "overall", "rule"),
    [
        # Table 1, in the paper's order
        ("CR", "CR", "no", "CR", "T1.cr_cr"),
        ("CR", "non_CR_non_PD", "no", "PR", "T1.cr_noncr"),
        ("CR", "NE", "no", "PR", "T1.cr_ne"),
        ("PR", "non_CR_non_PD", "no", "PR", "T1.pr"),
        ("PR", "NE", "no", "PR", "T1.pr"),
        ("PR", "CR", "no", "PR", "T1.pr"),
        ("SD", "non_CR_non_PD", "no", "SD", "T1.sd"),
        ("SD", "NE", "no", "SD", "T1.sd"),
        ("NE", "non_CR_non_PD", "no", "NE", "T1.ne"),
        ("NE", "CR", "no", "NE", "T1.ne"),
        ("PD", "non_CR_non_PD", "no", "PD", "T1.target_pd"),
        ("PD", "CR", "yes", "PD", "T1.new"),
        ("CR", "PD", "no", "PD", "T1.nontarget_pd"),
        ("SD", "PD", "no", "PD", "T1.nontarget_pd"),
        ("CR", "CR", "yes", "PD", "T1.new"),
        ("PR", "non_CR_non_PD", "yes", "PD", "T1.new"),
    ],
)
def test_table1_line(target: str, non_target: str, new: str, overall: str, rule: str) -> None:
    res = recist_timepoint_response(_base(50.0, non_target=True), _fu(_TARGET[target], non_target=non_target, new=new))
    assert (res.target_response, res.overall_response, res.rule) == (target, overall, rule)
    assert res.citation.table == "Table 1"


@pytest.mark.parametrize(
    ("non_target", "new", "overall", "rule"),
    [
        ("CR", "no", "CR", "T2.cr"),
        ("non_CR_non_PD", "no", "non_CR_non_PD", "T2.noncr"),
        ("NE", "no", "NE", "T2.ne"),
        ("PD", "no", "PD", "T2.pd"),
        ("PD", "yes", "PD", "T2.new"),
        ("CR", "yes", "PD", "T2.new"),
    ],
)
def test_table2_line(non_target: str, new: str, overall: str, rule: str) -> None:
    res = recist_timepoint_response(_base(non_target=True), _fu(non_target=non_target, new=new))
    assert (res.target_response, res.overall_response, res.rule) == (None, overall, rule)
    assert res.citation.table == "Table 2"


@pytest.mark.parametrize(
    ("baseline", "nadir", "current", "expected"),
    [
        (30.0, 20.0, 24.0, "SD"),  # +20% but +4 mm from nadir: not PD
        (30.0, 20.0, 25.0, "PD"),  # +25% and +5 mm
        (100.0, 50.0, 60.0, "PD"),  # exactly +20% and +10 mm from nadir: PD although -40% from baseline
        (200.0, 190.0, 199.0, "SD"),  # +9 mm but +4.7% from nadir: not PD
        (100.0, 100.0, 70.0, "PR"),  # exactly -30% from baseline: PR
        (100.0, 100.0, 71.0, "SD"),  # -29%: SD
    ],
)
def test_target_thresholds_with_nadir(baseline: float, nadir: float, current: float, expected: str) -> None:
    res = recist_timepoint_response(_base(baseline), _fu(current), nadir_sum_mm=nadir)
    assert res.target_response == expected


def test_nadir_rise_below_20_percent_from_low_nadir_is_pr_when_still_30_below_baseline() -> None:
    res = recist_timepoint_response(_base(100.0), _fu(59.0), nadir_sum_mm=50.0)
    assert (res.target_response, res.target_rule) == ("PR", "target.pr")


def test_series_tracks_nadir_so_regrowth_from_nadir_is_pd() -> None:
    results = recist_response(_base(100.0), [_fu(40.0), _fu(70.0), _fu(44.0)])
    assert [r.target_response for r in results] == ["PR", "PD", "PR"]
    assert [r.nadir_mm for r in results] == [100.0, 40.0, 40.0]
    assert results[1].change_from_nadir_mm == 30.0


def test_series_nadir_ignores_incomplete_time_points() -> None:
    results = recist_response(_base(60.0, 40.0), [_fu(30.0, None), _fu(30.0, 20.0)])
    assert results[0].nadir_mm == 100.0
    assert results[1].nadir_mm == 100.0


def test_node_below_10mm_counts_as_cr_though_sum_not_zero() -> None:
    res = recist_timepoint_response(_base(30.0, 20.0, nodes=(False, True)), _fu(0.0, 9.0))
    assert (res.target_response, res.sum_mm) == ("CR", 9.0)


def test_node_at_10mm_is_not_cr() -> None:
    res = recist_timepoint_response(_base(30.0, 20.0, nodes=(False, True)), _fu(0.0, 10.0))
    assert res.target_response == "PR"


def test_too_small_to_measure_counts_5mm_and_is_not_cr() -> None:
    base = _base(20.0)
    fu = RecistFollowUp(target_lesions=(TargetLesion(lesion_id="L0", too_small_to_measure=True),))
    res = recist_timepoint_response(base, fu)
    assert (res.target_response, res.sum_mm) == ("PR", 5.0)


def test_missing_target_measurement_is_insufficient_ne() -> None:
    res = recist_timepoint_response(_base(30.0, 20.0), _fu(30.0, None))
    assert (res.target_response, res.overall_response, res.insufficient) == ("NE", "NE", True)
    assert res.target_rule == "insufficient.target_not_all_assessed"


def test_target_absent_from_follow_up_is_not_assessed() -> None:
    res = recist_timepoint_response(_base(30.0, 20.0), _fu(30.0))
    assert res.target_rule == "insufficient.target_not_all_assessed"


def test_partial_assessment_already_pd_is_pd() -> None:
    res = recist_timepoint_response(_base(30.0, 20.0), _fu(61.0, None))
    assert (res.target_response, res.target_rule, res.insufficient) == ("PD", "target.pd_partial", False)


def test_equivocal_new_lesion_is_not_pd() -> None:
    res = recist_timepoint_response(_base(50.0), _fu(45.0, new="equivocal"))
    assert res.overall_response == "SD"
    assert any("equivocal" in r for r in res.reasons)


def test_no_non_target_at_baseline_with_target_cr_is_cr() -> None:
    res = recist_timepoint_response(_base(50.0), _fu(0.0))
    assert (res.overall_response, res.rule) == ("CR", "T1.cr_none")


def test_missing_non_target_assessment_when_present_at_baseline_is_ne() -> None:
    res = recist_timepoint_response(_base(50.0, non_target=True), _fu(0.0))
    assert (res.non_target_response, res.overall_response) == ("NE", "PR")


@pytest.mark.parametrize(
    ("baseline", "rule"),
    [
        (_base(9.0), "insufficient.baseline_invalid"),  # below 10 mm measurable minimum
        (_base(14.0, nodes=(True,)), "insufficient.baseline_invalid"),  # node below 15 mm short axis
        (_base(20.0, 20.0, 20.0, 20.0, 20.0, 20.0), "insufficient.baseline_invalid"),  # > 5 targets
        (RecistBaseline(), "insufficient.no_baseline_disease"),
    ],
)
def test_invalid_baseline_is_insufficient(baseline: RecistBaseline, rule: str) -> None:
    res = recist_timepoint_response(baseline, _fu(non_target="CR"))
    assert (res.overall_response, res.rule, res.insufficient) == ("NE", rule, True)


def test_more_than_two_targets_per_organ_is_insufficient() -> None:
    base = RecistBaseline(
        target_lesions=tuple(TargetLesion(lesion_id=f"L{i}", organ="liver", diameter_mm=20.0) for i in range(3))
    )
    assert recist_timepoint_response(base, _fu(20.0, 20.0, 20.0)).rule == "insufficient.baseline_invalid"


def test_unknown_follow_up_lesion_is_insufficient() -> None:
    fu = RecistFollowUp(target_lesions=(TargetLesion(lesion_id="X", diameter_mm=10.0),))
    assert recist_timepoint_response(_base(50.0), fu).target_rule == "insufficient.unknown_target_lesion"


def test_result_is_frozen() -> None:
    res = recist_timepoint_response(_base(50.0), _fu(30.0))
    with pytest.raises(ValidationError):
        res.rule = "x"  # type: ignore[misc]


def test_packaged_table_cites_recist_1_1() -> None:
    tables = load_recist_tables()
    assert tables.header.version == "1.1"
    assert tables.thresholds.pd_absolute_increase_mm == 5
