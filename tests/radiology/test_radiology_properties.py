"""Invariants of radiology.labels for arbitrary text: evidence quotes the text exactly, labels validate, output is
deterministic, every label of the set is reported once."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.labels_lexicon import load_label_set
from medlens.radiology.schema import LABEL_STATUSES, Label

RULES = RadiologyLabelsRules()
NAMES = [lab.name for lab in load_label_set("chexpert").labels]

# Report fragments mixed with arbitrary text so that the rules fire often, next to odd characters.
FRAGMENTS = [
    "FINDINGS:",
    "IMPRESSION:",
    "INDICATION:",
    "COMPARISON:",
    "The heart size is upper normal.",
    "heart is mildly enlarged",
    "Normal heart size",
    "cardiomediastinal silhouette is within normal limits",
    "The lungs are clear",
    "No pneumothorax",
    "small left pleural effusion",
    "no change in the effusion",
    "cannot be excluded",
    "may represent atelectasis",
    "versus pneumonia",
    "CHF",
    "ET tube",
    "calcified granuloma",
    "blunting of the costophrenic angle",
    "PA AND LATERAL CHEST RADIOGRAPH:",
    "\u0130",
    "\u00df",
    "\ufb01",
    "\n",
    "\n\n",
    "\t",
    ". ",
    ", ",
    "-",
    ":",
    "XXXX",
]

texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=25).map(" ".join)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_evidence_quotes_the_text_exactly(text: str) -> None:
    for lab in RULES.label(text, "p1"):
        for ev in lab.evidence:
            ev.verify(text)
            assert text[ev.start : ev.end] == ev.quote
        if lab.assertion is not None:
            for cue in lab.assertion.cues:
                assert text[cue.start : cue.end] == cue.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_every_label_once_valid_and_deterministic(text: str) -> None:
    first = RULES.label(text, "p1")
    assert [lab.name for lab in first] == NAMES
    for lab in first:
        assert lab.status in LABEL_STATUSES
        Label.model_validate(lab.model_dump())
        assert lab.supported == bool(lab.evidence)
        if lab.status == "not_mentioned":
            assert not lab.evidence
    assert RULES.label(text, "p1") == first
