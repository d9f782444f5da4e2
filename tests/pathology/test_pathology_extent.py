"""Extent statements: structure + invasion cue, exact evidence offsets, negation, refinement, section choice."""

from __future__ import annotations

import pytest

from medlens.pathology.extent import find_extents, select_extents


def _found(text: str) -> list[tuple[str, str, str]]:
    return [(f.key, f.status, f.evidence[0].quote) for f in find_extents(text, "r")]


# (text, [(key, status, quote)]) -- quotes are checked as text[start:end] by the offset test below.
ROWS = [
    (
        "Adenocarcinoma invades through the muscularis propria into pericolic fat.",
        [
            ("beyond_muscularis_propria", "present", "through the muscularis propria"),
            ("pericolorectal_tissue", "present", "into pericolic fat"),
        ],
    ),
    ("Depth of invasion: submucosa.", [("submucosa", "present", "Depth of invasion: submucosa")]),
    ("Visceral pleural invasion: present.", [("visceral_pleura", "present", "Visceral pleural invasion")]),
    ("Tumor invades the visceral pleura.", [("visceral_pleura", "present", "invades the visceral pleura")]),
    (
        "Carcinoma invades into but not through the muscularis propria.",
        [("muscularis_propria", "present", "into but not through the muscularis propria")],
    ),
    (
        "Carcinoma invades the outer half of the muscularis propria.",
        [("muscularis_propria_outer", "present", "invades the outer half of the muscularis propria")],
    ),
    (
        "Tumor extends microscopically into perivesical fat.",
        [("perivesical_tissue_microscopic", "present", "into perivesical fat")],
    ),
    ("Tumor extends through Gerota's fascia.", [("beyond_gerota_fascia", "present", "through Gerota's fascia")]),
    (
        "Gross tumor thrombus within the renal vein.",
        [("renal_vein", "present", "tumor thrombus within the renal vein")],
    ),
    ("Tumor invades perinephric fat.", [("perinephric_fat", "present", "invades perinephric fat")]),
    ("Tumor involves the chest wall.", [("chest_wall", "present", "involves the chest wall")]),
    # Liver (ch. 22) and adrenal cortex (ch. 76) vocabulary.
    (
        "Tumor thrombus in a major branch of the portal vein.",
        [("major_portal_hepatic_vein", "present", "Tumor thrombus in a major branch of the portal vein")],
    ),
    (
        "Involvement of a major branch of the hepatic vein: absent.",
        [("major_portal_hepatic_vein", "absent", "Involvement of a major branch of the hepatic vein")],
    ),
    (
        "Carcinoma perforates the visceral peritoneum.",
        [("visceral_peritoneum_perforated", "present", "perforates the visceral peritoneum")],
    ),
    (
        "Carcinoma invades the visceral peritoneum.",
        [("visceral_peritoneum", "present", "invades the visceral peritoneum")],
    ),
    ("Carcinoma extends into periadrenal fat.", [("periadrenal_tissue", "present", "into periadrenal fat")]),
    ("Carcinoma directly invades the kidney.", [("kidney", "present", "directly invades the kidney")]),
    ("No direct extension into the spleen.", [("spleen", "absent", "direct extension into the spleen")]),
]


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_extent_statements(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_evidence_offsets_quote_the_text(text: str, expected: list[tuple[str, str, str]]) -> None:
    for finding, (_, _, quote) in zip(find_extents(text, "r"), expected, strict=True):
        ev = finding.evidence[0]
        assert (ev.start, ev.end) == (text.index(quote), text.index(quote) + len(quote))
        assert text[ev.start : ev.end] == ev.quote


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Tumor does not invade the serosa.", "serosa"),
        ("No invasion of the visceral pleura.", "visceral_pleura"),
        ("Visceral pleural invasion: not identified.", "visceral_pleura"),
        ("Perinephric fat invasion: absent.", "perinephric_fat"),
        ("Tumor without invasion of perirenal fat.", "perinephric_fat"),
        ("Tumor invades the muscularis propria; perivesical fat invasion: absent.", "perivesical_tissue"),
        ("Renal sinus fat: invasion not identified.", "renal_sinus_fat"),
    ],
)
def test_negated_extent_is_absent(text: str, key: str) -> None:
    findings = [f for f in find_extents(text, "r") if f.key == key]
    assert [f.status for f in findings] == ["absent"]
    assert select_extents(findings) == ()


@pytest.mark.parametrize(
    "text",
    [
        "Tumor is 2 mm from the serosal surface.",
        "Invasive urothelial carcinoma. Muscularis propria present and uninvolved.",
        "Tumor invades the pericolonic lymph nodes.",
        "Serosal margin: negative.",
        "The kidney shows a tan mass. Adrenal gland unremarkable.",
    ],
)
def test_not_an_extent_statement(text: str) -> None:
    assert [f for f in find_extents(text, "r") if f.status == "present"] == []


def test_final_diagnosis_wins_over_gross() -> None:
    text = (
        "GROSS DESCRIPTION: The mass appears to invade the serosa. "
        "FINAL DIAGNOSIS: Adenocarcinoma invading the muscularis propria."
    )
    chosen = select_extents(find_extents(text, "r"))
    assert [(f.key, f.section) for f in chosen] == [("muscularis_propria", "final_diagnosis")]


def test_gross_used_when_diagnosis_is_silent() -> None:
    text = "GROSS DESCRIPTION: The tumor extends into perinephric fat. FINAL DIAGNOSIS: Clear cell carcinoma."
    assert [f.key for f in select_extents(find_extents(text, "r"))] == ["perinephric_fat"]


def test_absent_in_diagnosis_drops_present_in_gross() -> None:
    text = (
        "GROSS DESCRIPTION: The tumor extends into perinephric fat. "
        "FINAL DIAGNOSIS: Clear cell carcinoma. Perinephric fat invasion: not identified."
    )
    assert select_extents(find_extents(text, "r")) == ()


def test_clinical_history_is_never_used() -> None:
    text = "CLINICAL HISTORY: Mass invading the chest wall on CT. FINAL DIAGNOSIS: Adenocarcinoma."
    findings = find_extents(text, "r")
    assert [f.section for f in findings] == ["clinical"]
    assert select_extents(findings) == ()


def test_report_without_structures_has_no_findings() -> None:
    assert find_extents("Benign skin, no tumor.", "r") == ()


@pytest.mark.parametrize(
    "text",
    [
        "Left kidney and adrenal gland, resection: adrenocortical carcinoma.",  # organ named, no cue
        "Carcinoma involving the liver and pancreas nodes.",  # organ words need a strict cue
    ],
)
def test_organ_word_without_direct_invasion_cue_is_no_extent(text: str) -> None:
    assert [f.key for f in find_extents(text, "r") if f.key in {"kidney", "liver", "pancreas"}] == []
