"""Section detection: canonical names, header spans (character offsets), tiling, false headers."""

from __future__ import annotations

import itertools

import pytest

from medlens.text.sections import Section, detect_sections

# (text, [(name, subsection, header_start, header_end)]) -- the leading "unknown" section is listed when present.
SECTION_TABLE = [
    ("CHIEF COMPLAINT: Chest pain.\nHPI: 45 yo man.",
     [("chief_complaint", None, 0, 16), ("history_of_present_illness", None, 29, 33)]),
    ("He has mild anorexia.PAST MEDICAL HISTORY: Essentially unremarkable",
     [("unknown", None, 0, 0), ("past_medical_history", None, 21, 42)]),
    ("Stable on oxygen.VITAL SIGNS: Blood pressure 96/56",
     [("unknown", None, 0, 0), ("vital_signs", None, 17, 29)]),
    ("PHYSICAL EXAMINATION: VITAL SIGNS: BP 120/80. HEENT: Normal. LUNGS: Clear.\nASSESSMENT: Stable.",
     [("physical_exam", None, 0, 21), ("vital_signs", None, 22, 34), ("physical_exam", "heent", 46, 52),
      ("physical_exam", "chest", 61, 67), ("assessment", None, 75, 86)]),
    ("PHYSICAL EXAMINATIONVITAL SIGNS: Stable.",
     [("physical_exam", None, 0, 20), ("vital_signs", None, 20, 32)]),
    ("Past medical history: Asthma. Family History: Mother with HTN.",
     [("past_medical_history", None, 0, 21), ("family_history", None, 30, 45)]),
    ("PMHx: COPD\nPSH: none\nFHx: DM\nSH: no tobacco\nROS: negative\nPE: normal\nA/P: stable\nA&P: ok",
     [("past_medical_history", None, 0, 5), ("past_surgical_history", None, 11, 15), ("family_history", None, 21, 25),
      ("social_history", None, 29, 32), ("review_of_systems", None, 44, 48), ("physical_exam", None, 58, 61),
      ("assessment_and_plan", None, 69, 73), ("assessment_and_plan", None, 81, 85)]),
    ("Meds: aspirin\nCurrent Medications: none\nAllergies/ADRs: none\nLABORATORY AND X-RAY DATA: normal",
     [("medications", None, 0, 5), ("medications", None, 14, 34), ("allergies", None, 40, 55), ("labs", None, 61, 87)]),
    ("IMPRESSION\n1. Pneumonia.", [("impression", None, 0, 10)]),
    ("SUMMARY1. Normal left ventricle.", [("assessment", None, 0, 7)]),
    ("ANESTHESIA: GeneralSPECIMENS: None.", [("anesthesia", None, 0, 11), ("specimens", None, 19, 29)]),
    ("REVIEW OF SYSTEMS: CONSTITUTIONAL: No fever. SKIN: No rash.",
     [("review_of_systems", None, 0, 18), ("review_of_systems", "general", 19, 34),
      ("review_of_systems", "skin", 45, 50)]),
    ("PLAN: Follow up.\nRIGHT CORONARY ARTERY: Normal.",
     [("plan", None, 0, 5), ("plan", "right_coronary_artery", 17, 39)]),
    ("PAST MEDICAL HISTORY: Asthma.\nTASKS ADMINISTERED: testing.",
     [("past_medical_history", None, 0, 21), ("unknown", "tasks_administered", 30, 49)]),
    ("normal.Eyes: Fundoscopic exam normal.",
     [("unknown", None, 0, 0), ("unknown", "heent", 7, 12)]),
    ("EXAM: Normal.\nNeck: supple.", [("physical_exam", None, 0, 5), ("physical_exam", "neck", 14, 19)]),
    ("Extremities: no edema.\nLabs (03/01/2031):\nK 4.6",
     [("unknown", "musculoskeletal", 0, 12), ("labs", None, 23, 41)]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SECTION_TABLE)
def test_sections_match_table(text: str, expected: list[tuple[str, str | None, int, int]]) -> None:
    got = [(s.name, s.subsection, s.header_start, s.header_end) for s in detect_sections(text)]
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Smith: the patient is well.",
        "The ratio: 2:1 in favour.",
        "BP: 120/80, HR: 72.",
        "Seen at 10:30 today.",
        "The differential diagnosis: broad.",
        "see http://example.org for details",
    ],
)
def test_false_headers_are_not_sections(text: str) -> None:
    assert [s.name for s in detect_sections(text)] == ["unknown"]


def test_text_without_header_is_one_unknown_section() -> None:
    assert detect_sections("No headers here.") == [Section("unknown", 0, 0, 0, 16)]


def test_empty_text_gives_one_empty_section() -> None:
    assert detect_sections("") == [Section("unknown", 0, 0, 0, 0)]


def test_sections_tile_the_text() -> None:
    text = "Intro.\nHPI: cough.\nPMH: asthma.\nPE:\nHEENT: ok.\nPLAN: rest"
    secs = detect_sections(text)
    assert secs[0].start == 0
    assert secs[-1].end == len(text)
    assert all(a.end == b.start for a, b in itertools.pairwise(secs))
    assert all(s.start == s.header_start <= s.header_end <= s.end for s in secs)


def test_header_span_quotes_the_header_and_colon() -> None:
    text = "HPI: cough.\nFAMILY HISTORY:  Diabetes."
    fh = detect_sections(text)[1]
    assert text[fh.header_start : fh.header_end] == "FAMILY HISTORY:"


def test_lowercase_known_header_mid_sentence_is_not_a_section() -> None:
    assert [s.name for s in detect_sections("We discussed the plan: rest and fluids.")] == ["unknown"]


def test_known_header_in_allcaps_prose_after_words_is_a_section() -> None:
    names = [s.name for s in detect_sections("MOTHER WITH DIABETES SOCIAL HISTORY: SMOKER")]
    assert names == ["unknown", "social_history"]
