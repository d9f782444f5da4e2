"""Medications -> ingredient and RxNorm code, with the sig (dose, route, frequency, duration, PRN) and its evidence."""

from __future__ import annotations

import pytest

from medlens.notes.rules import NotesExtractRules
from medlens.notes.schema import Finding


@pytest.fixture(scope="module")
def rules() -> NotesExtractRules:
    return NotesExtractRules(types=["medication"])


def _meds(rules: NotesExtractRules, text: str) -> list[Finding]:
    found = rules.extract(text, "r1")
    assert all(f.type == "medication" for f in found)
    return found


def _sig(f: Finding) -> dict[str, tuple[int, int, str | None]]:
    out: dict[str, tuple[int, int, str | None]] = {}
    m = f.medication
    if m is None:
        return out
    if m.dose is not None:
        out["dose"] = (m.dose.evidence[0].start, m.dose.evidence[0].end, m.dose.ucum)
    for name in ("route", "frequency", "duration", "prn"):
        attr = getattr(m, name)
        if attr is not None:
            out[name] = (attr.evidence[0].start, attr.evidence[0].end, attr.value)
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Metoprolol 25 mg PO BID",
            (
                0,
                10,
                "metoprolol",
                "6918",
                {"dose": (11, 16, "mg"), "route": (17, 19, "PO"), "frequency": (20, 23, "BID")},
            ),
        ),
        (
            "Ibuprofen 600 mg by mouth every 6 hours as needed for pain.",
            (
                0,
                9,
                "ibuprofen",
                "5640",
                {
                    "dose": (10, 16, "mg"),
                    "route": (17, 25, "PO"),
                    "frequency": (26, 39, "Q6H"),
                    "prn": (40, 58, "pain"),
                },
            ),
        ),
        (
            "Oxycodone 5 mg q4-6h p.r.n. pain",
            (
                0,
                9,
                "oxycodone",
                "7804",
                {"dose": (10, 14, "mg"), "frequency": (15, 20, "Q4-6H"), "prn": (21, 32, "pain")},
            ),
        ),
        (
            "Amoxicillin 500 mg PO TID for 10 days.",
            (
                0,
                11,
                "amoxicillin",
                "723",
                {
                    "dose": (12, 18, "mg"),
                    "route": (19, 21, "PO"),
                    "frequency": (22, 25, "TID"),
                    "duration": (26, 37, "P10D"),
                },
            ),
        ),
        (
            "Prednisone 40 mg daily x 5 days then stop.",
            (
                0,
                10,
                "prednisone",
                "8640",
                {"dose": (11, 16, "mg"), "frequency": (17, 22, "QD"), "duration": (23, 31, "P5D")},
            ),
        ),
        (
            "Albuterol 2 puffs inhaled q4h PRN wheezing.",
            (
                0,
                9,
                "albuterol",
                "435",
                {
                    "dose": (10, 17, "{puff}"),
                    "route": (18, 25, "inhaled"),
                    "frequency": (26, 29, "Q4H"),
                    "prn": (30, 42, "wheezing"),
                },
            ),
        ),
        (
            "Insulin glargine 10 units subcut nightly.",
            (
                0,
                16,
                "insulin glargine",
                None,
                {"dose": (17, 25, "[iU]"), "route": (26, 32, "SC"), "frequency": (33, 40, "QHS")},
            ),
        ),
        (
            "Tylenol 1 tab PO q6h prn",
            (
                0,
                7,
                "acetaminophen",
                "161",
                {
                    "dose": (8, 13, "{tbl}"),
                    "route": (14, 16, "PO"),
                    "frequency": (17, 20, "Q6H"),
                    "prn": (21, 24, "true"),
                },
            ),
        ),
        (
            "Enoxaparin 40 mg SC once a day.",
            (
                0,
                10,
                "enoxaparin",
                "67108",
                {"dose": (11, 16, "mg"), "route": (17, 19, "SC"), "frequency": (20, 30, "QD")},
            ),
        ),
        (
            "Nitroglycerin 0.4 mg SL q5min PRN chest pain, up to 3 doses.",
            (
                0,
                13,
                "nitroglycerin",
                None,
                {
                    "dose": (14, 20, "mg"),
                    "route": (21, 23, "SL"),
                    "frequency": (24, 29, "Q5MIN"),
                    "prn": (30, 44, "chest pain"),
                },
            ),
        ),
        (
            "Vitamin B12 1000 mcg IM monthly.",
            (
                0,
                11,
                "vitamin B12",
                None,
                {"dose": (12, 20, "ug"), "route": (21, 23, "IM"), "frequency": (24, 31, "QMO")},
            ),
        ),
        (
            "Fentanyl patch 25 mcg/hr transdermal every 72 hours.",
            (
                0,
                14,
                "fentanyl",
                "4337",
                {"dose": (15, 24, "ug/h"), "route": (25, 36, "transdermal"), "frequency": (37, 51, "Q72H")},
            ),
        ),
        (
            "DuoNeb nebulized QID.",
            (0, 6, "albuterol / ipratropium", None, {"route": (7, 16, "nebulized"), "frequency": (17, 20, "QID")}),
        ),
        (
            "Ceftriaxone 1 g IV q24h x 7 days.",
            (
                0,
                11,
                "ceftriaxone",
                None,
                {
                    "dose": (12, 15, "g"),
                    "route": (16, 18, "IV"),
                    "frequency": (19, 23, "Q24H"),
                    "duration": (24, 32, "P7D"),
                },
            ),
        ),
        (
            "Glucophage 1,000 mg twice daily with meals.",
            (0, 10, "metformin", "6809", {"dose": (11, 19, "mg"), "frequency": (20, 31, "BID")}),
        ),
        (
            "CARVEDILOL 12.5 MG PO BID",
            (
                0,
                10,
                "carvedilol",
                "20352",
                {"dose": (11, 18, "mg"), "route": (19, 21, "PO"), "frequency": (22, 25, "BID")},
            ),
        ),
        (
            "Keflex one tablet by mouth four times a day for one week.",
            (
                0,
                6,
                "cephalexin",
                "2231",
                {
                    "dose": (7, 17, "{tbl}"),
                    "route": (18, 26, "PO"),
                    "frequency": (27, 43, "QID"),
                    "duration": (44, 56, "P1W"),
                },
            ),
        ),
        (
            "Lasix 40 mg IV every 8 to 12 hours.",
            (
                0,
                5,
                "furosemide",
                "4603",
                {"dose": (6, 11, "mg"), "route": (12, 14, "IV"), "frequency": (15, 34, "Q8-12H")},
            ),
        ),
        ("Warfarin 5 mg qod.", (0, 8, "warfarin", "11289", {"dose": (9, 13, "mg"), "frequency": (14, 17, "QOD")})),
        (
            "Levothyroxine 50 mcg every morning.",
            (0, 13, "levothyroxine", "10582", {"dose": (14, 20, "ug"), "frequency": (21, 34, "QAM")}),
        ),
    ],
)
def test_medication_and_sig_are_read_with_offsets(rules, text, expected):
    (f,) = _meds(rules, text)
    start, end, name, rxcui, sig = expected
    assert (f.evidence[0].start, f.evidence[0].end, f.text) == (start, end, name)
    assert (f.code.code if f.code else None) == rxcui
    assert _sig(f) == sig


def test_medication_list_splits_each_sig_at_the_next_drug(rules):
    text = "MEDICATIONS: Lisinopril 10 mg daily, metformin 500 mg b.i.d., aspirin 81 mg."
    found = _meds(rules, text)
    assert [(f.evidence[0].start, f.evidence[0].end, f.text) for f in found] == [
        (13, 23, "lisinopril"),
        (37, 46, "metformin"),
        (62, 69, "aspirin"),
    ]
    assert [_sig(f) for f in found] == [
        {"dose": (24, 29, "mg"), "frequency": (30, 35, "QD")},
        {"dose": (47, 53, "mg"), "frequency": (54, 60, "BID")},
        {"dose": (70, 75, "mg")},
    ]
    assert {f.section for f in found} == {"medications"}


def test_numbered_list_keeps_each_sig_on_its_line(rules):
    text = "Medications:\n1. Aspirin 81 mg PO daily.\n2. Atorvastatin 80 mg PO nightly.\n3. Lasix"
    found = _meds(rules, text)
    assert [f.text for f in found] == ["aspirin", "atorvastatin", "furosemide"]
    assert _sig(found[0])["frequency"][2] == "QD"
    assert _sig(found[1])["frequency"][2] == "QHS"
    assert found[2].medication is None


@pytest.mark.parametrize(
    "text",
    [
        "MEDICATIONS:  None.ALLERGIES:  No known drug allergies.",
        "CURRENT MEDICATIONS: NONE.",
        "Medications: No medications.",
    ],
)
def test_medications_none_gives_no_medication(rules, text):
    assert _meds(rules, text) == []


@pytest.mark.parametrize(
    ("text", "start", "status", "cue"),
    [
        ("He stopped taking lisinopril.", 18, "historical", "stopped taking"),
        ("Metformin was discontinued.", 0, "historical", "was discontinued"),
        ("Off Coumadin since May.", 4, "historical", "Off"),
        ("She is not taking aspirin.", 18, "negated", "not taking"),
    ],
)
def test_discontinued_or_unused_medication_is_historical_or_negated(rules, text, start, status, cue):
    (f,) = _meds(rules, text)
    assert f.evidence[0].start == start
    assert status in f.assertion.statuses
    own = [c for c in f.assertion.cues if c.rule.startswith("medlens.context.medication.")]
    assert [(c.status, c.text, text[c.start : c.end]) for c in own] == [(status, cue, cue)]


def test_current_medication_is_affirmed(rules):
    (f,) = _meds(rules, "Continue Lasix 40 mg PO QAM.")
    assert f.assertion.statuses == ()


def test_drug_in_the_allergies_section_is_not_a_medication():
    rules = NotesExtractRules(types=["medication", "allergy"])
    found = rules.extract("ALLERGIES: Bactrim (SJS), codeine (itching). MEDICATIONS: Aspirin 81 mg daily.", "r1")
    assert [(f.type, f.text) for f in found] == [
        ("allergy", "sulfamethoxazole / trimethoprim"),
        ("allergy", "codeine"),
        ("medication", "aspirin"),
    ]


def test_asa_class_is_not_aspirin(rules):
    assert _meds(rules, "ASA class II. Standard ASA monitors applied. ASA 325 mg daily.") != []
    found = _meds(rules, "ASA class II. Standard ASA monitors applied. ASA 325 mg daily.")
    assert [f.evidence[0].start for f in found] == [45]


def test_every_sig_part_has_its_own_evidence_with_a_producer(rules):
    (f,) = _meds(rules, "Ibuprofen 600 mg PO q6h PRN pain for 5 days")
    m = f.medication
    assert m is not None
    parts = [m.dose, m.route, m.frequency, m.duration, m.prn]
    producers = [p.evidence[0].producer for p in parts if p is not None]
    assert producers == [
        "medlens.rule.notes.medication.dose.v1",
        "medlens.rule.notes.medication.route.v1",
        "medlens.rule.notes.medication.frequency.v1",
        "medlens.rule.notes.medication.duration.v1",
        "medlens.rule.notes.medication.prn.v1",
    ]
    assert f.code is not None
    assert f.code.system == "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_dose_range_keeps_low_and_high(rules):
    (f,) = _meds(rules, "Percocet 1-2 tabs PO q4h prn")
    assert f.medication is not None
    assert f.medication.dose is not None
    assert (f.medication.dose.low, f.medication.dose.high, f.medication.dose.ucum) == (1.0, 2.0, "{tbl}")


def test_duration_is_not_read_as_a_dose(rules):
    (f,) = _meds(rules, "Cipro for 7 days.")
    assert f.medication is not None
    assert f.medication.dose is None
    assert f.medication.duration is not None
    assert f.medication.duration.value == "P7D"


@pytest.mark.parametrize(
    ("text", "sig"),
    [
        ("Marcaine and 1% lidocaine plain.", [{}, {}]),
        ("Temazepam 0.09 mg/L in serum.", [{}]),
        ("Valium prn, Nubain prn.", [{"prn": (7, 10, "true")}]),
        ("Pepcid AC daily.", [{"frequency": (10, 15, "QD")}]),
        (
            "Tenormin 50 mg q.a.m.4. Lasix 20 mg daily.",
            [
                {"dose": (9, 14, "mg"), "frequency": (15, 21, "QAM")},
                {"dose": (30, 35, "mg"), "frequency": (36, 41, "QD")},
            ],
        ),
        ("Levaquin, later changed to oral formulation.", [{}]),
        ("Lasix IV now.", [{"route": (6, 8, "IV")}]),
        ("Oxycodone 5 mg p.r.n. pain", [{"dose": (10, 14, "mg"), "prn": (15, 26, "pain")}]),
    ],
)
def test_sig_is_not_read_from_neighbouring_words(rules, text, sig):
    assert [_sig(f) for f in _meds(rules, text)] == sig
