"""Radiology report sections: roles of the text engine's sections, sub-headers and dictated bodies."""

from __future__ import annotations

import itertools

import pytest

from medlens.radiology.report_sections import report_sections
from medlens.text.analysis import analyze

REPORT = (
    "EXAMINATION: CHEST (PA AND LAT)\n"
    "INDICATION: Cough, rule out pneumonia.\n"
    "COMPARISON: None.\n"
    "TECHNIQUE: PA and lateral views.\n"
    "FINDINGS: The lungs are clear.\n"
    "IMPRESSION: No acute disease.\n"
)


@pytest.mark.parametrize(
    ("phrase", "role"),
    [
        ("CHEST (PA AND LAT)", "exam"),
        ("Cough, rule out", "indication"),
        ("None.", "comparison"),
        ("PA and lateral views", "technique"),
        ("lungs are clear", "findings"),
        ("No acute disease", "impression"),
    ],
)
def test_each_header_gets_its_role(phrase: str, role: str) -> None:
    sections = report_sections(analyze(REPORT))
    assert sections.at(REPORT.index(phrase)).role == role


@pytest.mark.parametrize(
    ("text", "phrase", "role"),
    [
        ("CLINICAL HISTORY: Fever.\nFINDINGS: Clear.", "Fever", "indication"),
        ("REASON FOR EXAM: Fever.\nFINDINGS: Clear.", "Fever", "indication"),
        ("HISTORY: Fever.\nFINDINGS: Clear.", "Fever", "indication"),
        ("CONCLUSION: Normal chest.", "Normal chest", "impression"),
        ("The lungs are clear.", "lungs", "body"),
        ("HISTORY: Fever.\n\nThe lungs are clear.", "lungs", "body"),
        ("COMPARISON: None.\nPA AND LATERAL CHEST RADIOGRAPH: Clear lungs.", "Clear lungs", "findings"),
        ("CLINICAL INDICATION: Fever.\nFINDINGS: Clear.", "Fever", "indication"),
        ("FINDINGS: Clear.\nNOTIFICATION: Discussed with the team.", "Discussed", "other"),
        ("FINDINGS:\nHEART: Normal size.", "Normal size", "findings"),
        ("IMPRESSION: Clear.\nRECOMMENDATION: CT in 3 months.", "CT in", "other"),
    ],
)
def test_report_variants(text: str, phrase: str, role: str) -> None:
    assert report_sections(analyze(text)).at(text.index(phrase)).role == role


def test_sections_tile_the_text() -> None:
    text = "HISTORY: Fever.\n\nThe lungs are clear.\nIMPRESSION: Normal."
    secs = report_sections(analyze(text)).sections
    assert secs[0].section.start == 0
    assert secs[-1].section.end == len(text)
    for a, b in itertools.pairwise(secs):
        assert a.section.end == b.section.start


def test_header_text_does_not_produce_labels() -> None:
    text = "FINDINGS: Clear."
    sections = report_sections(analyze(text))
    assert not sections.labels_at(0)
    assert sections.labels_at(text.index("Clear"))
