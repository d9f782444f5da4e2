"""Guideline notes for a draft impression: Lung-RADS v2022 on a screening CT, Fleischner 2017 on other chest CT.

The engines (``medlens.guidelines``) run on the lung nodules :class:`~medlens.radiology.findings.RadiologyFindingsRules`
reads from the same findings text the impression copies. What a report does not state is never assumed:

* **Setting.** ``screening`` when the report names lung cancer screening or a low-dose screening CT (or the caller
  says so); otherwise ``incidental`` when the report is a CT; no note at all for other modalities (both tables are
  for CT).
* **Lung-RADS v2022.** Baseline versus follow-up comes from the COMPARISON section ("None" -> baseline; a prior exam
  or date -> follow-up) or from a stated change; undetermined -> ``insufficient``. Every affirmed lung nodule must
  give the engine its type, size and status (see :func:`~medlens.radiology.findings_lung_rads.lung_rads_input`),
  otherwise ``insufficient``. The S modifier, 4X features and category 0 conditions are the reader's call and are
  never read from text (said in the reasons).
* **Fleischner 2017, Table 1.** Affirmed, non-calcified lung nodules (not masses) with a stated composition and size;
  the dominant one is the largest; mixed solid and subsolid nodules, a missing type or size -> ``insufficient``.
  Patient risk (solid nodules), age and exclusions come from the caller (task options or ``Document.meta``:
  ``lung_cancer_risk`` low/high, ``age_years``, ``immunocompromised``); an affirmed cancer in the indication or history
  makes the guideline ``not_applicable`` (known primary cancer).

Each note cites the lesion spans it used; a note with a recommendation also becomes a ``guideline`` sentence at the
end of the impression. Decision support for a qualified reader, never a diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import InputError
from medlens.core.types import Evidence
from medlens.guidelines.fleischner import FleischnerInput, fleischner_recommendation
from medlens.guidelines.lung_rads import LungRadsExam, lung_rads_category
from medlens.radiology.findings_lung_rads import lung_rads_input
from medlens.radiology.findings_schema import Lesion
from medlens.radiology.impression_schema import GuidelineNote
from medlens.radiology.report_sections import ReportSections
from medlens.text.assertion import assert_target

__all__ = ["GuidelineOptions", "guideline_notes"]

_PRODUCER = "medlens.rule.radiology.impression.guideline.v1"
Setting = Literal["auto", "screening", "incidental"]

# A lung cancer screening exam named as such ("LOW-DOSE CT CHEST FOR LUNG CANCER SCREENING", "LDCT").
_SCREENING = re.compile(
    r"\blung\s+cancer\s+screening\b|\bscreening\s+(?:low[-\s]dose\s+)?(?:chest\s+)?CT\b|\bLDCT\b|"
    r"\blow[-\s]dose\s+(?:chest\s+)?CT\b(?=[^.\n]{0,40}\bscreening\b)",
    re.IGNORECASE,
)
_CT = re.compile(r"\bCT\b|\bcomputed\s+tomograph|\bCTA\b", re.IGNORECASE)
# COMPARISON section text meaning "no prior exam" / naming a prior exam.
_NO_PRIOR = re.compile(r"^\W*(?:none|no\s+prior|no\s+previous|not\s+available|n/?a|baseline)\b", re.IGNORECASE)
_PRIOR = re.compile(r"\b(?:prior|previous|\d{1,4}[-/]\d{1,2}[-/]\d{1,4}|19\d\d|20\d\d|CT|exam|study)\b", re.IGNORECASE)
# A cancer named in the indication or history (Fleischner 2017 Table 1 excludes patients with a known primary cancer).
_CANCER = re.compile(
    r"\b(?:cancer|carcinoma|malignan\w*|metasta\w*|lymphoma|melanoma|sarcoma|leukemia|leukaemia|myeloma)\b",
    re.IGNORECASE,
)
_LUNG_NODULE_KINDS = frozenset({"nodule", "granuloma"})


class GuidelineOptions(BaseModel):
    """Task options of the guideline notes (site defaults; ``Document.meta`` overrides per report).

    Attributes:
        enabled: write guideline notes at all.
        setting: ``auto`` (read from the report), ``screening`` (Lung-RADS) or ``incidental`` (Fleischner).
        lung_cancer_risk: Fleischner patient risk for solid nodules, when the site knows it for every report.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="Write guideline notes.")
    setting: Setting = Field(default="auto", description="auto, screening or incidental.")
    lung_cancer_risk: Literal["low", "high"] | None = Field(default=None, description="Fleischner patient risk.")


def _affirmed(lesion: Lesion) -> bool:
    a = lesion.assertion
    return not (a.negated or a.uncertain or a.hypothetical or a.historical or a.family)


def _lung_lesions(lesions: Sequence[Lesion]) -> list[Lesion]:
    out = []
    for lesion in lesions:
        if lesion.kind not in (*_LUNG_NODULE_KINDS, "mass") or not _affirmed(lesion):
            continue
        if lesion.location is not None and lesion.location.organ not in (None, "lung"):
            continue
        out.append(lesion)
    return out


def _lesion_evidence(lesions: Sequence[Lesion]) -> tuple[Evidence, ...]:
    seen: dict[tuple[int, int], Evidence] = {}
    for lesion in lesions:
        parts: list[Evidence] = [*lesion.evidence]
        for claim in (*lesion.sizes, *lesion.composition, lesion.change, lesion.solid_component):
            if claim is not None:
                parts.extend(claim.evidence)
        for ev in parts:
            seen.setdefault((ev.start, ev.end), ev)
    return tuple(
        ev.model_copy(update={"producer": _PRODUCER, "explanation": f"guideline input: {ev.producer}"})
        for _, ev in sorted(seen.items())
    )


def _section_text(text: str, sections: ReportSections, role: str) -> list[tuple[int, int]]:
    return [(rs.section.header_end, rs.section.end) for rs in sections.sections if rs.role == role]


def _baseline(text: str, sections: ReportSections, lesions: Sequence[Lesion]) -> bool | None:
    if any(lesion.change is not None for lesion in lesions):
        return False
    for start, end in _section_text(text, sections, "comparison"):
        body = text[start:end].strip()
        if not body:
            continue
        if _NO_PRIOR.search(body):
            return True
        if _PRIOR.search(body):
            return False
    return None


def _known_cancer(text: str, sections: ReportSections) -> bool:
    for start, end in _section_text(text, sections, "indication"):
        for m in _CANCER.finditer(text, start, end):
            a = assert_target(text, start=m.start(), end=m.end())
            if not (a.negated or a.uncertain or a.hypothetical or a.family):
                return True
    return False


def _note(
    guideline: Literal["lung_rads_v2022", "fleischner_2017"],
    status: Literal["recommendation", "insufficient", "not_applicable"],
    reasons: Sequence[str],
    lesions: Sequence[Lesion],
    **fields: Any,
) -> GuidelineNote:
    evidence = _lesion_evidence(lesions)
    return GuidelineNote(
        guideline=guideline,
        status=status,
        reasons=tuple(reasons),
        evidence=evidence,
        supported=bool(evidence),
        **fields,
    )


def _lung_rads(text: str, sections: ReportSections, lesions: Sequence[Lesion]) -> GuidelineNote:
    reasons = ["lung cancer screening CT: Lung-RADS v2022"]
    baseline = _baseline(text, sections, lesions)
    if baseline is None:
        reasons.append("baseline or follow-up exam not stated (no COMPARISON and no change written)")
        return _note("lung_rads_v2022", "insufficient", reasons, lesions, rule="insufficient.exam_status")
    reasons.append("baseline exam" if baseline else "follow-up exam")
    nodules = []
    for i, lesion in enumerate(lesions, 1):
        nodule = lung_rads_input(lesion, baseline=baseline, nodule_id=f"N{i}")
        if nodule is None:
            reasons.append(f"nodule {i} ('{lesion.text}'): type, size or status not stated as the engine needs")
            return _note("lung_rads_v2022", "insufficient", reasons, lesions, rule="insufficient.nodule_input")
        nodules.append(nodule)
    reasons.append("S modifier, 4X features and category 0 conditions are the reader's call: not read from text")
    try:
        result = lung_rads_category(LungRadsExam(baseline=baseline, nodules=tuple(nodules)))
    except ValidationError:
        reasons.append("nodule statuses contradict the exam status")
        return _note("lung_rads_v2022", "insufficient", reasons, lesions, rule="insufficient.exam_status")
    reasons.extend(result.reasons)
    if result.category == "insufficient":
        return _note("lung_rads_v2022", "insufficient", reasons, lesions, rule=result.rule, citation=result.citation)
    return _note(
        "lung_rads_v2022",
        "recommendation",
        reasons,
        lesions,
        rule=result.rule,
        category=result.label,
        recommendation=result.management,
        citation=result.citation,
    )


def _fleischner(
    text: str,
    sections: ReportSections,
    lesions: Sequence[Lesion],
    options: GuidelineOptions,
    meta: Mapping[str, Any],
    record_id: str,
) -> GuidelineNote:
    reasons = ["CT without lung cancer screening: Fleischner 2017 (incidental nodules)"]
    candidates = []
    for lesion in lesions:
        values = {c.value for c in lesion.composition}
        if lesion.kind == "mass":
            reasons.append(f"'{lesion.text}': a mass is not a nodule (Fleischner 2017 covers nodules < 30 mm)")
            continue
        if lesion.kind == "granuloma" or values & {"calcified", "fat_containing"}:
            reasons.append(f"'{lesion.text}': calcified or fat-containing (benign) nodules are not managed by Table 1")
            continue
        candidates.append(lesion)
    if not candidates:
        reasons.append("no nodule Table 1 manages")
        return _note("fleischner_2017", "not_applicable", reasons, lesions, rule="exclusion.no_nodule")
    types = set()
    for lesion in candidates:
        values = {c.value for c in lesion.composition}
        if "part_solid" in values:
            types.add("part_solid")
        elif "ground_glass" in values:
            types.add("ground_glass")
        elif "solid" in values or "noncalcified" in values:
            types.add("solid")
        else:
            reasons.append(f"'{lesion.text}': composition (solid, part-solid, ground-glass) not stated")
            return _note("fleischner_2017", "insufficient", reasons, candidates, rule="insufficient.type_missing")
    if "solid" in types and len(types) > 1:
        reasons.append("solid and subsolid nodules together: the reader picks the dominant nodule")
        return _note("fleischner_2017", "insufficient", reasons, candidates, rule="insufficient.mixed_types")
    sized = [lesion for lesion in candidates if lesion.mean_diameter_mm is not None]
    if len(sized) != len(candidates):
        reasons.append("a nodule without a stated size")
        return _note("fleischner_2017", "insufficient", reasons, candidates, rule="insufficient.size_missing")
    dominant = max(sized, key=lambda lesion: lesion.mean_diameter_mm or 0.0)
    multiple = len(candidates) > 1 or any(lesion.multiple for lesion in candidates)
    nodule_type = next(iter(types)) if len(types) == 1 else "part_solid" if "part_solid" in types else "ground_glass"
    risk = meta.get("lung_cancer_risk", options.lung_cancer_risk)
    solid_part = dominant.solid_component.value_mm if dominant.solid_component is not None else None
    try:
        nodule = FleischnerInput(
            nodule_type=nodule_type,
            mean_diameter_mm=dominant.mean_diameter_mm,
            solid_component_mm=solid_part if nodule_type == "part_solid" else None,
            multiple=multiple,
            risk=risk,
            age_years=meta.get("age_years"),
            known_cancer=_known_cancer(text, sections),
            immunocompromised=bool(meta.get("immunocompromised", False)),
        )
    except ValidationError as exc:
        raise InputError(
            f"record {record_id!r}: Document.meta lung_cancer_risk must be 'low' or 'high', age_years an integer "
            ">= 0: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False)),
            code="ML104",
        ) from exc
    result = fleischner_recommendation(nodule)
    reasons.extend(result.reasons)
    return _note(
        "fleischner_2017",
        result.category,
        reasons,
        candidates,
        rule=result.rule,
        category=result.rule if result.category == "recommendation" else None,
        recommendation=result.recommendation,
        citation=result.citation,
    )


def guideline_notes(
    text: str,
    sections: ReportSections,
    lesions: Sequence[Lesion],
    *,
    options: GuidelineOptions,
    meta: Mapping[str, Any] | None = None,
    record_id: str = "",
) -> tuple[GuidelineNote, ...]:
    """The guideline notes of one report (none when guidelines are off, no lung nodule is affirmed, or not a CT).

    Args:
        text: the report.
        sections: its report sections.
        lesions: the lesions of the section the impression is drafted from.
        options: task options.
        meta: ``Document.meta`` (``lung_cancer_risk``, ``age_years``, ``immunocompromised``, ``guideline_setting``).
        record_id: the record, named in errors.

    Raises:
        InputError: ML104 when ``meta`` holds an invalid guideline input or ``guideline_setting``.
    """
    meta = meta or {}
    if not options.enabled:
        return ()
    lung = _lung_lesions(lesions)
    if not lung:
        return ()
    setting = meta.get("guideline_setting", options.setting)
    if setting == "auto":
        if _SCREENING.search(text):
            setting = "screening"
        elif _CT.search(text):
            setting = "incidental"
        else:
            return ()
    if setting == "screening":
        return (_lung_rads(text, sections, lung),)
    if setting == "incidental":
        return (_fleischner(text, sections, lung, options, meta, record_id),)
    raise InputError(
        f"record {record_id!r}: guideline_setting {setting!r} is not one of auto, screening, incidental", code="ML104"
    )
