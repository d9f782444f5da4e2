"""Phrase matching that survives OCR line joins: "squamous cell. carcinoma", "infiltrating - ductal carcinoma".

OCR'd reports arrive as one line with ". " where each printed line ended, so a phrase broken over two lines gains a
full stop. :class:`WordMatcher` matches phrases word by word: the text is reduced to its words (letters and digits,
lower-cased) joined by single spaces, matched with one Aho-Corasick pass, and every hit is mapped back to the
original offsets of its first and last word. Any run of punctuation and whitespace between two words counts as one
separator (so "her-2/neu" matches "HER 2 neu"); overlapping hits resolve leftmost, then longest.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

from medlens.text.phrases import aligned_lower

__all__ = ["WordHit", "WordKey", "WordMatcher", "iter_at", "literal_starts", "phrase_alternation", "phrase_pattern"]

V = TypeVar("V")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class WordHit(Generic[V]):
    """``text[start:end]`` matched the phrases whose values are ``values``."""

    start: int
    end: int
    values: tuple[V, ...]


class WordKey:
    """The word key of one text, built once and shared by every matcher run over that text."""

    __slots__ = ("key", "key_starts", "lower", "spans")

    def __init__(self, text: str) -> None:
        lowered = aligned_lower(text)
        self.lower = lowered  # one character per character of the text: offsets are shared
        self.spans = [m.span() for m in _WORD.finditer(lowered)]
        starts: list[int] = []
        pos = 1  # the key is padded with one leading space
        for s, e in self.spans:
            starts.append(pos)
            pos += e - s + 1
        self.key_starts = starts
        self.key = " " + " ".join([lowered[s:e] for s, e in self.spans]) + " "


class WordMatcher(Generic[V]):
    """Phrases -> values; :meth:`add` phrases, then :meth:`find` (the automaton is built on first use)."""

    def __init__(self) -> None:
        self._values: dict[str, list[V]] = {}
        self._automaton: ahocorasick.Automaton | None = None

    def add(self, phrase: str, value: V) -> None:
        """Add ``phrase`` (any punctuation / spacing; compared word by word, case-insensitively)."""
        key = " ".join(_WORD.findall(aligned_lower(phrase)))
        if key:
            bucket = self._values.setdefault(key, [])
            if value not in bucket:
                bucket.append(value)
            self._automaton = None

    def _build(self) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for key, values in self._values.items():
            automaton.add_word(f" {key} ", (len(key) + 2, tuple(values)))
        automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def find_all(self, text: str | WordKey) -> list[tuple[int, int, tuple[V, ...]]]:
        """Every hit ``(start, end, values)``, overlapping ones included, sorted by start then longest first."""
        automaton = self._automaton or self._build()
        wk = text if isinstance(text, WordKey) else WordKey(text)
        if not self._values or not wk.spans:
            return []
        spans, key_starts = wk.spans, wk.key_starts
        candidates: list[tuple[int, int, tuple[V, ...]]] = []
        for last, (length, values) in automaton.iter(wk.key):
            first_word = bisect.bisect_right(key_starts, last - length + 2) - 1
            last_word = bisect.bisect_right(key_starts, last - 1) - 1
            candidates.append((spans[first_word][0], spans[last_word][1], values))
        candidates.sort(key=lambda c: (c[0], -c[1]))
        return candidates

    def resolve(
        self, candidates: list[tuple[int, int, tuple[V, ...]]], lo: int = 0, hi: int | None = None
    ) -> list[WordHit[V]]:
        """Leftmost-longest, non-overlapping hits among ``candidates`` (from :meth:`find_all`) inside ``[lo, hi)``."""
        out: list[WordHit[V]] = []
        taken_to = -1
        start_at = bisect.bisect_left(candidates, lo, key=lambda c: c[0]) if lo else 0
        for start, end, values in candidates[start_at:]:
            if hi is not None and start >= hi:
                break
            if start >= taken_to and (hi is None or end <= hi):
                out.append(WordHit(start, end, values))
                taken_to = end
        return out

    def find(self, text: str | WordKey) -> list[WordHit[V]]:
        """Hits in ``text`` (or its prebuilt :class:`WordKey`), in order, non-overlapping; offsets index the text."""
        return self.resolve(self.find_all(text))


def literal_starts(haystack: str, *needles: str) -> list[int]:
    """Sorted start offsets of every occurrence of any of ``needles`` in ``haystack`` (a C-speed substring scan).

    Used to find the few places where a slow pattern can match, so that :func:`iter_at` tries it only there.
    """
    out: set[int] = set()
    for needle in needles:
        find = haystack.find
        i = find(needle)
        while i >= 0:
            out.add(i)
            i = find(needle, i + 1)
    return sorted(out)


def iter_at(rx: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """``rx.finditer(text)`` restricted to matches beginning at one of ``starts`` (sorted).

    The same matches as ``finditer`` whenever every match of ``rx`` in ``text`` begins at one of ``starts``:
    candidate offsets inside an earlier match are skipped, as ``finditer`` would. Look-behinds still see the text
    before each start.
    """
    taken_to = 0
    for pos in starts:
        if pos < taken_to:
            continue
        m = rx.match(text, pos)
        if m is not None and m.end() > m.start():
            taken_to = m.end()
            yield m


def phrase_pattern(phrase: str) -> str:
    """Regex source of a lexicon phrase: any whitespace run between words, optional whitespace around a colon."""
    return r"\s*:\s*".join(r"\s+".join(re.escape(w) for w in part.split()) for part in phrase.split(":"))


def phrase_alternation(phrases: Iterable[str]) -> str:
    """Regex alternation of lexicon phrases (see :func:`phrase_pattern`), longest first, then alphabetical.

    The fixed order makes the pattern the same in every process (set order varies with hash randomisation).
    """
    return "|".join(phrase_pattern(p) for p in sorted(set(phrases), key=lambda p: (-len(p), p)))
