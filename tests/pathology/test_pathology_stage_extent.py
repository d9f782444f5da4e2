"""pathology.stage end to end on synthetic reports: T inferred from extent (and size), stated pT kept, review flag."""

from __future__ import annotations

import pytest

from medlens.core.types import Document
from medlens.pathology.stage import PathologyStageRules, stage_document

COLON = (
    "FINAL DIAGNOSIS: Sigmoid colon, segmental resection: invasive adenocarcinoma of the colon, moderately "
    "differentiated. Tumor invades through the muscularis propria into pericolic fat. Tumor size 4.0 cm."
)
COLON_PT2 = COLON + " Pathologic stage: pT2 pN0."
COLON_NEGATED = (
    "FINAL DIAGNOSIS: Sigmoid colon, segmental resection: invasive adenocarcinoma of the colon. Tumor invades "
    "the submucosa and does not invade the muscularis propria."
)
LUNG = (
    "FINAL DIAGNOSIS: Right upper lobe of lung, lobectomy: invasive adenocarcinoma of the lung, 2.5 cm. "
    "Tumor invades the visceral pleura."
)


def test_t_inferred_from_extent_is_marked() -> None:
    stage = stage_document(COLON, "r1")
    assert (stage.t, stage.t_inferred, stage.t_source, stage.t_extent) == ("T3", True, "extent", "T3")
    assert "colorectal.T3.pericolorectal" in stage.extent_criteria


def test_extent_evidence_is_attached() -> None:
    stage = stage_document(COLON, "r1")
    quotes = {e.quote for e in stage.evidence}
    assert "into pericolic fat" in quotes
    assert all(COLON[e.start : e.end] == e.quote for e in stage.evidence)


def test_stated_pt_kept_and_flagged_when_below_extent() -> None:
    stage = stage_document(COLON_PT2, "r2")
    assert (stage.t, stage.t_source, stage.t_inferred) == ("pT2", "stated", False)
    assert (stage.t_extent, stage.t_below_extent) == ("T3", True)


def test_negated_extent_not_used() -> None:
    stage = stage_document(COLON_NEGATED, "r3")
    assert (stage.t, stage.t_source) == ("T1", "extent")


def test_lung_extent_with_size() -> None:
    stage = stage_document(LUNG, "r4")
    assert (stage.t, stage.t_source) == ("T2a", "extent")


def test_task_returns_one_result_per_document() -> None:
    docs = [Document(id="a", text=COLON, kind="pathology"), Document(id="b", text=LUNG, kind="pathology")]
    results = PathologyStageRules()(docs)
    assert [r.stage.t for r in results] == ["T3", "T2a"]


# Liver (AJCC 8th ch. 22): tumour count, size and vascular invasion; T4 by extension.
def _liver(focality: str, size: str, vascular: str, extra: str = "") -> str:
    return (
        "FINAL DIAGNOSIS: Liver, right lobe, partial hepatectomy: hepatocellular carcinoma, moderately "
        f"differentiated. Tumor focality: {focality}. Tumor size: {size} cm. Vascular invasion: {vascular}.{extra}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_liver("Solitary", "2.0", "present"), "T1a"),
        (_liver("Solitary", "2.1", "not identified"), "T1b"),
        (_liver("Solitary", "2.1", "present"), "T2"),
        (_liver("Multiple", "3.0", "not identified"), "T2"),
        (_liver("Multiple", "6.0", "not identified"), "T3"),
        (_liver("Solitary", "1.5", "present", " Tumor thrombus in a major branch of the portal vein."), "T4"),
    ],
)
def test_liver_t_from_tumour_features(text: str, expected: str) -> None:
    stage = stage_document(text, "liver")
    assert (stage.site, stage.t, stage.t_inferred) == ("liver", expected, True)


def test_liver_grid_marks_source_and_cites_evidence() -> None:
    text = _liver("Solitary", "2.1", "present")
    stage = stage_document(text, "liver")
    assert stage.t_source == "tumour_features"
    quotes = {e.quote for e in stage.evidence}
    assert "Solitary" in quotes
    assert all(text[e.start : e.end] == e.quote for e in stage.evidence)


def test_liver_negated_vascular_invasion_keeps_t1b() -> None:
    text = (
        "FINAL DIAGNOSIS: Liver, partial hepatectomy: hepatocellular carcinoma, solitary, 3.5 cm in greatest "
        "dimension, without vascular invasion."
    )
    assert stage_document(text, "liver").t == "T1b"


def test_liver_stated_pt_is_kept() -> None:
    stage = stage_document(_liver("Multiple", "6.0", "present", " Pathologic stage: pT2 pNX."), "liver")
    assert (stage.t, stage.t_source, stage.t_inferred) == ("pT2", "stated", False)


# Adrenal cortical carcinoma (AJCC 8th ch. 76): 5 cm band, extension beyond the adrenal.
@pytest.mark.parametrize(
    ("extra", "size", "expected", "source"),
    [
        ("", "5.0", "T1", "size"),
        ("", "5.1", "T2", "size"),
        (" Tumor extends into periadrenal fat.", "3.0", "T3", "extent"),
        (" Tumor directly invades the kidney.", "3.0", "T4", "extent"),
    ],
)
def test_adrenal_cortical_carcinoma_t(extra: str, size: str, expected: str, source: str) -> None:
    text = (
        "FINAL DIAGNOSIS: Left adrenal gland, adrenalectomy: adrenal cortical carcinoma, "
        f"{size} cm in greatest dimension.{extra}"
    )
    stage = stage_document(text, "acc")
    assert (stage.site, stage.t, stage.t_source) == ("adrenal_cortex", expected, source)
