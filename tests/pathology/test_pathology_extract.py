import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from medlens.core.types import Document
from medlens.pathology.extract import PathologyExtractRules, extract_pathology
from medlens.pathology.schema import PathologyExtractResult, PathologyFields

BREAST = (
    "FINAL DIAGNOSIS: PART 1: LEFT BREAST, SEGMENTAL MASTECTOMY -. A. INFILTRATING DUCTAL CARCINOMA, "
    "2. 1 X 1.5 X 1.0 CM. "
    "B. NOTTINGHAM SCORE 6 OUT OF 9. C. NO LYMPHOVASCULAR INVASION IDENTIFIED. D. SURGICAL MARGINS NEGATIVE. "
    "E. CLOSEST MARGIN: ANTERIOR, 0.4 CM. PART 2: LEFT SENTINEL LYMPH NODE, BIOPSY -. ONE LYMPH NODE NEGATIVE (0/1). "
    "ER: positive, 95%, strong intensity, Allred 8. PR: negative (0%). HER2 by IHC: 2+; FISH: not amplified. "
    "Ki-67: 15%. pT2 pN0(sn)."
)
COLON = (
    "Specimen: Sigmoid colon, sigmoidectomy. DIAGNOSIS: Colon, sigmoid, resection: Adenocarcinoma, moderately "
    "differentiated, invading through the muscularis propria into pericolonic fat. Tumor size: greatest dimension "
    "4.5 cm. Lymphovascular invasion: present. Perineural invasion: not identified. Metastatic carcinoma in 2 of 14 "
    "lymph nodes. Margins: uninvolved. MLH1, MSH2, MSH6 and PMS2: intact nuclear expression. MSI: MSS. pT3 pN1b."
)


@pytest.mark.parametrize(
    ("text", "code", "icdo3"),
    [
        (BREAST, "BRCA", "C50.9"),
        (COLON, "COAD", "C18.9"),
        ("DIAGNOSIS: Lung, right upper lobe, lobectomy: squamous cell. carcinoma, keratinizing.", "LUSC", "C34.9"),
        ("DIAGNOSIS: Lung, left lower lobe, lobectomy: adenocarcinoma, acinar predominant.", "LUAD", "C34.9"),
        ("DIAGNOSIS: Kidney, left, radical nephrectomy: renal cell carcinoma, clear cell type.", "KIRC", "C64.9"),
        ("DIAGNOSIS: Kidney, right, partial nephrectomy: papillary renal cell carcinoma, type 2.", "KIRP", "C64.9"),
        ("DIAGNOSIS: Prostate, radical prostatectomy: acinar adenocarcinoma, Gleason score 3+4=7.", "PRAD", "C61.9"),
        ("DIAGNOSIS: Skin, back, wide local excision: malignant melanoma, Breslow thickness 2.1 mm.", "SKCM", "C44.9"),
        ("DIAGNOSIS: Thyroid, total thyroidectomy: papillary thyroid carcinoma, classic type.", "THCA", "C73.9"),
        ("DIAGNOSIS: Brain, left frontal, resection: glioblastoma, WHO grade IV.", "GBM", "C71.9"),
        ("DIAGNOSIS: Left eye, enucleation: uveal melanoma of the choroid, mixed cell type.", "UVM", None),
    ],
)
def test_cancer_type_from_organ_and_histology(text: str, code: str, icdo3: str | None) -> None:
    ct = extract_pathology(text).cancer_type
    assert ct is not None
    assert (ct.tcga_code, ct.icdo3_topography) == (code, icdo3)
    for ev in ct.evidence:
        assert text[ev.start : ev.end] == ev.quote


def test_breast_fields() -> None:
    f = extract_pathology(BREAST)
    assert f.histologic_type is not None
    assert f.histologic_type.value == "infiltrating ductal carcinoma"
    assert f.grade is not None
    assert (f.grade.value, f.grade.system) == ("6/9", "nottingham")
    assert f.tumour_size is not None
    assert f.tumour_size.largest_mm == 21.0  # OCR "2. 1" read as 2.1 cm
    assert f.tumour_size.dimensions_mm == (21.0, 15.0, 10.0)
    assert f.lymphovascular_invasion is not None
    assert f.lymphovascular_invasion.status == "absent"
    assert f.margins is not None
    assert (f.margins.status, f.margins.closest_distance_mm, f.margins.closest_margin) == (
        "uninvolved",
        4.0,
        "anterior",
    )
    assert f.lymph_nodes is not None
    assert (f.lymph_nodes.involved, f.lymph_nodes.examined) == (0, 1)
    assert f.er is not None
    assert (f.er.status, f.er.percent, f.er.intensity, f.er.allred) == (
        "positive",
        95.0,
        "strong",
        8,
    )
    assert f.pr is not None
    assert (f.pr.status, f.pr.percent) == ("negative", 0.0)
    assert f.her2 is not None
    assert (f.her2.ihc, f.her2.ish) == ("2+", "not_amplified")
    assert f.ki67 is not None
    assert f.ki67.percent == 15.0
    assert f.pN is not None
    assert f.pN.category == "N0"


def test_breast_specimens() -> None:
    specimens = extract_pathology(BREAST).specimens
    assert [(s.label, s.site, s.laterality, s.procedure) for s in specimens] == [
        ("1", "breast", "left", "segmental mastectomy"),
        ("2", "sentinel lymph node", "left", "sentinel lymph node biopsy"),
    ]


def test_colon_fields() -> None:
    f = extract_pathology(COLON)
    assert f.tumour_size is not None
    assert f.tumour_size.largest_mm == 45.0
    assert f.grade is not None
    assert (f.grade.value, f.grade.system) == ("moderately", "tier")
    assert f.lymphovascular_invasion is not None
    assert f.lymphovascular_invasion.status == "present"
    assert f.perineural_invasion is not None
    assert f.perineural_invasion.status == "absent"
    assert f.lymph_nodes is not None
    assert (f.lymph_nodes.involved, f.lymph_nodes.examined) == (2, 14)
    assert f.margins is not None
    assert f.margins.status == "uninvolved"
    assert f.mmr is not None
    assert f.mmr.msi == "MSS"
    assert {(p.protein, p.status) for p in f.mmr.proteins} == {
        ("MLH1", "intact"), ("MSH2", "intact"), ("MSH6", "intact"), ("PMS2", "intact")
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "largest"),
    [
        ("DIAGNOSIS: Carcinoma, 3. 5 cm in greatest dimension.", 35.0),
        ("Tumor size: 3 .5cm.", 35.0),
        ("Tumor size: greatest dimension 12 mm.", 12.0),
        ("SIZE OF TUMOR: Maximum dimension invasive component: 1.0 cm.", 10.0),
    ],
)
def test_tumour_size_survives_ocr_spacing(text: str, largest: float) -> None:
    size = extract_pathology(text).tumour_size
    assert size is not None
    assert size.largest_mm == largest


def test_final_diagnosis_size_beats_gross() -> None:
    text = (
        "GROSS DESCRIPTION: a 4.0 x 3.0 cm tan mass. FINAL DIAGNOSIS: Invasive carcinoma, 3.2 cm in greatest dimension."
    )
    size = extract_pathology(text).tumour_size
    assert size is not None
    assert (size.largest_mm, size.section, size.precedence, size.overridden_value) == (
        32.0,
        "final_diagnosis",
        "final_diagnosis",
        "40 mm",
    )


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Perineural invasion: present.", "present"),
        ("No perineural invasion is identified.", "absent"),
        ("with multifocal perineural invasion.", "present"),
        ("Perineural invasion: indeterminate.", "indeterminate"),
    ],
)
def test_perineural_invasion_status(text: str, status: str) -> None:
    pni = extract_pathology(text).perineural_invasion
    assert pni is not None
    assert pni.status == status


def test_involved_margin() -> None:
    m = extract_pathology("DIAGNOSIS: Carcinoma extends to the inked deep margin.").margins
    assert m is not None
    assert m.status == "involved"


def test_when_nothing_stated_then_fields_stay_none() -> None:
    f = extract_pathology("DIAGNOSIS: Benign fibroadipose tissue. No tumor identified.")
    assert f.pT is None
    assert f.pN is None
    assert f.pM is None
    assert f.stated_stage is None
    assert f.tumour_size is None
    assert f.er is None
    assert f.pr is None
    assert f.her2 is None
    assert f.ki67 is None
    assert f.mmr is None
    assert f.lymph_nodes is None
    assert f.grade is None
    assert f.cancer_type is None
    assert f.specimens == ()


def test_empty_report_gives_empty_fields() -> None:
    assert extract_pathology("") == PathologyFields()


def test_barcode_and_uuid_headers_do_not_disturb_extraction() -> None:
    text = (
        "TCGA-AB-1234-01A UUID:1F2E3D4C-0000-1111-2222-333344445555 Redacted. FINAL DIAGNOSIS: Kidney, left, "
        "nephrectomy: renal cell carcinoma, clear cell type, Fuhrman grade 3. pT1b NX."
    )
    f = extract_pathology(text)
    assert f.pT is not None
    assert f.pT.value == "pT1b"
    assert f.grade is not None
    assert (f.grade.value, f.grade.system) == ("3", "fuhrman")


def test_task_returns_one_result_per_document() -> None:
    task = PathologyExtractRules()
    docs = [Document(id="a", text=BREAST, kind="pathology"), Document(id="b", text=COLON, kind="pathology")]
    results = task(docs)
    assert [type(r) for r in results] == [PathologyExtractResult, PathologyExtractResult]
    assert results[1].fields.pT is not None
    assert results[1].fields.pT.evidence[0].record_id == "b"
    assert (task.name, task.backend) == ("medlens.task.pathology.extract.v1", "rules")


_PIECES = ["pT2", "pNO", "cm", " mm", "margin", "ER ", "HER2 ", "Ki-67 ", "stage ", "DIAGNOSIS: ", "ADDENDUM: "]
_PIECES += ["GROSS: ", "lymph node", "invasion", "carcinoma", "breast", "no ", "\n", "Gleason 3+4", "(2/9)"]
_ALPHABET = st.sampled_from([*"pTNMOo0123456789abcx ,.:;-/()%+", *_PIECES])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_evidence_always_slices_to_its_quote(text: str) -> None:
    fields = extract_pathology(text, "r")
    for ev in _all_evidence(fields):
        assert 0 <= ev.start <= ev.end <= len(text)
        assert text[ev.start : ev.end] == ev.quote


def _all_evidence(obj: object) -> list:  # type: ignore[type-arg]
    from medlens.core.types import Evidence

    out = []
    if isinstance(obj, Evidence):
        return [obj]
    if isinstance(obj, tuple | list):
        for x in obj:
            out += _all_evidence(x)
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            out += _all_evidence(getattr(obj, name))
    return out


def test_every_field_of_a_full_report_is_grounded() -> None:
    for text in (BREAST, COLON):
        evidence = _all_evidence(extract_pathology(text))
        assert evidence
        for ev in evidence:
            assert text[ev.start : ev.end] == ev.quote


# ---- round 2 (PX2): regressions for the speed rewrite and the bugs reported by another helper


@pytest.mark.parametrize(
    ("text", "involved", "examined"),
    [
        ("DIAGNOSIS: Metastatic carcinoma in 2 of 10 lymph nodes (2/10).", 2, 10),
        ("DIAGNOSIS: Metastatic carcinoma in two of ten lymph nodes (2/10).", 2, 10),
        ("DIAGNOSIS: A. Sentinel lymph nodes (1/3). B. Axillary lymph nodes (1/7).", 2, 10),
    ],
)
def test_lymph_node_count_restated_is_counted_once(text: str, involved: int, examined: int) -> None:
    nodes = extract_pathology(text).lymph_nodes
    assert nodes is not None
    assert (nodes.involved, nodes.examined) == (involved, examined)


@pytest.mark.parametrize(
    "text",
    [
        "DIAGNOSIS: Invasive ductal carcinoma, Nottingham grade 2.",
        "Histologic grade (Nottingham): Grade 2",
        "Nottingham combined histologic grade: 2/3",
        "Nottingham grade 2/3",
    ],
)
def test_nottingham_grade_read(text: str) -> None:
    grade = extract_pathology(text).grade
    assert grade is not None
    assert (grade.value, grade.system) == ("2", "nottingham")


def test_nottingham_score_out_of_nine_kept() -> None:
    grade = extract_pathology("NOTTINGHAM SCORE 6 OUT OF 9").grade
    assert grade is not None
    assert grade.value == "6/9"


@pytest.mark.parametrize(
    ("text", "largest_mm"),
    [
        ("DIAGNOSIS: Left breast: invasive ductal carcinoma, 0.1 cm from the deep margin. pT2.", None),
        ("DIAGNOSIS: Invasive ductal carcinoma, 2.5 cm. Carcinoma is 0.1 cm from the deep margin.", 25.0),
        ("DIAGNOSIS: Invasive carcinoma measuring 2.2 cm; a separate microscopic focus of carcinoma 0.1 cm.", 22.0),
    ],
)
def test_margin_distance_or_focus_is_not_tumour_size(text: str, largest_mm: float | None) -> None:
    size = extract_pathology(text).tumour_size
    assert (size.largest_mm if size else None) == largest_mm


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # the organ of the final diagnosis outweighs a long gross description of another organ's words
        (
            "CLINICAL HISTORY: lung nodule. GROSS: " + "Breast tissue, slice. " * 4 + "FINAL DIAGNOSIS: Right "
            "breast, excision: adenocarcinoma.",
            "BRCA",
        ),
        # a grade qualifier next to the glioma histology decides between LGG and GBM
        ("DIAGNOSIS: Brain, resection: astrocytoma, grade II.", "LGG"),
        ("DIAGNOSIS: Brain, resection: astrocytoma, grade IV.", "GBM"),
        # a negation across an OCR line join ("no evidence of. microvascular proliferation")
        (
            "MICROSCOPIC: There is no evidence of. microvascular proliferation. DIAGNOSIS: Brain: oligodendroglioma.",
            "LGG",
        ),
        # cystoprostatectomy: the main (first) diagnosis, urothelial carcinoma, beats an incidental prostate cancer
        (
            "FINAL DIAGNOSIS: Bladder and prostate, cystoprostatectomy: invasive urothelial carcinoma, high grade, "
            "into perivesical fat. Prostate: adenocarcinoma, Gleason score 3+3=6.",
            "BLCA",
        ),
    ],
)
def test_cancer_type_main_diagnosis_rules(text: str, code: str) -> None:
    ct = extract_pathology(text).cancer_type
    assert ct is not None
    assert ct.tcga_code == code


SNAPSHOT_REPORTS = [
    BREAST,
    COLON,
    "SYNOPTIC: Primary tumor (pT): pT3. Regional lymph nodes (pN): pN1a. ER positive (90%), PR negative, "
    "HER-2/neu 3+, Ki-67 20%. MLH1 and PMS2: loss. MSI-H. Lymph-vascular invasion: present. "
    "Perineural invasion: absent. Histologic grade: G2. WHO grade III. Fuhrman grade 2. AJCC stage IIIA.",
    "FINAL DIAGNOSIS: A. Right lung, upper lobe, lobectomy: adenocarcinoma, 3.2 x 2.0 cm, pT2aN0MX. "
    "Stage IB. Margins free. Closest margin 0.5 cm from bronchial margin.",
]


@pytest.mark.parametrize("text", SNAPSHOT_REPORTS)
def test_anchored_matching_matches_full_scans(text: str) -> None:
    # The anchored search (wordkey.iter_at) must find exactly what a full finditer scan finds.
    from medlens.pathology import findings, receptors, tnm
    from medlens.pathology.sections import report_layout

    layout = report_layout(text)
    found_er = [c.start for c in receptors.find_er_pr(text, layout)[0]]
    assert found_er == [m.start() for m in receptors._ER.finditer(text) if receptors._abbr_ok(m)]
    found_stage = [c.start for c in tnm.find_stage_groups(text, layout)]
    assert found_stage == [
        m.start("grp")
        for m in tnm._STAGE.finditer(text)
        if m.group("grp").isupper() and not tnm._STAGE_NOT_AJCC.search(text, max(0, m.start() - 20), m.start())
    ]
    groups, _ = findings.find_lymph_nodes(text, layout)
    assert [(g.start, g.end) for g in groups] == sorted({(g.start, g.end) for g in groups})
