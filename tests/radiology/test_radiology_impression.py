"""radiology.impression (rules): extractive, grounded draft impressions from the findings section."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medlens.core.types import Document
from medlens.radiology.impression import RadiologyImpressionRules, load_impression_lexicon
from medlens.radiology.impression_schema import RadiologyImpressionResult
from medlens.radiology.labels import RadiologyLabelsRules

_WORD = re.compile(r"\w+")
TEMPLATE = "No acute cardiopulmonary abnormality."


@pytest.fixture(scope="module")
def rules() -> RadiologyImpressionRules:
    return RadiologyImpressionRules()


@pytest.fixture(scope="module")
def labeler() -> RadiologyLabelsRules:
    return RadiologyLabelsRules()


def _draft(rules: RadiologyImpressionRules, findings: str, impression: str = "") -> RadiologyImpressionResult:
    text = f"FINDINGS: {findings}"
    if impression:
        text += f"\n\nIMPRESSION: {impression}"
    return rules.draft(text, "r1")


# findings text -> [(sentence text, labels, evidence quotes)]
TABLE = [
    (
        "No pneumothorax, but there is a small left pleural effusion.",
        [
            (
                "There is a small left pleural effusion.",
                ("Pleural Effusion",),
                ("there is a small left pleural effusion",),
            )
        ],
    ),
    (
        "Heart size is normal. Right upper lobe consolidation. Small right pleural effusion.",
        [
            ("Right upper lobe consolidation.", ("Consolidation", "Lung Opacity"), ("Right upper lobe consolidation",)),
            ("Small right pleural effusion.", ("Pleural Effusion",), ("Small right pleural effusion",)),
        ],
    ),
    (
        "The heart is enlarged. There is a right pneumothorax.",
        [
            ("There is a right pneumothorax.", ("Pneumothorax",), ("There is a right pneumothorax",)),
            ("The heart is enlarged.", ("Cardiomegaly", "Enlarged Cardiomediastinum"), ("The heart is enlarged",)),
        ],
    ),
    (
        "1. Mild pulmonary edema; no effusion.",
        [("Mild pulmonary edema.", ("Edema", "Lung Opacity"), ("Mild pulmonary edema",))],
    ),
    (
        "Possible right lower lobe pneumonia. Lungs otherwise clear.",
        [
            (
                "Possible right lower lobe pneumonia.",
                ("Pneumonia", "Lung Opacity"),
                ("Possible right lower lobe pneumonia",),
            )
        ],
    ),
]


@pytest.mark.parametrize(("findings", "expected"), TABLE)
def test_findings_give_extractive_sentences_with_evidence(
    rules: RadiologyImpressionRules, findings: str, expected: list[tuple[str, tuple[str, ...], tuple[str, ...]]]
) -> None:
    res = _draft(rules, findings)
    got = [(s.text, s.labels, tuple(ev.quote for ev in s.evidence)) for s in res.sentences]
    assert got == expected


def test_evidence_offsets_quote_the_report(rules: RadiologyImpressionRules) -> None:
    text = "FINDINGS: Heart size is normal. Left basilar atelectasis.\n\nIMPRESSION: Atelectasis."
    res = rules.draft(text, "r1")
    (sentence,) = res.sentences
    (ev,) = sentence.evidence
    assert (ev.start, ev.end, ev.record_id) == (32, 56, "r1")
    assert text[ev.start : ev.end] == ev.quote == "Left basilar atelectasis"


def test_same_label_in_several_sentences_is_merged(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "Small left pleural effusion. Heart size is normal. The effusion layers posteriorly.")
    (sentence,) = res.sentences
    assert sentence.text == "Small left pleural effusion. The effusion layers posteriorly."
    assert [ev.quote for ev in sentence.evidence] == ["Small left pleural effusion", "The effusion layers posteriorly"]
    assert sentence.labels == ("Pleural Effusion",)


def test_sentence_with_two_labels_is_written_once(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "Left lower lobe consolidation and small left pleural effusion.")
    (sentence,) = res.sentences
    assert sentence.labels[0] == "Consolidation"
    assert "Pleural Effusion" in sentence.labels


def test_normal_report_gives_the_template(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "The lungs are clear. No pneumothorax or pleural effusion. Heart size is normal.")
    (sentence,) = res.sentences
    assert (sentence.text, sentence.kind, sentence.rank, sentence.supported) == (TEMPLATE, "template", 1, True)
    assert res.normal is True
    assert {ev.quote for ev in sentence.evidence} >= {"pneumothorax", "Heart size is normal"}


def test_template_is_never_written_with_a_positive_finding(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "The lungs are clear. Small right pleural effusion.")
    assert all(s.kind == "extractive" for s in res.sentences)
    assert res.normal is False


def test_incidental_finding_follows_the_template(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "The lungs are clear. No pleural effusion. Calcified granuloma in the right upper lobe.")
    assert [s.text for s in res.sentences] == [TEMPLATE, "Calcified granuloma in the right upper lobe."]
    assert res.sentences[1].labels == ("other:granuloma",)


def test_devices_come_last(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "Endotracheal tube tip 4 cm above the carina. Right lower lobe atelectasis.")
    assert [s.labels[0] for s in res.sentences] == ["Atelectasis", "Support Devices"]
    assert res.sentences[1].text == "Endotracheal tube tip 4 cm above the carina."


@pytest.mark.parametrize(
    ("findings", "hedge"),
    [
        ("Possible small left pleural effusion.", "possible"),
        ("Cannot exclude a small right pneumothorax.", "cannot exclude"),
        ("Right basilar opacity, likely atelectasis.", "likely"),
        ("No edema; however, early pneumonia is not excluded.", "not excluded"),
    ],
)
def test_hedge_words_are_kept(rules: RadiologyImpressionRules, findings: str, hedge: str) -> None:
    res = _draft(rules, findings)
    assert res.sentences
    assert hedge in res.text.lower()


def test_impression_section_is_never_read(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "The lungs are clear. No effusion.", impression="Large right pneumothorax.")
    assert [s.text for s in res.sentences] == [TEMPLATE]


def test_report_without_findings_header_uses_the_body(rules: RadiologyImpressionRules) -> None:
    res = rules.draft("Small left pleural effusion. No pneumothorax.", "r1")
    assert res.source_section == "body"
    assert res.text == "Small left pleural effusion."


def test_empty_report_gives_no_sentence(rules: RadiologyImpressionRules) -> None:
    res = rules.draft("", "r1")
    assert (res.sentences, res.source_section, res.normal) == ((), "none", False)


def test_findings_without_any_mention_give_no_template(rules: RadiologyImpressionRules) -> None:
    res = _draft(rules, "Two views of the chest were obtained.")
    assert res.sentences == ()


def test_call_returns_one_result_per_document(rules: RadiologyImpressionRules) -> None:
    docs = [Document(id="a", text="FINDINGS: Left pneumothorax."), Document(id="b", text="")]
    out = rules(docs)
    assert [r.name for r in out] == ["medlens.task.radiology.impression.v1"] * 2
    assert out[0].sentences[0].evidence[0].record_id == "a"


def test_lexicon_priority_puts_pneumothorax_first_and_devices_last() -> None:
    lex = load_impression_lexicon()
    assert lex.priority[0] == "Pneumothorax"
    assert lex.priority[-1] == "Support Devices"


# ---------------------------------------------------------------- grounding property
SENTENCES = [
    "The heart is enlarged.",
    "Heart size is normal.",
    "The lungs are clear.",
    "No pneumothorax.",
    "There is a small right pneumothorax.",
    "Small left pleural effusion.",
    "No pleural effusion; mild pulmonary edema.",
    "Possible right lower lobe pneumonia.",
    "Cannot exclude a 6 mm nodule in the left upper lobe.",
    "Right basilar opacity, likely atelectasis.",
    "Calcified granuloma.",
    "Degenerative changes of the thoracic spine.",
    "Endotracheal tube tip 5 cm above the carina.",
    "Acute fracture of the right 7th rib.",
    "No focal consolidation, but there is patchy left basilar airspace disease.",
    "Pleural thickening at the left apex.",
    "Mediastinum is widened.",
    "1. Stable 2.5 cm mass in the right hilum.",
]
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(SENTENCES), min_size=0, max_size=6))
def test_every_sentence_is_grounded_in_its_evidence(sentences: list[str]) -> None:
    rules = _RULES
    text = "INDICATION: Cough.\nFINDINGS: " + " ".join(sentences) + "\n\nIMPRESSION: Pneumothorax and mass."
    res = rules.draft(text, "p")
    template_words = {w.lower() for t in rules.templates for w in _WORD.findall(t)}
    for s in res.sentences:
        for ev in s.evidence:
            assert text[ev.start : ev.end] == ev.quote
            assert ev.end <= text.index("\n\nIMPRESSION")
        quoted = " ".join(ev.quote for ev in s.evidence).lower()
        allowed = {w for w in _WORD.findall(quoted)} | (template_words if s.kind == "template" else set())
        assert {w.lower() for w in _WORD.findall(s.text)} <= allowed
        assert set(_NUMBER.findall(s.text)) <= set(_NUMBER.findall(quoted))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=6))
def test_no_positive_finding_is_lost(sentences: list[str]) -> None:
    findings = "FINDINGS: " + " ".join(sentences)
    res = _RULES.draft(findings, "p")
    before = {lab.name for lab in _LABELER.label(findings, "p") if lab.status == "positive"}
    after = {lab.name for lab in _LABELER.label(res.text, "p") if lab.status == "positive"}
    assert before - {"No Finding"} <= after


_RULES = RadiologyImpressionRules()
_LABELER = RadiologyLabelsRules()
