"""pathology.stage end to end on synthetic reports: T inferred from extent (and size), stated pT kept, review flag."""

from __future__ import annotations

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
