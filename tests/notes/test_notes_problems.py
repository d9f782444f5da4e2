"""Problems, diagnoses and symptoms -> ICD-10-CM: surface forms, abbreviations, gates, assertion, sections."""

from __future__ import annotations

import pytest

from medlens.notes.rules import NotesExtractRules


@pytest.fixture(scope="module")
def rules() -> NotesExtractRules:
    return NotesExtractRules(types=["problem"])


def _problems(rules: NotesExtractRules, text: str) -> list[tuple[int, int, str, str | None]]:
    out = []
    for f in rules.extract(text, "r1"):
        assert f.type == "problem"
        ev = f.evidence[0]
        out.append((ev.start, ev.end, f.text, f.code.code if f.code else None))
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "History of HTN, DM2 and CAD.",
            [
                (11, 14, "hypertension", "I10"),
                (16, 19, "type 2 diabetes mellitus", "E11"),
                (24, 27, "coronary artery disease", "I25.1"),
            ],
        ),
        (
            "PAST MEDICAL HISTORY: HYPERTENSION, TYPE 2 DIABETES MELLITUS, COPD, CHF.",
            [
                (22, 34, "hypertension", "I10"),
                (36, 60, "type 2 diabetes mellitus", "E11"),
                (62, 66, "chronic obstructive pulmonary disease", "J44.9"),
                (68, 71, "heart failure", "I50.9"),
            ],
        ),
        ("He has diabetes.", [(7, 15, "diabetes mellitus", None)]),
        (
            "Patient with AFib and OSA; GERD controlled.",
            [
                (13, 17, "atrial fibrillation", "I48.91"),
                (22, 25, "obstructive sleep apnea", "G47.33"),
                (27, 31, "gastroesophageal reflux disease", "K21"),
            ],
        ),
        (
            "UTI, BPH, OA, MI, TIA, DVT.",
            [
                (0, 3, "urinary tract infection", "N39.0"),
                (5, 8, "benign prostatic hyperplasia", "N40"),
                (10, 12, "osteoarthritis", "M19.90"),
                (14, 16, "myocardial infarction", "I21.9"),
                (18, 21, "transient ischemic attack", "G45.9"),
                (23, 26, "deep vein thrombosis", "I82.40"),
            ],
        ),
        (
            "Nausea and vomiting, headache, cough.",
            [(0, 19, "nausea and vomiting", "R11.2"), (21, 29, "headache", "R51.9"), (31, 36, "cough", "R05.9")],
        ),
        (
            "Bilateral pleural effusions and kidney stones.",
            [(10, 27, "pleural effusion", "J90"), (32, 45, "nephrolithiasis", "N20.0")],
        ),
        ("congestive heart\nfailure", [(0, 24, "heart failure", "I50.9")]),
        (
            "Crohns disease and Crohn's disease; a-fib.",
            [
                (0, 14, "Crohn's disease", "K50.90"),
                (19, 34, "Crohn's disease", "K50.90"),
                (36, 41, "atrial fibrillation", "I48.91"),
            ],
        ),
        ("Chest pain and SOB since noon.", [(0, 10, "chest pain", "R07.9"), (15, 18, "shortness of breath", "R06.02")]),
        (
            "CKD stage 3a and ESRD.",
            [(0, 12, "chronic kidney disease stage 3a", "N18.31"), (17, 21, "end stage renal disease", "N18.6")],
        ),
        (
            "Seizure disorder, fever and dyspnea.",
            [(0, 16, "epilepsy", "G40.909"), (18, 23, "fever", "R50.9"), (28, 35, "dyspnea", "R06.00")],
        ),
    ],
)
def test_problems_are_found_with_their_codes(rules, text, expected):
    assert _problems(rules, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CT angiogram negative for PE. Rule out PE.", [(26, 28), (39, 41)]),
        ("PE: Lungs clear.", []),
        ("On PE, the abdomen is soft.", []),
        ("No CVA tenderness. History of CVA in 2019.", [(30, 33)]),
        ("CVA is benign on exam.", []),
        ("Temp: AF. Vitals stable.", []),
        ("Strength: AF 5/5 bilaterally.", []),
        ("Rate-controlled AF on warfarin.", [(16, 18)]),
        ("Seropositive RA on methotrexate. SpO2 98% on RA.", [(13, 15)]),
        ("Saturating well on RA.", []),
    ],
)
def test_ambiguous_abbreviations_count_only_in_their_clinical_sense(rules, text, expected):
    assert [(s, e) for s, e, _, _ in _problems(rules, text)] == expected


@pytest.mark.parametrize("text", ["MS and CA noted.", "AS above.", "ADD SLIDING SCALE INSULIN.", "MR. SMITH"])
def test_excluded_abbreviations_are_never_problems(rules, text):
    assert _problems(rules, text) == []


@pytest.mark.parametrize(
    "text",
    ["DVT prophylaxis with heparin.", "Flu shot given.", "Flu-like symptoms.", "Colon cancer screening due."],
)
def test_prophylaxis_vaccines_and_screening_are_not_problems(rules, text):
    assert _problems(rules, text) == []


def test_section_headers_are_not_problems(rules):
    text = "CHEST PAIN:\nResolved.\nASSESSMENT: Hypertension."
    found = rules.extract(text, "r1")
    assert [(f.evidence[0].start, f.text) for f in found] == [(34, "hypertension")]


def test_problem_code_carries_system_display_and_source(rules):
    (finding,) = rules.extract("Hypertension.", "r1")
    assert finding.code is not None
    assert finding.code.system == "http://hl7.org/fhir/sid/icd-10-cm"
    assert finding.code.display == "Essential (primary) hypertension"
    assert "problems.tsv" in (finding.code.source or "")
    assert finding.evidence[0].producer == "medlens.rule.notes.problem.problems.v1"


def test_gated_abbreviation_names_its_gate_producer(rules):
    (finding,) = rules.extract("History of CVA.", "r1")
    assert finding.evidence[0].producer == "medlens.rule.notes.problem.abbreviations.v1"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("She denies chest pain.", "negated"),
        ("Mother had breast cancer.", "family"),
        ("PAST MEDICAL HISTORY: Asthma.", "historical"),
        ("Rule out pneumonia.", "uncertain"),
    ],
)
def test_problem_assertion_comes_from_the_context_engine(rules, text, status):
    (finding,) = rules.extract(text, "r1")
    assert status in finding.assertion.statuses
    assert finding.assertion.cues


def test_problem_section_is_the_canonical_section_name(rules):
    text = "PAST MEDICAL HISTORY: Asthma.\nASSESSMENT: Pneumonia."
    assert [f.section for f in rules.extract(text, "r1")] == ["past_medical_history", "assessment"]


def test_prn_reason_is_not_also_a_problem():
    rules = NotesExtractRules(types=["problem", "medication"])
    found = rules.extract("Nitroglycerin 0.4 mg SL PRN chest pain.", "r1")
    assert [f.type for f in found] == ["medication"]


def test_reaction_in_the_allergies_section_is_not_a_problem():
    rules = NotesExtractRules(types=["problem", "allergy"])
    found = rules.extract("ALLERGIES: Penicillin (hives).", "r1")
    assert [f.type for f in found] == ["allergy"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("H/o recurrent UTIs.", [(14, 18, "urinary tract infection", "N39.0")]),
        ("No DVTs.", [(3, 7, "deep vein thrombosis", "I82.40")]),
        ("utis", []),
    ],
)
def test_abbreviation_plurals_match_only_with_lowercase_s(rules, text, expected):
    assert _problems(rules, text) == expected
