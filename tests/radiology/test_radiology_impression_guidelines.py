"""Guideline notes of radiology.impression: Lung-RADS v2022 on screening CT, Fleischner 2017 on other CT."""

from __future__ import annotations

import pytest

from medlens.core.errors import ConfigError, InputError
from medlens.core.types import Document
from medlens.radiology.impression import RadiologyImpressionRules

SCREEN_BASELINE = (
    "EXAM: LOW-DOSE CT CHEST FOR LUNG CANCER SCREENING\nCOMPARISON: None.\n"
    "FINDINGS: There is a {size} solid nodule in the right upper lobe. No pleural effusion.\n"
)
SCREEN_FOLLOWUP = (
    "EXAM: CT CHEST LUNG CANCER SCREENING\nCOMPARISON: CT 01/02/2025.\n"
    "FINDINGS: The 5 mm solid nodule in the right upper lobe is stable.\n"
)
INCIDENTAL = "EXAM: CT ABDOMEN AND PELVIS\nINDICATION: Abdominal pain.\nFINDINGS: A {nodule} in the left lower lobe.\n"


@pytest.fixture(scope="module")
def rules() -> RadiologyImpressionRules:
    return RadiologyImpressionRules()


@pytest.mark.parametrize(
    ("size", "category", "management"),
    [("5 mm", "2", "12 months"), ("7 mm", "3", "6 months"), ("9 mm", "4A", "3 months"), ("16 mm", "4B", "sampling")],
)
def test_screening_baseline_gets_lung_rads_category_and_management(
    rules: RadiologyImpressionRules, size: str, category: str, management: str
) -> None:
    res = rules.draft(SCREEN_BASELINE.format(size=size), "r1")
    (note,) = res.guidelines
    assert (note.guideline, note.status, note.category) == ("lung_rads_v2022", "recommendation", category)
    assert management in (note.recommendation or "")
    last = res.sentences[-1]
    assert last.kind == "guideline"
    assert last.text.startswith(f"Lung-RADS v2022 category {category}:")


def test_screening_follow_up_reads_stable_from_the_findings(rules: RadiologyImpressionRules) -> None:
    (note,) = rules.draft(SCREEN_FOLLOWUP, "r1").guidelines
    assert (note.status, note.category, note.rule) == ("recommendation", "2", "S.stable.lt6")


def test_screening_without_comparison_is_insufficient(rules: RadiologyImpressionRules) -> None:
    text = "EXAM: LDCT\nFINDINGS: A 7 mm solid nodule in the right upper lobe.\n"
    res = rules.draft(text, "r1")
    (note,) = res.guidelines
    assert (note.status, note.rule) == ("insufficient", "insufficient.exam_status")
    assert all(s.kind != "guideline" for s in res.sentences)


def test_screening_nodule_without_composition_is_insufficient(rules: RadiologyImpressionRules) -> None:
    text = SCREEN_BASELINE.format(size="7 mm").replace("solid ", "")
    (note,) = rules.draft(text, "r1").guidelines
    assert (note.status, note.rule) == ("insufficient", "insufficient.nodule_input")


def test_guideline_evidence_slices_to_the_lesion_text(rules: RadiologyImpressionRules) -> None:
    text = SCREEN_BASELINE.format(size="7 mm")
    res = rules.draft(text, "r1")
    quotes = {ev.quote for ev in res.guidelines[0].evidence}
    assert {"7 mm", "solid", "nodule"} <= quotes
    for ev in res.sentences[-1].evidence:
        assert text[ev.start : ev.end] == ev.quote


@pytest.mark.parametrize(
    ("nodule", "meta", "status", "rule"),
    [
        ("7 x 5 mm solid nodule", {"lung_cancer_risk": "low"}, "recommendation", "A.single.6to8.low"),
        ("7 x 5 mm solid nodule", {"lung_cancer_risk": "high"}, "recommendation", "A.single.6to8.high"),
        ("7 x 5 mm solid nodule", {}, "insufficient", "insufficient.risk_missing"),
        ("4 mm solid nodule", {"lung_cancer_risk": "low"}, "recommendation", "A.single.lt6.low"),
        ("8 mm ground-glass nodule", {}, "recommendation", "B.single.ggn.ge6"),
        ("nodule", {"lung_cancer_risk": "low"}, "insufficient", "insufficient.type_missing"),
        ("solid nodule", {"lung_cancer_risk": "low"}, "insufficient", "insufficient.size_missing"),
        ("7 mm calcified granuloma", {}, "not_applicable", "exclusion.no_nodule"),
        ("7 mm solid nodule", {"lung_cancer_risk": "low", "age_years": 30}, "not_applicable", "exclusion.age"),
    ],
)
def test_incidental_nodule_gets_fleischner_cell(
    rules: RadiologyImpressionRules, nodule: str, meta: dict[str, object], status: str, rule: str
) -> None:
    (note,) = rules.draft(INCIDENTAL.format(nodule=nodule), "r1", meta=meta).guidelines
    assert (note.guideline, note.status, note.rule) == ("fleischner_2017", status, rule)


def test_known_cancer_in_the_indication_excludes_fleischner(rules: RadiologyImpressionRules) -> None:
    text = (
        "EXAM: CT CHEST\nINDICATION: Staging of colon cancer.\nFINDINGS: A 7 mm solid nodule in the left lower lobe.\n"
    )
    (note,) = rules.draft(text, "r1", meta={"lung_cancer_risk": "low"}).guidelines
    assert (note.status, note.rule) == ("not_applicable", "exclusion.known_cancer")


def test_negated_cancer_in_the_indication_does_not_exclude(rules: RadiologyImpressionRules) -> None:
    text = (
        "EXAM: CT CHEST\nINDICATION: Cough. No history of cancer.\n"
        "FINDINGS: A 7 mm solid nodule in the left lower lobe.\n"
    )
    (note,) = rules.draft(text, "r1", meta={"lung_cancer_risk": "low"}).guidelines
    assert note.status == "recommendation"


def test_chest_radiograph_gets_no_guideline_note(rules: RadiologyImpressionRules) -> None:
    text = "EXAM: PA AND LATERAL CHEST\nFINDINGS: A 7 mm solid nodule in the left lower lobe.\n"
    assert rules.draft(text, "r1").guidelines == ()


def test_negated_nodule_gets_no_guideline_note(rules: RadiologyImpressionRules) -> None:
    text = "EXAM: CT CHEST\nFINDINGS: No pulmonary nodules. Clear lungs.\n"
    assert rules.draft(text, "r1").guidelines == ()


def test_setting_option_overrides_auto_detection() -> None:
    rules = RadiologyImpressionRules(guidelines={"setting": "screening"})
    text = "EXAM: CT CHEST\nCOMPARISON: None.\nFINDINGS: A 7 mm solid nodule in the left lower lobe.\n"
    (note,) = rules.draft(text, "r1").guidelines
    assert note.guideline == "lung_rads_v2022"


def test_guidelines_can_be_switched_off() -> None:
    rules = RadiologyImpressionRules(guidelines={"enabled": False})
    assert rules.draft(SCREEN_BASELINE.format(size="7 mm"), "r1").guidelines == ()


def test_invalid_guideline_options_are_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        RadiologyImpressionRules(guidelines={"setting": "sometimes"})
    assert err.value.code == "ML201"


def test_invalid_risk_in_meta_names_the_record_and_field(rules: RadiologyImpressionRules) -> None:
    with pytest.raises(InputError, match=r"record 'r1'.*lung_cancer_risk"):
        rules.draft(INCIDENTAL.format(nodule="7 mm solid nodule"), "r1", meta={"lung_cancer_risk": "medium"})


def test_task_call_passes_document_meta(rules: RadiologyImpressionRules) -> None:
    doc = Document(id="d1", text=INCIDENTAL.format(nodule="7 x 5 mm solid nodule"), meta={"lung_cancer_risk": "high"})
    (res,) = rules([doc])
    assert res.guidelines[0].rule == "A.single.6to8.high"
