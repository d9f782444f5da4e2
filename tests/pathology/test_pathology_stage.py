"""pathology.stage: site mapping, AJCC engine call with prefixes kept, T from size (inferred), stated vs computed.

Fields are built by hand over a synthetic text so every evidence span is exact; the last tests run the extraction.
"""

from __future__ import annotations

from typing import Any

import pytest

from medlens.core.types import Document, Evidence
from medlens.pathology.schema import (
    CancerType,
    Grade,
    PathologyFields,
    Specimen,
    StatedStage,
    TNMCategory,
    TumourSize,
)
from medlens.pathology.stage import (
    PathologyStageRules,
    ajcc_site_for,
    compare_stage,
    grade_group,
    load_ajcc_sites,
    stage_fields,
)
from medlens.pathology.stage_schema import PathologyStageResult

RID = "rec-1"
TEXT = (
    "FINAL DIAGNOSIS: carcinoma. Size 25 mm. pT2 pT1b pT3 ypT0 pN0 pN1a ypN0 pN1 cM0 pM1 Stage IIA Stage IIIA "
    "Stage II Stage IA Stage IIIB Stage IIB"
)


def ev(snippet: str, occurrence: int = 0) -> Evidence:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(snippet, start + 1)
    return Evidence.of(TEXT, RID, start, start + len(snippet), "test")


def tnm(value: str) -> TNMCategory:
    prefix = value[: len(value) - len(value.lstrip("pcyr"))] or None
    sub = value[len(prefix or "") :]
    return TNMCategory(
        value=value,
        prefix=prefix,
        category=sub[:2],
        subcategory=sub,
        evidence=(ev(value),),
    )


def cancer(code: str) -> CancerType:
    return CancerType(tcga_code=code, name=code, score=1.0, evidence=(ev("carcinoma"),))


def stated(value: str) -> StatedStage:
    return StatedStage(value=value, group=value.rstrip("ABC123"), evidence=(ev(f"Stage {value}"),))


def fields(code: str | None = "BRCA", **kw: Any) -> PathologyFields:
    return PathologyFields(cancer_type=cancer(code) if code else None, **kw)


@pytest.mark.parametrize(
    ("code", "site"),
    [
        ("BRCA", "breast"),
        ("COAD", "colorectal"),
        ("READ", "colorectal"),
        ("LUAD", "lung"),
        ("LUSC", "lung"),
        ("KIRC", "kidney"),
        ("HNSC", None),
        ("SARC", None),
        ("GBM", None),
    ],
)
def test_tcga_code_maps_to_ajcc_site(code: str, site: str | None) -> None:
    assert ajcc_site_for(fields(code))[0] == site


def test_every_tcga_study_is_in_the_site_table() -> None:
    codes = {row.code for row in load_ajcc_sites().tcga}
    assert len(codes) == 32


def test_unmapped_study_gives_reason_without_report_text() -> None:
    site, source, reason = ajcc_site_for(fields("HNSC"))
    assert site is None
    assert source is None
    assert "HNSC" in reason
    assert "carcinoma" not in reason


def test_specimen_organ_maps_when_no_cancer_type() -> None:
    spec = Specimen(site="left breast", evidence=(ev("carcinoma"),))
    assert ajcc_site_for(fields(None, specimens=(spec,)))[:2] == ("breast", "specimen")


def test_specimens_of_two_sites_map_to_none() -> None:
    specs = tuple(Specimen(site=s, evidence=(ev("carcinoma"),)) for s in ("breast", "sigmoid colon"))
    assert ajcc_site_for(fields(None, specimens=specs))[0] is None


# (TCGA code, T, N, M, stated, status, group, agreement)
STAGE_ROWS = [
    ("BRCA", "pT2", "pN0", "cM0", "IIA", "staged", "IIA", "agree"),
    ("BRCA", "pT2", "pN0", "cM0", "IIIA", "staged", "IIA", "disagree"),
    ("BRCA", "pT2", "pN0", "cM0", "II", "staged", "IIA", "agree"),
    ("BRCA", "pT2", "pN0", "cM0", None, "staged", "IIA", "not_stated"),
    ("BRCA", "pT2", "pN0", "pM1", None, "staged", "IV", "not_stated"),
    ("BRCA", "pT2", "pN1a", None, "IIB", "insufficient", None, "undetermined"),
    ("BRCA", "pT2", "pN1a", None, "IIIA", "insufficient", None, "disagree"),
    ("BRCA", "ypT0", "ypN0", "cM0", None, "not_applicable", None, "not_stated"),
    ("COAD", "pT3", "pN0", "cM0", "II", "staged", "IIA", "agree"),
    ("READ", "pT3", "pN1", "cM0", "IIIB", "staged", "IIIB", "agree"),
    ("LUAD", "pT1b", "pN0", "cM0", "IA", "staged", "IA2", "agree"),
    ("LUSC", "pT3", "pN0", "cM0", "IIB", "staged", "IIB", "agree"),
    ("HNSC", "pT2", "pN0", "cM0", None, "not_applicable", None, "not_stated"),
    ("HNSC", "pT2", "pN0", "cM0", "II", "not_applicable", None, "undetermined"),
    ("KIRC", "pT2", "pN0", "cM0", None, "staged", "II", "not_stated"),
    ("UVM", "pT2", "pN0", "cM0", None, "not_applicable", None, "not_stated"),
]


@pytest.mark.parametrize(("code", "t", "n", "m", "said", "status", "group", "agreement"), STAGE_ROWS)
def test_stage_row(
    code: str, t: str, n: str, m: str | None, said: str | None, status: str, group: str | None, agreement: str
) -> None:
    f = fields(
        code,
        pT=tnm(t),
        pN=tnm(n),
        pM=tnm(m) if m else None,
        stated_stage=stated(said) if said else None,
    )
    result = stage_fields(f)
    assert (result.status, result.stage_group, result.agreement) == (status, group, agreement)


def test_prefix_is_kept_for_the_engine() -> None:
    result = stage_fields(fields("BRCA", pT=tnm("ypT0"), pN=tnm("ypN0"), pM=tnm("cM0")))
    assert (result.t, result.n, result.classification) == ("ypT0", "ypN0", "yp")


def test_staged_result_cites_the_ajcc_chapter() -> None:
    result = stage_fields(fields("BRCA", pT=tnm("pT2"), pN=tnm("pN0"), pM=tnm("cM0")))
    assert result.citation is not None
    assert "Chapter 48" in result.citation.table
    assert result.rule is not None
    assert result.rule.startswith("breast.")


def test_missing_m_is_not_assumed_by_default() -> None:
    result = stage_fields(fields("BRCA", pT=tnm("pT2"), pN=tnm("pN0")))
    assert result.status == "insufficient"
    assert result.missing == ("M",)
    assert not result.m_assumed


def test_assume_cm0_stages_and_marks_m_assumed() -> None:
    result = stage_fields(fields("BRCA", pT=tnm("pT2"), pN=tnm("pN0")), assume_cm0=True)
    assert (result.status, result.stage_group, result.m, result.m_assumed) == ("staged", "IIA", "cM0", True)


def test_t_inferred_from_size_where_size_defines_t() -> None:
    size = TumourSize(largest_mm=25, dimensions_mm=(25,), evidence=(ev("25 mm"),))
    result = stage_fields(fields("LUAD", tumour_size=size, pN=tnm("pN0"), pM=tnm("cM0")))
    assert (result.t, result.t_inferred, result.stage_group) == ("T1c", True, "IA3")
    assert any("inferred from size" in r for r in result.reasons)
    assert "25 mm" in [e.quote for e in result.evidence]


def test_t_not_inferred_where_t_is_by_depth() -> None:
    size = TumourSize(largest_mm=25, dimensions_mm=(25,), evidence=(ev("25 mm"),))
    result = stage_fields(fields("COAD", tumour_size=size, pN=tnm("pN0"), pM=tnm("cM0")))
    assert (result.t, result.t_inferred, result.status) == (None, False, "insufficient")


def test_stated_t_wins_over_size() -> None:
    size = TumourSize(largest_mm=25, dimensions_mm=(25,), evidence=(ev("25 mm"),))
    result = stage_fields(fields("LUAD", tumour_size=size, pT=tnm("pT3"), pN=tnm("pN0"), pM=tnm("cM0")))
    assert (result.t, result.t_inferred) == ("pT3", False)


def test_evidence_is_the_tnm_and_stated_spans() -> None:
    result = stage_fields(fields("BRCA", pT=tnm("pT2"), pN=tnm("pN0"), pM=tnm("cM0"), stated_stage=stated("IIA")))
    assert [e.quote for e in result.evidence] == ["pT2", "pN0", "cM0", "Stage IIA"]
    assert all(TEXT[e.start : e.end] == e.quote for e in result.evidence)


def test_unsupported_site_without_evidence_is_unsupported_claim() -> None:
    result = stage_fields(PathologyFields())
    assert result.status == "not_applicable"
    assert result.supported is False
    assert result.evidence == ()


@pytest.mark.parametrize(
    ("said", "group", "candidates", "expected"),
    [
        (None, "IIA", (), "not_stated"),
        ("IIA", "IIA", (), "agree"),
        ("II", "IIA", (), "agree"),
        ("IA", "IA2", (), "agree"),
        ("I", "IIA", (), "disagree"),
        ("IIB", "IIA", (), "disagree"),
        ("IA3", "IA2", (), "disagree"),
        ("stage iia", "IIA", (), "agree"),
        ("IIB", None, ("IIB", "IV"), "undetermined"),
        ("IIIA", None, ("IIB", "IV"), "disagree"),
        ("IIIA", None, ("IIB", "no stage group"), "undetermined"),
        ("IIIA", None, (), "undetermined"),
        ("Occult carcinoma", "Occult carcinoma", (), "agree"),
    ],
)
def test_compare_stage(said: str | None, group: str | None, candidates: tuple[str, ...], expected: str) -> None:
    assert compare_stage(said, group, candidates) == expected


REPORT = (
    "FINAL DIAGNOSIS:\n"
    "Left breast, mastectomy: invasive ductal carcinoma, 2.2 cm.\n"
    "Lymph nodes: 0/12 positive.\n"
    "Pathologic stage: pT2 pN0 cM0. AJCC stage IIA.\n"
)


def test_task_returns_one_result_per_document_with_grounded_evidence() -> None:
    task = PathologyStageRules()
    docs = [Document(id="a", text=REPORT, kind="pathology"), Document(id="b", text="", kind="pathology")]
    results = task(docs)
    assert [type(r) for r in results] == [PathologyStageResult, PathologyStageResult]
    first = results[0]
    assert first.name == "medlens.task.pathology.stage.v1"
    assert first.backend == "rules"
    assert first.stage.site == "breast"
    assert first.stage.t == "pT2"
    assert first.stage.n == "pN0"
    for e in first.stage.evidence:
        e.verify(REPORT)
        assert e.record_id == "a"
    assert results[1].stage.status == "not_applicable"


def test_task_declares_what_it_requires_and_assigns() -> None:
    assert PathologyStageRules.requires == ("document.text",)
    assert PathologyStageRules.assigns == ("tasks.pathology.stage",)


@pytest.mark.parametrize(
    ("value", "system", "expected"),
    [
        ("3+3=6", "gleason", 1),
        ("3+4=7", "gleason", 2),
        ("4+3=7", "gleason", 3),
        ("4+4=8", "gleason", 4),
        ("3+5=8", "gleason", 4),
        ("4+5=9", "gleason", 5),
        ("5+5=10", "gleason", 5),
        ("G2", "g", None),
    ],
)
def test_grade_group_from_gleason(value: str, system: str, expected: int | None) -> None:
    grade = Grade(value=value, system=system, evidence=(ev("carcinoma"),))
    assert grade_group(grade) == expected


def test_prostate_gets_grade_group_from_gleason_and_needs_psa() -> None:
    grade = Grade(value="4+5=9", system="gleason", evidence=(ev("carcinoma"),))
    result = stage_fields(fields("PRAD", pT=tnm("pT2"), pN=tnm("pN0"), pM=tnm("cM0"), grade=grade))
    assert "grade_group" not in result.missing
    assert any("Grade Group 5" in r for r in result.reasons)
