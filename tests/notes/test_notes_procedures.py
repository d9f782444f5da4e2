"""Procedures: surface forms and abbreviations -> preferred name, never a code (CPT/SNOMED CT not licensed)."""

from __future__ import annotations

import pytest

from medlens.notes.rules import NotesExtractRules


@pytest.fixture(scope="module")
def rules() -> NotesExtractRules:
    return NotesExtractRules(types=["procedure"])


def _procedures(rules: NotesExtractRules, text: str) -> list[tuple[int, int, str]]:
    found = rules.extract(text, "r1")
    assert all(f.type == "procedure" and f.code is None for f in found)
    return [(f.evidence[0].start, f.evidence[0].end, f.text) for f in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Status post appendectomy and laparoscopic cholecystectomy. Colonoscopy next year.",
            [(12, 24, "appendectomy"), (29, 57, "cholecystectomy"), (59, 70, "colonoscopy")],
        ),
        (
            "PAST SURGICAL HISTORY: CABG X3 2018. TAH/BSO. C-SECTION X2.",
            [
                (23, 27, "coronary artery bypass graft"),
                (37, 40, "hysterectomy"),
                (41, 44, "bilateral salpingo-oophorectomy"),
                (46, 55, "cesarean section"),
            ],
        ),
        ("PROCEDURE: Colonoscopy with biopsies.", [(11, 22, "colonoscopy"), (28, 36, "biopsy")]),
        (
            "She underwent left total knee arthroplasty and a hip replacement.",
            [(19, 42, "total knee arthroplasty"), (49, 64, "total hip arthroplasty")],
        ),
        (
            "EGD and ERCP were performed. PCI with stent to LAD.",
            [
                (0, 3, "esophagogastroduodenoscopy"),
                (8, 12, "endoscopic retrograde cholangiopancreatography"),
                (29, 32, "percutaneous coronary intervention"),
            ],
        ),
        ("Cardiac cath showed CAD.", [(0, 12, "cardiac catheterization")]),
        ("Patient on hemodialysis.", [(11, 23, "dialysis")]),
        (
            "Tonsillectomy, intubation, bronchoscopy.",
            [(0, 13, "tonsillectomy"), (15, 25, "endotracheal intubation"), (27, 39, "bronchoscopy")],
        ),
        ("D&C in 2010; D/C home today.", [(0, 3, "dilation and curettage")]),
    ],
)
def test_procedures_are_found(rules, text, expected):
    assert _procedures(rules, text) == expected


def test_procedure_in_surgical_history_is_historical(rules):
    (f,) = rules.extract("PAST SURGICAL HISTORY: Appendectomy.", "r1")
    assert f.assertion.historical
    assert f.section == "past_surgical_history"
    assert f.evidence[0].producer == "medlens.rule.notes.procedure.procedures.v1"


def test_procedure_header_is_not_a_procedure(rules):
    assert _procedures(rules, "ANESTHESIA:\nGeneral.") == []
