"""Invariants of notes.extract for arbitrary text: every evidence span quotes the text, findings re-validate,
output is deterministic."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from medlens.core.types import Evidence
from medlens.notes.rules import NotesExtractRules
from medlens.notes.schema import Finding
from medlens.notes.terminology import PhraseMatcher

RULES = NotesExtractRules()

# Clinical fragments mixed with arbitrary text so that the rules fire often, next to odd characters.
FRAGMENTS = [
    "HTN",
    "DM2",
    "CAD",
    "PE",
    "CVA",
    "AF",
    "RA",
    "ASA",
    "hypertension",
    "chest pain",
    "Denies fever.",
    "MEDICATIONS:",
    "ALLERGIES:",
    "PAST MEDICAL HISTORY:",
    "Lisinopril 10 mg PO daily",
    "metformin 500 mg b.i.d.",
    "albuterol 2 puffs q4-6h PRN wheezing",
    "for 7 days",
    "x 10 days",
    "as needed for pain",
    "Penicillin (hives)",
    "allergic to codeine",
    "NKDA",
    "None.",
    "No known drug allergies.",
    "s/p appendectomy",
    "BP 120/80",
    "HR 72",
    "sodium 135",
    "\u0130",
    "\u00df",
    "\ufb01",
    "\n",
    "\t",
    ". ",
    ", ",
    "(",
    ")",
    "-",
    "/",
    ":",
]

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=40).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(" ".join).map(str.upper),
)


def _evidence(model: BaseModel) -> Iterator[Evidence]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, Evidence):
                yield item
            elif isinstance(item, BaseModel):
                yield from _evidence(item)


@SETTINGS
@given(texts)
def test_every_evidence_span_quotes_the_text_and_lies_inside_it(text):
    for finding in RULES.extract(text, "rec"):
        spans = list(_evidence(finding))
        assert spans
        assert spans[0] is finding.evidence[0]
        for ev in spans:
            assert 0 <= ev.start <= ev.end <= len(text)
            assert text[ev.start : ev.end] == ev.quote
            assert ev.record_id == "rec"
            assert ev.producer.startswith("medlens.")
        for cue in finding.assertion.cues:
            assert text[cue.start : cue.end] == cue.text


@SETTINGS
@given(texts)
def test_findings_revalidate_and_are_sorted(text):
    found = RULES.extract(text, "rec")
    for finding in found:
        assert Finding.model_validate(finding.model_dump()) == finding
    starts = [f.evidence[0].start for f in found]
    assert starts == sorted(starts)


@settings(max_examples=60, deadline=None)
@given(texts)
def test_same_input_gives_the_same_output(text):
    assert RULES.extract(text, "rec") == RULES.extract(text, "rec")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["heart failure", "CAD", "d&c", "a-fib"]))
def test_phrase_matches_quote_the_phrase_at_word_boundaries(noise, phrase):
    matcher: PhraseMatcher[int] = PhraseMatcher()
    matcher.add(phrase, 1, case_sensitive=phrase.isupper())
    text = noise + " " + phrase + " " + noise
    found = matcher.find(text)
    assert any(text[m.start : m.end] == phrase for m in found)
    for m in found:
        assert text[m.start : m.end].lower() == phrase.lower()
        assert m.start == 0 or not text[m.start - 1].isalnum()
        assert m.end == len(text) or not text[m.end].isalnum()
