"""Every cue phrase of the lexicon found in one pass (Aho-Corasick over the lower-cased text).

Trying a few hundred cue alternatives at every offset with regular expressions costs milliseconds per note; one
automaton pass finds all of them at once, and the detectors then check only the text right after each cue.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import ahocorasick

from medlens.safety.deid.lexicon import lexicons

__all__ = ["CueHit", "find_cues", "lower_same_length"]

CueHit = tuple[int, int, str]
"""(start, end, phrase): a cue occurrence on word boundaries; the phrase is lower case."""


@functools.cache
def _automaton() -> ahocorasick.Automaton:
    cues = lexicons().cues
    groups: dict[str, list[str]] = {
        "title": cues.names.titles,
        "label": cues.names.labels,
        "phrase": cues.names.phrases,
        "relation": cues.names.relations,
        "place_strong": cues.places.strong_cues,
        "place_weak": cues.places.weak_cues,
        "credential_strong": cues.names.credentials_strong,
        "credential_weak": cues.names.credentials_weak,
    }
    for phi_type, words in cues.ids.cues.items():
        groups[f"id:{phi_type}"] = words
    by_phrase: dict[str, set[str]] = defaultdict(set)
    for category, words in groups.items():
        for w in words:
            by_phrase[w.lower()].add(category)
    automaton = ahocorasick.Automaton()
    for phrase, categories in by_phrase.items():
        automaton.add_word(phrase, (phrase, tuple(sorted(categories))))
    automaton.make_automaton()
    return automaton


def lower_same_length(text: str) -> str:
    """``text.lower()`` with the same length (a few characters, e.g. "İ", lower to two code points)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def find_cues(text: str) -> dict[str, list[CueHit]]:
    """Cue occurrences by category, in order of start, on word boundaries (case-insensitive).

    Categories: "title", "label", "phrase", "relation", "credential_strong", "credential_weak", "place_strong",
    "place_weak" and "id:<PHI type>".
    """
    low = lower_same_length(text)
    found: dict[str, list[CueHit]] = defaultdict(list)
    n = len(low)
    for end_index, (phrase, categories) in _automaton().iter(low):
        start = end_index - len(phrase) + 1
        end = end_index + 1
        if start > 0 and low[start - 1].isalpha() and phrase[0].isalpha():
            continue
        if end < n and low[end].isalpha() and phrase[-1].isalpha():
            continue
        for category in categories:
            found[category].append((start, end, phrase))
    for hits in found.values():
        hits.sort()
    return found
