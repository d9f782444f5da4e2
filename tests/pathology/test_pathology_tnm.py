import pytest

from medlens.pathology.extract import extract_pathology

# (report text, field, expected value, expected category, expected quote)
TNM_ROWS = [
    ("FINAL DIAGNOSIS: Breast, left: invasive ductal carcinoma. pT2 pN1a pM0.", "pT", "pT2", "T2", "pT2"),
    ("FINAL DIAGNOSIS: Breast, left: invasive ductal carcinoma. pT2 pN1a pM0.", "pN", "pN1a", "N1", "pN1a"),
    ("FINAL DIAGNOSIS: Breast, left: invasive ductal carcinoma. pT2 pN1a pM0.", "pM", "pM0", "M0", "pM0"),
    ("N STAGE, PATHOLOGIC: pNO. M STAGE, PATHOLOGIC: pMX.", "pN", "pN0", "N0", "pNO"),
    ("Regional lymph nodes: pN O (0/12).", "pN", "pN0", "N0", "pN O"),
    ("TNM: T2aN0 (AJCC 8th).", "pT", "T2a", "T2", "T2a"),
    ("TNM: T2aN0 (AJCC 8th).", "pN", "N0", "N0", "N0"),
    ("Stage: pT2pN1a.", "pN", "pN1a", "N1", "pN1a"),
    ("Pathologic stage: pT3aR1NOMX.", "pT", "pT3a", "T3", "pT3a"),
    ("Pathologic stage: pT3aR1NOMX.", "pN", "pN0", "N0", "NO"),
    ("PATHOLOGIC STAGE: Pt2 N0.", "pT", "pT2", "T2", "Pt2"),
    ("Post-treatment stage ypT0 ypN0.", "pT", "ypT0", "T0", "ypT0"),
    ("Staging: pT1c(m) pN0(i+).", "pT", "pT1c(m)", "T1", "pT1c(m)"),
    ("Staging: pT1c(m) pN0(i+).", "pN", "pN0(i+)", "N0", "pN0(i+)"),
    ("Sentinel node: pN1mi (micrometastasis).", "pN", "pN1mi", "N1", "pN1mi"),
    ("pTis (DCIS), pNX.", "pT", "pTis", "Tis", "pTis"),
    ("pTNM: pT3 N1b Mx.", "pN", "pN1b", "N1", "N1b"),
    ("pTNM: pT3 N1b Mx.", "pM", "pMX", "MX", "Mx"),
    ("Distant metastasis: pM1b (liver).", "pM", "pM1b", "M1", "pM1b"),
    ("AJCC: pTIc pN0.", "pT", "pT1c", "T1", "pTIc"),
    ("PTNM CLASSIFICATION: T2, NO, MX, STAGE IIA.", "pT", "T2", "T2", "T2"),
    ("Pathological Staging (pTNM): T 2C. N X. MX.", "pT", "T2c", "T2", "T 2C"),
]


@pytest.mark.parametrize(("text", "field", "value", "category", "quote"), TNM_ROWS)
def test_tnm_value_category_and_evidence(text: str, field: str, value: str, category: str, quote: str) -> None:
    got = getattr(extract_pathology(text), field)
    assert got is not None
    assert (got.value, got.category) == (value, category)
    ev = got.evidence[0]
    assert text[ev.start : ev.end] == ev.quote == quote


@pytest.mark.parametrize(
    "text",
    [
        "KARYOTYPE: T1:42,X,-Y. Specimens labeled T1 and T3 contained clonal aberrations.",
        "Block T2: tumor. NO EVIDENCE OF MALIGNANCY.",
        "The patient had an MRI with T2 weighted images.",
    ],
)
def test_when_no_staging_context_then_no_t_category(text: str) -> None:
    fields = extract_pathology(text)
    assert fields.pT is None
    assert fields.pN is None


def test_pt_followed_by_no_evidence_is_not_n0() -> None:
    fields = extract_pathology("Stage pT2 NO EVIDENCE OF LYMPHOVASCULAR INVASION.")
    assert fields.pT is not None
    assert fields.pT.category == "T2"
    assert fields.pN is None


def test_clinical_history_t_is_overridden_by_final_diagnosis() -> None:
    text = "CLINICAL NOTES: Ca prostate, clinical stage T2b. CONCLUSION: Radical prostatectomy: adenocarcinoma; pT3a."
    pt = extract_pathology(text).pT
    assert pt is not None
    assert pt.value == "pT3a"
    assert pt.section == "final_diagnosis"
    assert pt.precedence == "final_diagnosis"
    assert pt.overridden_value == "T2b"
    assert [e.quote for e in pt.evidence] == ["pT3a", "T2b"]


def test_addendum_overrides_body_and_records_both_values() -> None:
    text = "FINAL DIAGNOSIS: Colon, resection: adenocarcinoma, pT3 pN0. ADDENDUM: Additional nodes: pN1a (1/15)."
    pn = extract_pathology(text).pN
    assert pn is not None
    assert pn.value == "pN1a"
    assert pn.section == "addendum"
    assert pn.precedence == "addendum"
    assert pn.overridden_value == "pN0"


@pytest.mark.parametrize(
    ("text", "value", "group"),
    [
        ("AJCC stage: IIIB.", "IIIB", "III"),
        ("Pathologic stage group IIA.", "IIA", "II"),
        ("TNM: T2 N0 M0, Stage IV.", "IV", "IV"),
    ],
)
def test_stated_stage_group(text: str, value: str, group: str) -> None:
    st = extract_pathology(text).stated_stage
    assert st is not None
    assert (st.value, st.group) == (value, group)
    assert text[st.evidence[0].start : st.evidence[0].end] == st.evidence[0].quote


def test_figo_stage_is_not_an_ajcc_stage() -> None:
    assert extract_pathology("FIGO stage IB.").stated_stage is None


@pytest.mark.parametrize(
    ("text", "t", "n", "m"),
    [
        ("Pathologic Staging (pTNM): pT2: Tumor of lip", "pT2", None, None),
        ("Primary Tumor: (pT) pTl: Tumor limited", "pT1", None, None),
        ("penetration of all parietal layers (p T 3), as well", "pT3", None, None),
        ("carcinoma/oncocytoma: p T3a Tumor invades", "pT3a", None, None),
        ("Pathological T. T2,NOS. Grade II.", "T2", None, None),
        ("STAGING DATA. T2. N-0.", "T2", None, None),
        ("Grade: 2. T Stage: 2 N Stage: 1 M Stage: 0", "T2", "N1", "M0"),
        ("complete resection of. a. T2NO squamous cell carcinoma", "T2", "N0", None),
        ("karyotype T1:42,X", None, None, None),
        ("Block T2: tumor", None, None, None),
    ],
)
def test_round2_t_forms(text: str, t: str | None, n: str | None, m: str | None) -> None:
    f = extract_pathology(text)
    assert (f.pT.value if f.pT else None, f.pN.value if f.pN else None, f.pM.value if f.pM else None) == (t, n, m)
