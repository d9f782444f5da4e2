"""Dictionary phrase matching over clinical text (pyahocorasick): case-insensitive, word-bounded, longest match.

Matching runs on a lower-cased copy of the text whose characters line up one for one with the original, so every
match's offsets index the original text directly:

* ``str.lower()`` keeps the length of every character except U+0130 (LATIN CAPITAL LETTER I WITH DOT ABOVE), which
  lower-cases to two code points; that one is replaced by ``I`` before lower-casing. Should a future Unicode version
  add another such character, the copy is built character by character keeping the first code point of each
  lower-cased character, so the alignment holds whatever the text.
* Whitespace characters (newline, tab, no-break space...) become a plain space, so a phrase can span a line break.

A phrase matches only at word boundaries: the character before its first letter and after its last letter must not
be a letter or digit (phrases that start or end with punctuation are not constrained on that side). Overlapping
candidates are resolved leftmost-longest. A phrase added with ``case_sensitive=True`` (an abbreviation such as
``CAD``) matches only as written or in all capitals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import ahocorasick

from medlens.core.types import Assertion, Code, Cue
from medlens.notes.lexicon_models import AbbreviationGate
from medlens.notes.schema import AllergyDetail, FindingType, MedicationDetail

__all__ = ["ConceptMention", "ContextGate", "PhraseMatch", "PhraseMatcher", "aligned_lower", "phrase_variants"]

V = TypeVar("V")

_DOTTED_CAPITAL_I = "\u0130"
_WHITESPACE_TO_SPACE = str.maketrans({c: " " for c in "\t\n\r\x0b\x0c\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"})


def aligned_lower(text: str) -> str:
    """Lower-case ``text`` keeping one output character per input character (offsets stay valid).

    Whitespace of any kind becomes a plain space.
    """
    low = text.lower()
    if len(low) != len(text):
        low = text.replace(_DOTTED_CAPITAL_I, "I").lower()
        if len(low) != len(text):  # pragma: no cover - no other such character exists in Unicode 15
            low = "".join(c.lower()[:1] or c for c in text)
    return low.translate(_WHITESPACE_TO_SPACE)


def phrase_variants(phrase: str) -> list[str]:
    """``phrase`` and its common spelling variants: hyphen as space or dropped, apostrophe dropped or typographic.

    >>> phrase_variants("A-fib")
    ['A-fib', 'A fib', 'Afib']
    >>> phrase_variants("Crohn's disease")
    ["Crohn's disease", 'Crohns disease', 'Crohn’s disease']
    """
    out = [phrase]
    if "-" in phrase:
        out += [phrase.replace("-", " "), phrase.replace("-", "")]
    if "'" in phrase:
        out += [phrase.replace("'", ""), phrase.replace("'", "\u2019")]
    return list(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class PhraseMatch(Generic[V]):
    """One resolved match: ``text[start:end]`` and the values of every phrase that matched there."""

    start: int
    end: int
    values: tuple[V, ...]


class PhraseMatcher(Generic[V]):
    """Aho-Corasick matcher from phrases to values. Add phrases, then :meth:`build` once, then :meth:`find`.

    Several values may share one phrase (e.g. a drug name that is both a medication and an allergen).
    """

    def __init__(self) -> None:
        # lowered phrase -> list of (value, exact forms or None when case-insensitive)
        self._entries: dict[str, list[tuple[V, frozenset[str] | None]]] = {}
        self._automaton: ahocorasick.Automaton | None = None

    def add(self, phrase: str, value: V, *, case_sensitive: bool = False) -> None:
        """Add ``phrase`` (whitespace is normalised to single spaces) mapping to ``value``."""
        phrase = " ".join(phrase.split())
        if not phrase:
            return
        key = aligned_lower(phrase)
        forms = frozenset({phrase, phrase.upper()}) if case_sensitive else None
        bucket = self._entries.setdefault(key, [])
        for i, (existing, existing_forms) in enumerate(bucket):
            if existing == value:
                if forms is None or existing_forms is None:
                    bucket[i] = (existing, None)
                else:
                    bucket[i] = (existing, existing_forms | forms)
                return
        bucket.append((value, forms))
        self._automaton = None

    def add_all(self, phrases: Iterable[str], value: V, *, case_sensitive: bool = False) -> None:
        """Add every phrase in ``phrases`` mapping to ``value``."""
        for phrase in phrases:
            self.add(phrase, value, case_sensitive=case_sensitive)

    def __len__(self) -> int:
        return len(self._entries)

    def build(self) -> None:
        """Compile the automaton (call once after adding phrases; :meth:`find` builds lazily otherwise)."""
        automaton = ahocorasick.Automaton()
        for key, bucket in self._entries.items():
            first, last = key[0], key[-1]
            automaton.add_word(key, (len(key), first.isalnum(), last.isalnum(), tuple(bucket)))
        automaton.make_automaton()
        self._automaton = automaton

    def find(self, text: str, lowered: str | None = None) -> list[PhraseMatch[V]]:
        """Resolved matches in ``text``, in order, non-overlapping (leftmost, then longest).

        Args:
            text: the original text; offsets index it.
            lowered: ``aligned_lower(text)`` if the caller already has it.
        """
        if self._automaton is None:
            self.build()
        automaton = self._automaton
        assert automaton is not None
        if not self._entries:
            return []
        low = aligned_lower(text) if lowered is None else lowered
        n = len(low)
        candidates: list[tuple[int, int, tuple[V, ...]]] = []
        for last, (length, bound_start, bound_end, bucket) in automaton.iter(low):
            end = last + 1
            start = end - length
            if bound_start and start > 0 and low[start - 1].isalnum():
                continue
            if bound_end and end < n and low[end].isalnum():
                continue
            values = tuple(v for v, forms in bucket if forms is None or text[start:end] in forms)
            if values:
                candidates.append((start, -end, values))
        if not candidates:
            return []
        candidates.sort(key=lambda c: (c[0], c[1]))
        out: list[PhraseMatch[V]] = []
        taken_to = -1
        for start, neg_end, values in candidates:
            if start >= taken_to:
                out.append(PhraseMatch(start, -neg_end, values))
                taken_to = -neg_end
        return out


class ContextGate:
    """An ambiguous abbreviation's gate (``abbreviations.yaml``), compiled: does the context support its sense?"""

    __slots__ = ("_after", "_before", "_forbid", "_require", "gate")

    def __init__(self, gate: AbbreviationGate) -> None:
        self.gate = gate
        flags = re.IGNORECASE
        self._require = re.compile("|".join(f"(?:{p})" for p in gate.require_any), flags) if gate.require_any else None
        self._forbid = re.compile("|".join(f"(?:{p})" for p in gate.forbid_any), flags) if gate.forbid_any else None
        self._before = re.compile(gate.forbid_before, flags) if gate.forbid_before else None
        self._after = re.compile(gate.forbid_after, flags) if gate.forbid_after else None

    def allows(self, text: str, start: int, end: int, sentence: tuple[int, int]) -> bool:
        """Whether the abbreviation at ``text[start:end]`` in ``sentence`` (offsets) reads in its clinical sense."""
        s0, s1 = min(sentence[0], start), max(sentence[1], end)
        if self._before is not None and self._before.search(text, max(s0, start - 24), start):
            return False
        if self._after is not None and self._after.match(text[end : min(len(text), end + 40)]):
            return False
        if self._forbid is not None and self._forbid.search(text, s0, s1):
            return False
        return self._require is None or self._require.search(text, s0, s1) is not None


@dataclass(slots=True)
class ConceptMention:
    """A concept found in a note, before its assertion is decided: what ``notes.extract`` turns into a Finding.

    Attributes:
        type: finding type.
        start: offset of the mention (the evidence span).
        end: offset just after it.
        text: preferred name of the concept (the finding's text).
        code: primary code, if any.
        producer: versioned name of the rule that found it.
        explanation: short reason (lexicon entry or pattern).
        medication: sig, for medications.
        allergy: reactions and category, for allergies.
        assertion: a fixed assertion (e.g. "NKDA" is negated by its own words); None lets the ContextEngine decide.
        extra_cues: cues found by the family's own rules (medication discontinued), merged with the engine's.
    """

    type: FindingType
    start: int
    end: int
    text: str
    code: Code | None
    producer: str
    explanation: str
    medication: MedicationDetail | None = None
    allergy: AllergyDetail | None = None
    assertion: Assertion | None = None
    extra_cues: tuple[Cue, ...] = field(default=())
