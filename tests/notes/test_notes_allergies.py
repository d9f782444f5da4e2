"""Allergies: allergens with reactions and category, inline statements, NKDA/NKA as one negated finding."""

from __future__ import annotations

import pytest

from medlens.notes.rules import NotesExtractRules
from medlens.notes.schema import Finding


@pytest.fixture(scope="module")
def rules() -> NotesExtractRules:
    return NotesExtractRules(types=["allergy"])


def _row(f: Finding) -> tuple[int, int, str, str | None, str | None, list[tuple[int, int, str | None]]]:
    assert f.type == "allergy"
    assert f.allergy is not None
    reactions = [(r.evidence[0].start, r.evidence[0].end, r.value) for r in f.allergy.reactions]
    code = f.code.code if f.code else None
    return (f.evidence[0].start, f.evidence[0].end, f.text, code, f.allergy.category, reactions)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ALLERGIES: Penicillin (hives), sulfa - rash",
            [
                (11, 21, "penicillins", None, "medication", [(23, 28, "hives")]),
                (31, 36, "sulfonamides", None, "medication", [(39, 43, "rash")]),
            ],
        ),
        (
            "He is allergic to codeine which causes nausea.",
            [(18, 25, "codeine", "2670", "medication", [(39, 45, "nausea")])],
        ),
        (
            "ALLERGIES: Aspirin and morphine cause nausea. Latex, peanuts.",
            [
                (11, 18, "aspirin", "1191", "medication", []),
                (23, 31, "morphine", "7052", "medication", [(38, 44, "nausea")]),
                (46, 51, "latex", None, "environment", []),
                (53, 60, "peanuts", None, "food", []),
            ],
        ),
        (
            "ALLERGIES: Bactrim (SJS), codeine (itching). MEDICATIONS: Aspirin 81 mg daily.",
            [
                (
                    11,
                    18,
                    "sulfamethoxazole / trimethoprim",
                    "10831",
                    "medication",
                    [(20, 23, "Stevens-Johnson syndrome")],
                ),
                (26, 33, "codeine", "2670", "medication", [(35, 42, "itching")]),
            ],
        ),
        (
            "She has a penicillin allergy (rash).",
            [(10, 20, "penicillins", None, "medication", [(30, 34, "rash")])],
        ),
        (
            "Allergic to shellfish and bee stings; takes aspirin daily.",
            [(12, 21, "shellfish", None, "food", []), (26, 36, "bee venom", None, "environment", [])],
        ),
        (
            "ALLERGIES: CODEINE (NAUSEA AND VOMITING), IV CONTRAST (ANAPHYLAXIS).",
            [
                (11, 18, "codeine", "2670", "medication", [(20, 39, "nausea and vomiting")]),
                (42, 53, "iodinated contrast media", None, "medication", [(55, 66, "anaphylaxis")]),
            ],
        ),
        ("Intolerant of Prevacid.", [(14, 22, "lansoprazole", "17128", "medication", [])]),
    ],
)
def test_allergens_with_reactions_category_and_code(rules, text, expected):
    assert [_row(f) for f in rules.extract(text, "r1")] == expected


@pytest.mark.parametrize(
    ("text", "span", "name", "category"),
    [
        ("ALLERGIES: NKDA.", (11, 15), "drug allergy", "medication"),
        ("Allergies: NKA", (11, 14), "allergy", None),
        ("ALLERGIES: None.", (11, 15), "allergy", None),
        ("Allergies: Denies.", (11, 17), "allergy", None),
        ("ALLERGIES:  NO KNOWN DRUG ALLERGIES.MEDICATIONS:  No medications.", (12, 35), "drug allergy", "medication"),
        ("MEDICATIONS:  None.ALLERGIES:  No known drug allergies.", (31, 54), "drug allergy", "medication"),
        ("No known food allergies.", (0, 23), "food allergy", "food"),
        ("The patient denies any allergies.", (12, 32), "allergy", None),
        ("ALLERGIES: No known medical allergies.", (11, 37), "drug allergy", "medication"),
    ],
)
def test_no_known_allergy_is_one_negated_finding_cued_by_its_own_words(rules, text, span, name, category):
    (f,) = rules.extract(text, "r1")
    assert (f.evidence[0].start, f.evidence[0].end, f.text) == (span[0], span[1], name)
    assert f.allergy is not None
    assert f.allergy.category == category
    assert f.assertion.negated
    (cue,) = f.assertion.cues
    assert (cue.status, cue.start, cue.end, cue.text) == ("negated", span[0], span[1], text[span[0] : span[1]])
    assert f.code is None


def test_no_allergy_to_a_named_drug_is_that_allergy_negated(rules):
    (f,) = rules.extract("No allergy to penicillin.", "r1")
    assert (f.evidence[0].start, f.text, f.assertion.negated) == (14, "penicillins", True)


@pytest.mark.parametrize(
    "text",
    ["Culture sensitive to ciprofloxacin.", "No allergy symptoms such as sneezing.", "Takes aspirin daily."],
)
def test_text_that_is_not_an_allergy_statement_gives_no_allergy(rules, text):
    assert rules.extract(text, "r1") == []


def test_drug_named_in_allergies_is_not_also_a_medication():
    rules = NotesExtractRules()
    found = rules.extract("ALLERGIES: Penicillin, codeine.", "r1")
    assert [(f.type, f.text) for f in found] == [("allergy", "penicillins"), ("allergy", "codeine")]


def test_allergy_findings_carry_section_and_producers(rules):
    (f,) = rules.extract("ALLERGIES: Codeine (nausea).", "r1")
    assert f.section == "allergies"
    assert f.evidence[0].producer == "medlens.rule.notes.allergy.medications.v1"
    assert f.allergy is not None
    assert f.allergy.reactions[0].evidence[0].producer == "medlens.rule.notes.allergy.reactions.v1"
    (g,) = rules.extract("ALLERGIES: Latex.", "r1")
    assert g.evidence[0].producer == "medlens.rule.notes.allergy.allergens.v1"


def test_family_member_allergy_is_family(rules):
    (f,) = rules.extract("Mother has penicillin allergy.", "r1")
    assert f.assertion.family


@pytest.mark.parametrize(
    "text",
    [
        "ALLERGIES: NKDA. Current meds include lisinopril 10 mg daily.",
        "ALLERGIES: Penicillin (rash); he takes aspirin.",
    ],
)
def test_allergies_section_ends_where_the_text_turns_to_taking_drugs(text):
    found = NotesExtractRules(types=["allergy", "medication"]).extract(text, "r1")
    assert [f.type for f in found][-1] == "medication"
    assert [f.text for f in found if f.type == "medication"] == [found[-1].text]
    assert found[-1].text in ("lisinopril", "aspirin")
