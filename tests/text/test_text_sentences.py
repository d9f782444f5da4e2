"""Sentence splitting: abbreviations, decimals, list numbers, newlines, glued headers; offsets are exact."""

from __future__ import annotations

import pytest

from medlens.text.sections import detect_sections
from medlens.text.sentences import split_sentences
from medlens.text.tokens import tokenize

# (text, expected sentences as text) -- offsets are checked against the text in the test.
SENTENCE_TABLE = [
    ("Dr. Smith saw Mr. Jones today. He is well.", ["Dr. Smith saw Mr. Jones today.", "He is well."]),
    ("Use NSAIDs, e.g. ibuprofen, i.e. an anti-inflammatory. Stop.",
     ["Use NSAIDs, e.g. ibuprofen, i.e. an anti-inflammatory.", "Stop."]),
    ("Pneumonia vs. atelectasis. Repeat film.", ["Pneumonia vs. atelectasis.", "Repeat film."]),
    ("Aspirin 81 mg. daily for CAD. Next.", ["Aspirin 81 mg. daily for CAD.", "Next."]),
    ("Lesion measures 1.5 cm. Stable.", ["Lesion measures 1.5 cm.", "Stable."]),
    ("Take 1 tab q.d. and b.i.d. as needed. Return.", ["Take 1 tab q.d. and b.i.d. as needed.", "Return."]),
    ("IMPRESSION:\n1. Pneumonia.\n2. Effusion.", ["IMPRESSION:", "1. Pneumonia.", "2. Effusion."]),
    ("1. Stenosis.2. Mild LVH.3. Normal RV.", ["1. Stenosis.", "2. Mild LVH.", "3. Normal RV."]),
    ("He has mild anorexia.PAST MEDICAL HISTORY: Essentially unremarkable.",
     ["He has mild anorexia.", "PAST MEDICAL HISTORY: Essentially unremarkable."]),
    ("Stable on oxygen.VITAL SIGNS: Blood pressure 96/56.",
     ["Stable on oxygen.", "VITAL SIGNS: Blood pressure 96/56."]),
    ("HEENT: Normal. NECK: Supple", ["HEENT: Normal.", "NECK: Supple"]),
    ("Medications:\naspirin 81 mg\nmetoprolol 25 mg", ["Medications:", "aspirin 81 mg", "metoprolol 25 mg"]),
    ("Fever: no\nChills: yes", ["Fever: no", "Chills: yes"]),
    ("The patient is a 45-year-old man who presented with\nchest pain radiating to the left arm.",
     ["The patient is a 45-year-old man who presented with\nchest pain radiating to the left arm."]),
    ("Denies fever, chills,\nnight sweats.", ["Denies fever, chills,\nnight sweats."]),
    ("First paragraph\n\nSecond paragraph", ["First paragraph", "Second paragraph"]),
    ("Left lower lobe opacity, ? pneumonia. ?fracture of the wrist.",
     ["Left lower lobe opacity, ? pneumonia.", "?fracture of the wrist."]),
    ("Is it pneumonia? Yes.", ["Is it pneumonia?", "Yes."]),
    ("No. 2 chest tube placed. Grade 2. The end.", ["No. 2 chest tube placed.", "Grade 2.", "The end."]),
    ("It was a peculiar finding.\" COURSE was good.", ["It was a peculiar finding.\"", "COURSE was good."]),
    ("NO ACUTE DISTRESS. LUNGS CLEAR.", ["NO ACUTE DISTRESS.", "LUNGS CLEAR."]),
    ("ALT 39 U/L. Blood alcohol negative.", ["ALT 39 U/L.", "Blood alcohol negative."]),
    ("Seen by J. Smith today.", ["Seen by J. Smith today."]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SENTENCE_TABLE)
def test_sentences_match_table(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == expected


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("  One.  Two.  ", [(2, 6), (8, 12)]),
        ("A.\nB.", [(0, 2), (3, 5)]),
        ("PMH: HTN.PSH: none.", [(0, 9), (9, 19)]),
    ],
)
def test_sentence_offsets_are_trimmed_and_exact(text: str, spans: list[tuple[int, int]]) -> None:
    assert split_sentences(text) == spans


def test_sentences_never_cross_section_boundaries() -> None:
    text = "Cough for 3 days and PAST MEDICAL HISTORY: asthma and FAMILY HISTORY: none"
    sections = detect_sections(text)
    for s, e in split_sentences(text, sections=sections):
        assert any(sec.start <= s and e <= sec.end for sec in sections)


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Take b.i.d. now", ["Take", "b.i.d", ".", "now"]),
        ("1.5 cm x-ray", ["1.5", "cm", "x-ray"]),
        ("patient's r/o MI.", ["patient's", "r", "/", "o", "MI", "."]),
    ],
)
def test_tokenize_offsets_quote_the_text(text: str, tokens: list[str]) -> None:
    assert [text[s:e] for s, e in tokenize(text)] == tokens


def test_tokenize_respects_start_and_end() -> None:
    text = "alpha beta gamma"
    assert tokenize(text, 6, 10) == [(6, 10)]
