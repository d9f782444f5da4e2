"""Tumour focality statements: solitary / multiple, negation, uncertainty, exact offsets, section choice."""

from __future__ import annotations

import pytest

from medlens.pathology.focality import find_focality, select_focality

# (text, [(value, status, quote)]) -- quotes are checked as text[start:end] by the offset test below.
ROWS = [
    ("Tumor focality: Solitary.", [("solitary", "present", "Solitary")]),
    ("Tumor number: One. Tumor size: 2.8 cm.", [("solitary", "present", "Tumor number: One")]),
    ("Unifocal hepatocellular carcinoma.", [("solitary", "present", "Unifocal")]),
    ("A 4.6 cm mass with a single satellite nodule.", [("multiple", "present", "satellite nodule")]),
    ("Tumor focality: Multiple (right lobe, left lobe).", [("multiple", "present", "Tumor focality: Multiple")]),
    ("Intrahepatic metastasis: yes.", [("multiple", "present", "Intrahepatic metastasis")]),
    ("Satellite nodule: No.", [("multiple", "absent", "Satellite nodule: No")]),
    ("Multicentric occurrence: absent.", [("multiple", "absent", "Multicentric occurrence: absent")]),
    ("There are no satellite nodules.", [("multiple", "absent", "satellite nodules")]),
    ("Multi-focal: No.", [("multiple", "absent", "Multi-focal: No")]),
    ("Section of small nodule ?satellite lesion.", []),
    ("Possible satellite nodule in segment 6.", []),
]


def _found(text: str) -> list[tuple[str, str, str]]:
    return [(f.value, f.status, f.evidence[0].quote) for f in find_focality(text, "r")]


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_focality_statements(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_focality_evidence_offsets_quote_the_text(text: str, expected: list[tuple[str, str, str]]) -> None:
    for finding, (_, _, quote) in zip(find_focality(text, "r"), expected, strict=True):
        ev = finding.evidence[0]
        assert (ev.start, ev.end) == (text.index(quote), text.index(quote) + len(quote))
        assert text[ev.start : ev.end] == ev.quote


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FINAL DIAGNOSIS: Solitary tumor. Satellite nodule: no.", "solitary"),
        ("FINAL DIAGNOSIS: Solitary tumor with two satellite nodules.", "multiple"),
        ("FINAL DIAGNOSIS: Multifocal: no.", None),  # a negated 'multiple' does not state solitary
        ("CLINICAL HISTORY: multifocal HCC on imaging. FINAL DIAGNOSIS: Hepatocellular carcinoma.", None),
        ("GROSS DESCRIPTION: Two nodules. Satellite nodules present. FINAL DIAGNOSIS: Solitary tumor.", "solitary"),
        ("FINAL DIAGNOSIS: Hepatocellular carcinoma. GROSS DESCRIPTION: Solitary mass.", "solitary"),
    ],
)
def test_select_focality(text: str, expected: str | None) -> None:
    chosen = select_focality(find_focality(text, "r"))
    assert (chosen.value if chosen is not None else None) == expected
