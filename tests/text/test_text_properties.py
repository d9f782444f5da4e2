"""Property tests: the text engine never crashes and keeps its offset invariants on arbitrary text."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlens.text.analysis import analyze
from medlens.text.context import ContextEngine

ENGINE = ContextEngine()

# Arbitrary unicode, plus text built from clinical fragments so that headers and cues actually occur.
FRAGMENTS = st.sampled_from(
    [
        "PAST MEDICAL HISTORY:", "HPI:", "FH:", "ROS:", "Plan:", "HEENT:", "no ", "denies ", "possible ", "history of ",
        "if ", "mother ", "fever", "chest pain", ", ", " or ", ". ", ".", "\n", "\n\n", "1. ", "Dr. ", "b.i.d. ",
        "1.5 ", "?", ";", " but ", "NO EVIDENCE OF ", "Fever: no", "-ve", "in 2015", "5 years ago", "İ", "ß", "\t",
    ]
)  # fmt: skip
TEXTS = st.one_of(st.text(max_size=400), st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=60).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_sections_tile_the_text(text: str) -> None:
    sections = analyze(text).sections
    assert sections[0].start == 0
    assert sections[-1].end == len(text)
    for a, b in itertools.pairwise(sections):
        assert a.end == b.start
    for s in sections:
        assert s.start == s.header_start <= s.header_end <= s.end


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_sentences_are_trimmed_ordered_and_inside_one_section(text: str) -> None:
    analysis = analyze(text)
    prev_end = 0
    for s, e in analysis.sentences:
        assert prev_end <= s < e <= len(text)
        assert not text[s].isspace()
        assert not text[e - 1].isspace()
        sec = analysis.section_at(s)
        assert sec.start <= s
        assert e <= sec.end
        prev_end = e


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.data())
def test_cues_quote_the_text_exactly(text: str, data: st.DataObject) -> None:
    analysis = analyze(text)
    n = len(text)
    targets = []
    if n:
        for _ in range(data.draw(st.integers(0, 8))):
            s = data.draw(st.integers(0, n - 1))
            e = data.draw(st.integers(s + 1, n))
            targets.append((s, e))
    for assertion in ENGINE.assert_targets(text, targets, analysis=analysis):
        for cue in assertion.cues:
            assert 0 <= cue.start < cue.end <= n
            assert text[cue.start : cue.end] == cue.text
