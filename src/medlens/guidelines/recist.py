"""RECIST 1.1 time-point response from target, non-target and new-lesion assessments.

Source: Eisenhauer EA, et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247. Thresholds and the Table 1 / Table 2 combinations live in
``lexicon/recist.yaml``; this module only applies them.

Decision support for review by a qualified reader: the engine applies the published arithmetic to measurements
someone else made and judged (lesion selection, "unequivocal" non-target progression, whether a new lesion is
real). It does not read images and is not for diagnostic use on its own.

Example:
    >>> base = RecistBaseline(target_lesions=(TargetLesion(lesion_id="L1", diameter_mm=50),))
    >>> fu = RecistFollowUp(target_lesions=(TargetLesion(lesion_id="L1", diameter_mm=30),))
    >>> recist_response(base, (fu,))[0].overall_response
    'PR'
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.guidelines.schema import Citation, LexiconHeader

__all__ = [
    "NewLesionStatus",
    "NonTargetStatus",
    "OverallResponse",
    "RecistBaseline",
    "RecistFollowUp",
    "RecistTables",
    "RecistTimepointResult",
    "TargetLesion",
    "TargetResponse",
    "load_recist_tables",
    "recist_response",
    "recist_timepoint_response",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

TargetResponse = Literal["CR", "PR", "SD", "PD", "NE"]
NonTargetStatus = Literal["CR", "non_CR_non_PD", "PD", "NE", "none"]
NewLesionStatus = Literal["no", "yes", "equivocal"]
OverallResponse = Literal["CR", "PR", "SD", "PD", "NE", "non_CR_non_PD"]
_GUIDELINE = "RECIST 1.1 (Eisenhauer EA, et al. Eur J Cancer 2009;45:228-247)"


# ----------------------------------------------------------------------------------------------- inputs
class TargetLesion(BaseModel):
    """One target lesion measurement at one time point."""

    model_config = _FROZEN

    lesion_id: str = Field(min_length=1, description="Stable id linking the lesion across time points.")
    lymph_node: bool = Field(default=False, description="True for a lymph node (measured in short axis).")
    organ: str | None = Field(default=None, description="Organ, used to check the 2-per-organ limit at baseline.")
    diameter_mm: float | None = Field(
        default=None,
        ge=0,
        description="Longest diameter in mm (short axis for lymph nodes); 0 if disappeared; None if not assessed.",
    )
    too_small_to_measure: bool = Field(
        default=False, description="Present but too small to measure: recorded as 5 mm (RECIST 1.1 appendix)."
    )


class RecistBaseline(BaseModel):
    """Baseline assessment: the selected target lesions and whether non-target lesions were recorded."""

    model_config = _FROZEN

    target_lesions: tuple[TargetLesion, ...] = Field(default=(), description="Target lesions (at most 5).")
    non_target_lesions_present: bool = Field(default=False, description="Non-target lesions recorded at baseline.")


class RecistFollowUp(BaseModel):
    """One follow-up time point, in study order."""

    model_config = _FROZEN

    label: str = Field(default="", description="Free label of the time point (e.g. a date); not interpreted.")
    target_lesions: tuple[TargetLesion, ...] = Field(default=(), description="The baseline targets, re-measured.")
    non_target: NonTargetStatus = Field(
        default="none",
        description="Reader's non-target assessment: CR (all gone, nodes < 10 mm, markers normal), non_CR_non_PD, "
        "PD (unequivocal progression), NE (not evaluated), none (no non-target lesions at baseline).",
    )
    new_lesions: NewLesionStatus = Field(
        default="no", description="New lesions: yes (unequivocal), equivocal (not PD until confirmed), no."
    )


# ----------------------------------------------------------------------------------------------- tables
class RecistThresholds(BaseModel):
    """Numeric criteria of RECIST 1.1 (sections 3 and 4.3)."""

    model_config = _FROZEN

    pr_decrease_pct: int = Field(description="PR: minimum % decrease of the sum vs baseline.")
    pd_increase_pct: int = Field(description="PD: minimum % increase of the sum vs nadir.")
    pd_absolute_increase_mm: int = Field(description="PD: minimum absolute increase vs nadir, mm.")
    node_normal_short_axis_mm: int = Field(description="Nodes below this short axis (mm) are non-pathological.")
    too_small_to_measure_mm: int = Field(description="Value recorded for a lesion too small to measure, mm.")
    measurable_lesion_min_mm: int = Field(description="Minimum longest diameter of a measurable lesion, mm.")
    measurable_node_min_mm: int = Field(description="Minimum short axis of a measurable lymph node, mm.")
    max_target_lesions: int = Field(description="Maximum number of target lesions.")
    max_target_lesions_per_organ: int = Field(description="Maximum number of target lesions per organ.")


class Table1Row(BaseModel):
    """One line of RECIST 1.1 Table 1 (target +/- non-target disease)."""

    model_config = _FROZEN

    id: str = Field(description="Row id, reported as the rule that fired.")
    target: tuple[Literal["CR", "PR", "SD", "PD", "NE", "any"], ...] = Field(description="Target responses.")
    non_target: tuple[Literal["CR", "non_CR_non_PD", "PD", "NE", "none", "any"], ...] = Field(
        description="Non-target statuses."
    )
    new_lesions: tuple[Literal["yes", "no", "any"], ...] = Field(description="New lesion statuses.")
    overall: OverallResponse = Field(description="Overall time-point response.")
    note: str = Field(default="", description="Why the row exists when it is a medlens reading of the table.")


class Table2Row(BaseModel):
    """One line of RECIST 1.1 Table 2 (non-target disease only)."""

    model_config = _FROZEN

    id: str = Field(description="Row id, reported as the rule that fired.")
    non_target: tuple[Literal["CR", "non_CR_non_PD", "PD", "NE", "any"], ...] = Field(
        description="Non-target statuses."
    )
    new_lesions: tuple[Literal["yes", "no", "any"], ...] = Field(description="New lesion statuses.")
    overall: OverallResponse = Field(description="Overall time-point response.")


class RecistTables(BaseModel):
    """Validated content of ``lexicon/recist.yaml``."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    thresholds: RecistThresholds = Field(description="Numeric criteria.")
    table1: tuple[Table1Row, ...] = Field(description="Table 1 rows, first match wins.")
    table2: tuple[Table2Row, ...] = Field(description="Table 2 rows, first match wins.")


@functools.cache
def load_recist_tables() -> RecistTables:
    """Load and validate the packaged RECIST 1.1 table (cached).

    Raises:
        ConfigError: ML205 if the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.guidelines", "recist.yaml", RecistTables)


# ----------------------------------------------------------------------------------------------- result
class RecistTimepointResult(BaseModel):
    """RECIST 1.1 response at one follow-up time point (decision support, to be confirmed by a reader)."""

    model_config = _FROZEN

    label: str = Field(description="The follow-up's label.")
    target_response: TargetResponse | None = Field(description="Target response; None without target disease.")
    non_target_response: NonTargetStatus = Field(description="Non-target status as given.")
    new_lesions: NewLesionStatus = Field(description="New lesion status as given.")
    overall_response: OverallResponse = Field(description="Overall time-point response (Table 1 or 2).")
    response: OverallResponse = Field(description="Alias of overall_response (shared engine vocabulary).")
    rule: str = Field(description="Id of the rule / table row that decided, e.g. 'T1.target_pd'.")
    target_rule: str | None = Field(description="Rule that decided the target response (e.g. 'target.pd').")
    insufficient: bool = Field(description="True when the input did not allow a response (NE for that reason).")
    citation: Citation = Field(description="Guideline, version, table.")
    reasons: tuple[str, ...] = Field(description="Human-readable steps, with the numbers used.")
    sum_mm: float | None = Field(description="Sum of target diameters at this time point (mm), if complete.")
    baseline_sum_mm: float | None = Field(description="Baseline sum (mm).")
    nadir_mm: float | None = Field(description="Smallest sum on study before this time point (mm).")
    change_from_baseline_pct: float | None = Field(description="% change of the sum vs baseline.")
    change_from_nadir_pct: float | None = Field(description="% change of the sum vs nadir (None if nadir is 0).")
    change_from_nadir_mm: float | None = Field(description="Absolute change of the sum vs nadir (mm).")


def _citation(table: str) -> Citation:
    return Citation(guideline=_GUIDELINE, version="1.1", table=table)


def _value(lesion: TargetLesion, t: RecistThresholds) -> Decimal | None:
    if lesion.too_small_to_measure:
        return Decimal(t.too_small_to_measure_mm)
    if lesion.diameter_mm is None:
        return None
    return Decimal(str(lesion.diameter_mm))


def _baseline_problems(baseline: RecistBaseline, t: RecistThresholds) -> list[str]:
    problems: list[str] = []
    ids = [lesion.lesion_id for lesion in baseline.target_lesions]
    if len(set(ids)) != len(ids):
        problems.append("baseline target lesion ids are not unique")
    if len(ids) > t.max_target_lesions:
        problems.append(f"{len(ids)} target lesions at baseline; RECIST 1.1 section 3.3 allows {t.max_target_lesions}")
    per_organ: dict[str, int] = {}
    for lesion in baseline.target_lesions:
        if lesion.organ:
            per_organ[lesion.organ.lower()] = per_organ.get(lesion.organ.lower(), 0) + 1
        if lesion.diameter_mm is None or lesion.too_small_to_measure:
            problems.append(f"baseline target lesion {lesion.lesion_id!r} has no measurement")
            continue
        minimum = t.measurable_node_min_mm if lesion.lymph_node else t.measurable_lesion_min_mm
        if lesion.diameter_mm < minimum:
            kind = "lymph node short axis" if lesion.lymph_node else "longest diameter"
            problems.append(
                f"baseline target lesion {lesion.lesion_id!r}: {kind} {lesion.diameter_mm} mm is below the "
                f"measurable minimum of {minimum} mm (section 3.1)"
            )
    for organ, count in per_organ.items():
        if count > t.max_target_lesions_per_organ:
            problems.append(
                f"{count} target lesions in organ {organ!r}; section 3.3 allows {t.max_target_lesions_per_organ}"
            )
    return problems


def _sum(lesions: Sequence[TargetLesion], t: RecistThresholds) -> tuple[Decimal, list[str]]:
    """Sum of the available values and the ids of lesions not assessed."""
    total = Decimal(0)
    missing: list[str] = []
    for lesion in lesions:
        value = _value(lesion, t)
        if value is None:
            missing.append(lesion.lesion_id)
        else:
            total += value
    return total, missing


def _is_pd(current: Decimal, nadir: Decimal, t: RecistThresholds) -> bool:
    # 4.3.1 PD: >= 20% increase over the nadir AND >= 5 mm absolute increase. Exact decimal arithmetic, so that
    # a 20.0% change is not lost to floating point. A nadir of 0 makes any increase an infinite percentage.
    increase = current - nadir
    return increase >= t.pd_absolute_increase_mm and increase * 100 >= nadir * t.pd_increase_pct


def _pct(value: Decimal, reference: Decimal) -> float | None:
    if reference == 0:
        return None
    return float(round((value - reference) * 100 / reference, 2))


def _target_response(
    baseline: RecistBaseline, follow_up: RecistFollowUp, nadir: Decimal, t: RecistThresholds, reasons: list[str]
) -> tuple[TargetResponse, str, Decimal | None, bool]:
    """Target response, the rule, the sum (None if incomplete) and whether the input was insufficient."""
    by_id = {lesion.lesion_id: lesion for lesion in follow_up.target_lesions}
    unknown = sorted(set(by_id) - {lesion.lesion_id for lesion in baseline.target_lesions})
    if unknown:
        reasons.append(f"follow-up lists {len(unknown)} target lesion(s) not selected at baseline: {unknown}")
        return "NE", "insufficient.unknown_target_lesion", None, True
    # The baseline decides whether a lesion is a node; a follow-up without the lesion counts as not assessed.
    ordered = [
        by_id.get(b.lesion_id, TargetLesion(lesion_id=b.lesion_id)).model_copy(update={"lymph_node": b.lymph_node})
        for b in baseline.target_lesions
    ]
    total, missing = _sum(ordered, t)
    if missing:
        reasons.append(f"target lesion(s) not assessed: {missing}; sum of the others {total} mm")
        # Appendix (partial assessments): the time point is NE unless the lesions measured already show PD,
        # which the missing ones could only confirm.
        if _is_pd(total, nadir, t):
            reasons.append(
                f"measured lesions alone rise {total - nadir} mm (>= {t.pd_absolute_increase_mm} mm) and >= "
                f"{t.pd_increase_pct}% over the nadir {nadir} mm: PD despite the missing lesion(s)"
            )
            return "PD", "target.pd_partial", None, False
        return "NE", "insufficient.target_not_all_assessed", None, True
    nodes_normal = all(
        (_value(lesion, t) or Decimal(0)) < t.node_normal_short_axis_mm for lesion in ordered if lesion.lymph_node
    )
    others_gone = all(
        not lesion.too_small_to_measure and lesion.diameter_mm == 0 for lesion in ordered if not lesion.lymph_node
    )
    if others_gone and nodes_normal:
        reasons.append(
            f"all non-nodal target lesions disappeared and every target node < {t.node_normal_short_axis_mm} mm "
            "short axis: CR (section 4.3.1)"
        )
        return "CR", "target.cr", total, False
    if _is_pd(total, nadir, t):
        reasons.append(
            f"sum {total} mm vs nadir {nadir} mm: +{total - nadir} mm (>= {t.pd_absolute_increase_mm} mm) and >= "
            f"{t.pd_increase_pct}%: PD (section 4.3.1)"
        )
        return "PD", "target.pd", total, False
    if total - nadir > 0:
        reasons.append(
            f"sum {total} mm vs nadir {nadir} mm: +{total - nadir} mm does not meet both the "
            f"{t.pd_increase_pct}% and {t.pd_absolute_increase_mm} mm criteria: not PD"
        )
    base = _sum(baseline.target_lesions, t)[0]
    if (base - total) * 100 >= base * t.pr_decrease_pct:
        reasons.append(f"sum {total} mm vs baseline {base} mm: >= {t.pr_decrease_pct}% decrease: PR (section 4.3.1)")
        return "PR", "target.pr", total, False
    reasons.append(f"sum {total} mm vs baseline {base} mm: neither PR nor PD: SD (section 4.3.1)")
    return "SD", "target.sd", total, False


def _matches(value: str, allowed: Sequence[str]) -> bool:
    return "any" in allowed or value in allowed


def recist_timepoint_response(
    baseline: RecistBaseline, follow_up: RecistFollowUp, *, nadir_sum_mm: float | None = None
) -> RecistTimepointResult:
    """RECIST 1.1 response at one follow-up.

    Args:
        baseline: The baseline target lesions (and whether non-target lesions exist).
        follow_up: The time point to assess.
        nadir_sum_mm: Smallest sum of target diameters on study before this time point (baseline included);
            defaults to the baseline sum. Use :func:`recist_response` to track it over a series.

    Returns:
        The frozen result; ``insufficient`` is True (and the response NE) when the input does not allow a response.
    """
    tables = load_recist_tables()
    t = tables.thresholds
    reasons: list[str] = []
    new = follow_up.new_lesions
    new_for_table: Literal["yes", "no"] = "yes" if new == "yes" else "no"
    if new == "equivocal":
        reasons.append("new lesion equivocal: not PD now; if confirmed later, PD dates from this scan (section 4.3.2)")
    non_target = follow_up.non_target
    if baseline.non_target_lesions_present and non_target == "none":
        reasons.append("non-target lesions were recorded at baseline but have no assessment: treated as NE")
        non_target = "NE"

    def result(
        target: TargetResponse | None,
        overall: OverallResponse,
        rule: str,
        table: str,
        *,
        target_rule: str | None = None,
        total: Decimal | None = None,
        nadir: Decimal | None = None,
        base: Decimal | None = None,
        insufficient: bool = False,
    ) -> RecistTimepointResult:
        return RecistTimepointResult(
            label=follow_up.label,
            target_response=target,
            non_target_response=non_target,
            new_lesions=new,
            overall_response=overall,
            response=overall,
            rule=rule,
            target_rule=target_rule,
            insufficient=insufficient,
            citation=_citation(table),
            reasons=tuple(reasons),
            sum_mm=float(total) if total is not None else None,
            baseline_sum_mm=float(base) if base is not None else None,
            nadir_mm=float(nadir) if nadir is not None else None,
            change_from_baseline_pct=_pct(total, base) if total is not None and base is not None else None,
            change_from_nadir_pct=_pct(total, nadir) if total is not None and nadir is not None else None,
            change_from_nadir_mm=float(total - nadir) if total is not None and nadir is not None else None,
        )

    if not baseline.target_lesions:
        if not baseline.non_target_lesions_present:
            reasons.append("no target or non-target lesions at baseline: nothing to assess")
            return result(None, "NE", "insufficient.no_baseline_disease", "section 3", insufficient=True)
        for row2 in tables.table2:
            if _matches(non_target, row2.non_target) and _matches(new_for_table, row2.new_lesions):
                reasons.append(f"non-target disease only: Table 2 row {row2.id} -> {row2.overall}")
                return result(None, row2.overall, row2.id, "Table 2", insufficient=row2.overall == "NE")
        reasons.append("non-target disease only but no non-target assessment given")
        return result(None, "NE", "insufficient.non_target_not_assessed", "Table 2", insufficient=True)

    problems = _baseline_problems(baseline, t)
    if problems:
        reasons.extend(problems)
        return result(None, "NE", "insufficient.baseline_invalid", "section 3", insufficient=True)
    base = _sum(baseline.target_lesions, t)[0]
    nadir = base if nadir_sum_mm is None else Decimal(str(nadir_sum_mm))
    target, target_rule, total, target_insufficient = _target_response(baseline, follow_up, nadir, t, reasons)
    for row in tables.table1:
        if (
            _matches(target, row.target)
            and _matches(non_target, row.non_target)
            and _matches(new_for_table, row.new_lesions)
        ):
            reasons.append(
                f"Table 1 row {row.id}: target {target}, non-target {non_target}, new {new} -> {row.overall}"
            )
            return result(
                target,
                row.overall,
                row.id,
                "Table 1",
                target_rule=target_rule,
                total=total,
                nadir=nadir,
                base=base,
                insufficient=target_insufficient and row.overall == "NE",
            )
    reasons.append("no Table 1 row matches")  # unreachable with the packaged table; kept explicit
    return result(target, "NE", "insufficient.no_table_row", "Table 1", target_rule=target_rule, insufficient=True)


def recist_response(
    baseline: RecistBaseline, follow_ups: Sequence[RecistFollowUp]
) -> tuple[RecistTimepointResult, ...]:
    """RECIST 1.1 responses for a series of follow-ups, tracking the nadir (smallest sum on study).

    The nadir starts at the baseline sum and is lowered by every later time point whose target sum is complete.

    Args:
        baseline: Baseline assessment.
        follow_ups: Follow-up time points in study order.

    Returns:
        One result per follow-up, in order.
    """
    results: list[RecistTimepointResult] = []
    t = load_recist_tables().thresholds
    nadir: float | None = float(_sum(baseline.target_lesions, t)[0]) if baseline.target_lesions else None
    for follow_up in follow_ups:
        res = recist_timepoint_response(baseline, follow_up, nadir_sum_mm=nadir)
        results.append(res)
        if res.sum_mm is not None and nadir is not None:
            nadir = min(nadir, res.sum_mm)
    return tuple(results)
