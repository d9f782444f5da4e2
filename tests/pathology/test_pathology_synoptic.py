"""pathology.synoptic: completeness and consistency findings (tables), Markdown/HTML escaping, FHIR R4 validity."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from medlens.core.types import Document, Evidence
from medlens.pathology.schema import (
    CancerType,
    Her2,
    HistologicType,
    LymphNodes,
    PathologyFields,
    Receptor,
    StatedStage,
    TNMCategory,
    TumourSize,
)
from medlens.pathology.stage import stage_fields
from medlens.pathology.synoptic import (
    AIAST,
    PathologySynopticResult,
    PathologySynopticRules,
    build_synoptic,
    render_html,
    synoptic_bundle,
)
from medlens.pathology.synoptic_checks import (
    check_completeness,
    check_nodes,
    check_receptors,
    check_size,
    load_synoptic_required,
)

RID = "rec-9"
TEXT = "carcinoma; size; nodes; ER; PR; HER2; stage; T; N; M; histology <b>"


def ev(snippet: str) -> Evidence:
    start = TEXT.index(snippet)
    return Evidence.of(TEXT, RID, start, start + len(snippet), "test")


def tnm(value: str, snippet: str) -> TNMCategory:
    prefix = value[: len(value) - len(value.lstrip("pcyr"))] or None
    sub = value[len(prefix or "") :]
    return TNMCategory(value=value, prefix=prefix, category=sub[:2], subcategory=sub, evidence=(ev(snippet),))


def fields(code: str = "BRCA", **kw: Any) -> PathologyFields:
    return PathologyFields(
        cancer_type=CancerType(tcga_code=code, name=code, score=1.0, evidence=(ev("carcinoma"),)), **kw
    )


SITE = {"BRCA": "breast", "COAD": "colorectal", "LUAD": "lung"}


# --- completeness -------------------------------------------------------------------------------------------------


def test_required_elements_are_declared_for_breast_colorectal_lung() -> None:
    assert set(load_synoptic_required().sites) >= {"breast", "colorectal", "lung"}


@pytest.mark.parametrize(
    ("site", "element", "code"),
    [
        ("breast", "grade", "required_element_missing"),
        ("breast", "er", "recommended_element_missing"),
        ("colorectal", "perineural_invasion", "required_element_missing"),
        ("lung", "tumour_size", "required_element_missing"),
    ],
)
def test_missing_element_is_a_completeness_finding(site: str, element: str, code: str) -> None:
    found = {(f.element, f.code) for f in check_completeness(PathologyFields(), site)}
    assert (element, code) in found


def test_stated_element_is_not_missing() -> None:
    size = TumourSize(largest_mm=12, dimensions_mm=(12,), evidence=(ev("size"),))
    found = {f.element for f in check_completeness(PathologyFields(tumour_size=size), "breast")}
    assert "tumour_size" not in found


def test_required_missing_is_warning_and_cites_cap_protocol() -> None:
    finding = next(f for f in check_completeness(PathologyFields(), "breast") if f.element == "grade")
    assert finding.severity == "warning"
    assert finding.kind == "completeness"
    assert finding.source.startswith("CAP Cancer Protocol Breast Invasive Resection")


def test_site_without_element_list_has_no_completeness_findings() -> None:
    assert check_completeness(PathologyFields(), "kidney") == []


# --- pN versus node counts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "pn", "involved", "flagged"),
    [
        ("BRCA", "pN0", 0, False),
        ("BRCA", "pN0", 3, True),
        ("BRCA", "pN0(i+)", 1, False),
        ("BRCA", "pN1a", 2, False),
        ("BRCA", "pN1a", 0, True),
        ("BRCA", "pN1a", 5, True),
        ("BRCA", "pN1mi", 5, False),
        ("BRCA", "pN2a", 3, True),
        ("BRCA", "pN2a", 6, False),
        ("BRCA", "pN2a", 12, True),
        ("BRCA", "pN2b", 0, False),
        ("BRCA", "pN3a", 8, True),
        ("BRCA", "pN3a", 12, False),
        ("BRCA", "cN1", 0, False),
        ("BRCA", "ypN1a", 5, True),
        ("COAD", "pN1a", 1, False),
        ("COAD", "pN1a", 2, True),
        ("COAD", "pN1b", 2, False),
        ("COAD", "pN1b", 4, True),
        ("COAD", "pN1c", 0, False),
        ("COAD", "pN1c", 1, True),
        ("COAD", "pN1", 0, False),
        ("COAD", "pN1", 5, True),
        ("COAD", "pN2a", 8, True),
        ("COAD", "pN2b", 7, False),
        ("COAD", "pN2", 3, True),
        ("LUAD", "pN1", 0, True),
        ("LUAD", "pN2", 3, False),
    ],
)
def test_pn_versus_node_count(code: str, pn: str, involved: int, flagged: bool) -> None:
    nodes = LymphNodes(involved=involved, examined=15, evidence=(ev("nodes"),))
    findings = check_nodes(fields(code, pN=tnm(pn, "N"), lymph_nodes=nodes), SITE[code])
    assert bool(findings) is flagged
    for f in findings:
        assert f.code == "pn_node_count"
        assert f.kind == "consistency"
        assert [e.quote for e in f.evidence] == ["N", "nodes"]
        assert "Chapter" in f.source or "N0" in f.source


def test_no_count_no_node_finding() -> None:
    assert check_nodes(fields(pN=tnm("pN0", "N"), lymph_nodes=LymphNodes(supported=False)), "breast") == []


# --- pT versus size -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "pt", "size_mm", "flagged"),
    [
        ("BRCA", "pT1c", 35, True),
        ("BRCA", "pT1c", 15, False),
        ("BRCA", "pT1c", 20.5, False),
        ("BRCA", "pT1b", 15, True),
        ("BRCA", "pT1", 18, False),
        ("BRCA", "pT1", 35, True),
        ("BRCA", "pT2", 15, True),
        ("BRCA", "pT2", 30, False),
        ("BRCA", "pT3", 30, True),
        ("BRCA", "pT3", 60, False),
        ("BRCA", "pT4b", 15, False),
        ("BRCA", "pTis", 40, False),
        ("BRCA", "pT1mi", 15, False),
        ("LUAD", "pT1a", 35, True),
        ("LUAD", "pT1c", 25, False),
        ("LUAD", "pT2a", 20, False),
        ("LUAD", "pT2a", 45, True),
        ("LUAD", "pT2b", 20, True),
        ("LUAD", "pT2", 45, False),
        ("LUAD", "pT3", 20, False),
        ("LUAD", "pT2b", 80, True),
        ("COAD", "pT1", 40, False),
    ],
)
def test_pt_versus_size(code: str, pt: str, size_mm: float, flagged: bool) -> None:
    size = TumourSize(largest_mm=size_mm, dimensions_mm=(size_mm,), evidence=(ev("size"),))
    findings = check_size(fields(code, pT=tnm(pt, "T"), tumour_size=size), SITE[code])
    assert bool(findings) is flagged
    for f in findings:
        assert f.code == "pt_size"
        assert [e.quote for e in f.evidence] == ["T", "size"]


# --- receptors ----------------------------------------------------------------------------------------------------


def receptor(status: str, percent: float) -> Receptor:
    return Receptor(status=status, percent=percent, evidence=(ev("ER"),))


@pytest.mark.parametrize(
    ("er", "pr", "codes"),
    [
        (receptor("positive", 90), receptor("positive", 50), []),
        (receptor("negative", 0), receptor("negative", 0), []),
        (receptor("negative", 5), None, ["receptor_status_percent"]),
        (receptor("positive", 0.5), None, ["receptor_status_percent"]),
        (receptor("positive", 5), None, ["er_low_positive"]),
        (receptor("low_positive", 5), None, []),
        (receptor("low_positive", 50), None, ["receptor_status_percent"]),
        (None, receptor("positive", 5), []),
        (None, receptor("negative", 20), ["receptor_status_percent"]),
    ],
)
def test_er_pr_status_versus_percent(er: Receptor | None, pr: Receptor | None, codes: list[str]) -> None:
    findings = check_receptors(PathologyFields(er=er, pr=pr))
    assert [f.code for f in findings] == codes
    assert all("ASCO/CAP" in f.source and "2020" in f.source for f in findings)


def test_er_low_positive_is_information() -> None:
    (finding,) = check_receptors(PathologyFields(er=receptor("positive", 5)))
    assert finding.severity == "info"


@pytest.mark.parametrize(
    ("ihc", "ish", "status", "flagged"),
    [
        ("3+", None, "negative", True),
        ("3+", None, "positive", False),
        ("1+", None, "positive", True),
        ("0", None, "positive", True),
        ("1+", "amplified", "positive", False),
        ("0", None, "negative", False),
        ("2+", None, "negative", False),
    ],
)
def test_her2_ihc_versus_status(ihc: str, ish: str | None, status: str, flagged: bool) -> None:
    her2 = Her2(ihc=ihc, ish=ish, status=status, evidence=(ev("HER2"),))
    findings = check_receptors(PathologyFields(her2=her2))
    assert bool(findings) is flagged
    for f in findings:
        assert f.code == "her2_ihc_status"
        assert "2018" in f.source
        assert f.evidence[0].quote == "HER2"


# --- stage vs components, build -----------------------------------------------------------------------------------


def full_fields(**kw: Any) -> PathologyFields:
    base: dict[str, Any] = {
        "histologic_type": HistologicType(value="invasive ductal carcinoma <b>", evidence=(ev("histology <b>"),)),
        "pT": tnm("pT2", "T"),
        "pN": tnm("pN0", "N"),
        "pM": tnm("cM0", "M"),
        "stated_stage": StatedStage(value="IIIA", group="III", evidence=(ev("stage"),)),
    }
    base.update(kw)
    return fields(**base)


def test_stated_stage_disagreement_is_a_consistency_finding_with_component_evidence() -> None:
    report = build_synoptic(full_fields())
    finding = next(f for f in report.findings if f.code == "stage_disagrees")
    assert finding.severity == "warning"
    assert [e.quote for e in finding.evidence] == ["T", "N", "M", "stage"]
    assert "IIA" in finding.message
    assert "Chapter 48" in finding.source


def test_agreeing_stage_gives_no_stage_finding() -> None:
    report = build_synoptic(full_fields(stated_stage=StatedStage(value="IIA", group="II", evidence=(ev("stage"),))))
    assert not [f for f in report.findings if f.code == "stage_disagrees"]


def test_every_finding_evidence_slices_to_its_quote() -> None:
    nodes = LymphNodes(involved=3, examined=10, evidence=(ev("nodes"),))
    report = build_synoptic(full_fields(lymph_nodes=nodes, er=receptor("negative", 30)))
    assert report.findings
    for f in report.findings:
        for e in f.evidence:
            assert TEXT[e.start : e.end] == e.quote


def test_elements_follow_the_site_protocol_with_levels() -> None:
    report = build_synoptic(full_fields())
    levels = {e.name: e.level for e in report.elements}
    assert levels["grade"] == "required"
    assert levels["er"] == "recommended"
    assert levels["stated_stage"] == "optional"
    grade = next(e for e in report.elements if e.name == "grade")
    assert grade.value is None
    assert grade.evidence == ()


def test_markdown_escapes_values() -> None:
    report = build_synoptic(full_fields())
    assert "<b>" not in report.markdown
    assert "\\<b\\>" in report.markdown
    assert "not for diagnostic use" in report.markdown


def test_html_escapes_values_and_quotes() -> None:
    html = render_html(build_synoptic(full_fields()))
    assert "<b>" not in html
    assert "&lt;b&gt;" in html
    assert html.startswith("<!DOCTYPE html>")


def test_fhir_bundle_validates_and_carries_aiast_and_offsets() -> None:
    document = Document(id="rec-9", text=TEXT, kind="pathology", patient_id="p-1")
    report = build_synoptic(full_fields(stated_stage=StatedStage(value="IIA", group="II", evidence=(ev("stage"),))))
    bundle = synoptic_bundle(report, document)
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    diagnostic = next(r for r in resources if r["resourceType"] == "DiagnosticReport")
    assert diagnostic["status"] == "partial"
    assert diagnostic["meta"]["security"] == [AIAST]
    markdown = base64.b64decode(diagnostic["presentedForm"][0]["data"]).decode("utf-8")
    assert markdown == report.markdown
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert len(diagnostic["result"]) == len(observations)
    stage = next(o for o in observations if o["code"]["coding"][0]["code"] == "ajcc8_stage_group")
    assert stage["valueString"] == "IIA"
    for obs in observations:
        assert obs["meta"]["security"] == [AIAST]
        for ext in obs["extension"]:
            parts = {p["url"]: p for p in ext["extension"]}
            offset, length = parts["offset"]["valueInteger"], parts["length"]["valueInteger"]
            assert TEXT[offset : offset + length] in TEXT
    assert TEXT not in str(bundle)


def test_fhir_bundle_of_report_without_elements_validates() -> None:
    document = Document(id="empty", text="", kind="pathology")
    bundle = synoptic_bundle(build_synoptic(PathologyFields()), document)
    Bundle.model_validate(bundle)


REPORT = (
    "FINAL DIAGNOSIS:\n"
    "Left breast, mastectomy: invasive ductal carcinoma, 3.5 cm.\n"
    "Lymph nodes: 2/12 positive.\n"
    "ER: negative (40%). HER2: IHC 3+, negative.\n"
    "Pathologic stage: pT1c pN0 cM0.\n"
)


def test_task_runs_extraction_stage_and_checks_end_to_end() -> None:
    task = PathologySynopticRules()
    (result,) = task([Document(id="e2e", text=REPORT, kind="pathology")])
    assert isinstance(result, PathologySynopticResult)
    assert result.name == "medlens.task.pathology.synoptic.v1"
    assert result.site == "breast"
    codes = {f.code for f in result.findings}
    assert {"pn_node_count", "pt_size"} <= codes
    for f in result.findings:
        for e in f.evidence:
            e.verify(REPORT)
    assert result.markdown.startswith("# Synoptic pathology report: Breast")
    assert result.stage.n == "pN0"


def test_task_result_round_trips_through_json() -> None:
    (result,) = PathologySynopticRules()([Document(id="rt", text=REPORT, kind="pathology")])
    assert PathologySynopticResult.model_validate_json(result.model_dump_json()) == result


def test_stage_of_fields_is_reused_when_given() -> None:
    f = full_fields()
    stage = stage_fields(f, assume_cm0=True)
    assert build_synoptic(f, stage=stage).stage == stage


def test_repeated_evidence_span_is_given_once() -> None:
    nodes = LymphNodes(involved=3, examined=15, evidence=(ev("nodes"), ev("nodes")))
    (finding,) = check_nodes(fields(pN=tnm("pN0", "N"), lymph_nodes=nodes), "breast")
    assert [e.quote for e in finding.evidence] == ["N", "nodes"]
