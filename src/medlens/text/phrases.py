r"""Dictionary phrase matching over clinical text (pyahocorasick): case-insensitive, word-bounded, longest match.

Matching runs on a *word key* of the text: a copy whose characters line up one for one with the original, lower
cased, with every character that is not a letter or digit (punctuation, whitespace, line breaks) turned into a
space. Phrases get the same key, padded with a space on each side, and the text key is padded too, so every hit of
the automaton is already word-bounded and its offsets index the original text directly:

* ``str.lower()`` keeps the length of every character except U+0130 (LATIN CAPITAL LETTER I WITH DOT ABOVE), which
  lower-cases to two code points; that one is replaced by ``I`` before lower-casing. Should a future Unicode version
  add another such character, the copy is built character by character keeping the first code point of each
  lower-cased character, so the alignment holds whatever the text. ASCII text takes a fast byte-table path.
* A phrase spans a line break or tab as well as a space ("congestive heart\nfailure"), but the number of separator
  characters must match.
* Punctuation inside a phrase must be written as in the phrase ("D&C" does not match "D/C"; "a-fib" matches only
  "a-fib"; add variants with :func:`phrase_variants`).

Overlapping matches are resolved leftmost, then longest. A phrase added with ``case_sensitive=True`` (an
abbreviation such as ``CAD``) matches only as written or in all capitals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

__all__ = [
    "PhraseMatch",
    "PhraseMatcher",
    "abbreviation_variants",
    "aligned_lower",
    "phrase_variants",
    "plural_variants",
    "word_key",
]

V = TypeVar("V")

_DOTTED_CAPITAL_I = "\u0130"
_WHITESPACE = re.compile(r"\s")
_NOT_WORD = re.compile(r"[\W_]")
_SHORT_PREFIX_HYPHEN = re.compile(r"^[A-Za-z]{1,2}-[A-Za-z]")


def _latin1_table(word: bool) -> bytes:
    # Byte tables for text that encodes as Latin-1 (most notes): lower-case, and for word keys every character
    # that is not a letter or digit -> space; for aligned_lower every whitespace character -> space. Each byte maps
    # to one byte, so offsets are kept; tests check the tables agree with the generic path for all 256 characters.
    out = bytearray()
    for b in range(256):
        c = chr(b)
        low = c.lower()
        lowered = ord(low) if len(low) == 1 and ord(low) < 256 else b
        if word:
            out.append(lowered if c.isalnum() else 32)
        else:
            out.append(32 if c.isspace() else lowered)
    return bytes(out)


_LATIN1_WORD_TABLE = _latin1_table(word=True)
_LATIN1_LOWER_TABLE = _latin1_table(word=False)


def _unicode_lower(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):
        low = text.replace(_DOTTED_CAPITAL_I, "I").lower()
        if len(low) != len(text):  # pragma: no cover - no other such character exists in Unicode 15
            low = "".join(c.lower()[:1] or c for c in text)
    return low


def aligned_lower(text: str) -> str:
    r"""Lower-case ``text`` keeping one output character per input character (offsets stay valid).

    Whitespace of any kind becomes a plain space.

    >>> aligned_lower("İSTANBUL\tCAD")
    'istanbul cad'
    """
    try:
        return text.encode("latin-1").translate(_LATIN1_LOWER_TABLE).decode("latin-1")
    except UnicodeEncodeError:
        return _WHITESPACE.sub(" ", _unicode_lower(text))


def word_key(text: str) -> str:
    """``text`` lower-cased with every character that is not a letter or digit made a space, one for one.

    >>> word_key("Type-2 DM, (HTN).")
    'type 2 dm   htn  '
    """
    try:
        return text.encode("latin-1").translate(_LATIN1_WORD_TABLE).decode("latin-1")
    except UnicodeEncodeError:
        return _NOT_WORD.sub(" ", _unicode_lower(text))


def phrase_variants(phrase: str) -> list[str]:
    """``phrase`` and its common spelling variants.

    A hyphen may be written as a space, or dropped after a prefix of one or two letters ("A-fib" -> "Afib",
    "x-ray" -> "xray"; never "Retin-A" -> "RetinA"); an apostrophe may be dropped or typographic.

    >>> phrase_variants("A-fib")
    ['A-fib', 'A fib', 'Afib']
    >>> phrase_variants("Retin-A")
    ['Retin-A', 'Retin A']
    >>> phrase_variants("Crohn's disease")
    ["Crohn's disease", 'Crohns disease', 'Crohn’s disease']
    """
    out = [phrase]
    if "-" in phrase:
        out.append(phrase.replace("-", " "))
        if _SHORT_PREFIX_HYPHEN.match(phrase):
            out.append(phrase.replace("-", ""))
    if "'" in phrase:
        out += [phrase.replace("'", ""), phrase.replace("'", "\u2019")]
    return list(dict.fromkeys(out))


def abbreviation_variants(abbr: str) -> list[str]:
    """``abbr`` and, for an all-capitals abbreviation, its plural with a lower-case ``s``.

    >>> abbreviation_variants("UTI")
    ['UTI', 'UTIs']
    >>> abbreviation_variants("s/p")
    ['s/p']
    """
    if len(abbr) >= 2 and abbr.isalpha() and abbr.isupper():
        return [abbr, abbr + "s"]
    return [abbr]


def plural_variants(phrase: str) -> list[str]:
    """``phrase`` and, when its last word is a plain word of four letters or more, that word's regular plural.

    >>> plural_variants("pleural effusion")
    ['pleural effusion', 'pleural effusions']
    >>> plural_variants("biopsy")
    ['biopsy', 'biopsies']
    >>> plural_variants("diabetes mellitus")
    ['diabetes mellitus']
    """
    words = phrase.rsplit(" ", 1)
    last = words[-1]
    if len(last) < 4 or not last.isalpha() or last[-1] in "sS":
        return [phrase]
    head = phrase[: len(phrase) - len(last)]
    if last[-1] in "yY" and last[-2] not in "aeiouAEIOU":
        plural = last[:-1] + ("IES" if last.isupper() else "ies")
    elif last.endswith(("sh", "ch", "x", "z")):
        plural = last + "es"
    else:
        plural = last + ("S" if last.isupper() else "s")
    return [phrase, head + plural]


@dataclass(frozen=True, slots=True)
class PhraseMatch(Generic[V]):
    """One resolved match: ``text[start:end]`` and the values of every phrase that matched there."""

    start: int
    end: int
    values: tuple[V, ...]


# One phrase's claim on a key: its value, the exact forms for a case-sensitive phrase (else None), and the lower-cased
# spellings whose punctuation must match (None when the phrase has only letters, digits and spaces).
_Entry = tuple[V, frozenset[str] | None, frozenset[str] | None]


class PhraseMatcher(Generic[V]):
    """Aho-Corasick matcher from phrases to values. Add phrases, then :meth:`build` once, then :meth:`find`.

    Several values may share one phrase (e.g. a drug name that is both a medication and an allergen).
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[_Entry[V]]] = {}
        self._automaton: ahocorasick.Automaton | None = None

    def add(self, phrase: str, value: V, *, case_sensitive: bool = False) -> None:
        """Add ``phrase`` (whitespace is normalised to single spaces) mapping to ``value``."""
        phrase = " ".join(phrase.split())
        key = word_key(phrase)
        if not key.strip():
            return
        lowered = aligned_lower(phrase)
        forms = frozenset({phrase, phrase.upper()}) if case_sensitive else None
        spellings = None if lowered == key else frozenset({lowered})
        bucket = self._entries.setdefault(key, [])
        self._automaton = None
        for i, (existing, old_forms, old_spellings) in enumerate(bucket):
            if existing == value:
                merged_forms = None if forms is None or old_forms is None else old_forms | forms
                merged_spellings = None if spellings is None or old_spellings is None else old_spellings | spellings
                bucket[i] = (existing, merged_forms, merged_spellings)
                return
        bucket.append((value, forms, spellings))

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
            padded = f" {key} "
            checked = any(forms is not None or spellings is not None for _, forms, spellings in bucket)
            automaton.add_word(padded, (len(padded), len(key), checked, tuple(bucket)))
        automaton.make_automaton()
        self._automaton = automaton

    def find(self, text: str) -> list[PhraseMatch[V]]:
        """Resolved matches in ``text``, in order, non-overlapping (leftmost, then longest).

        Args:
            text: the original text; offsets index it.
        """
        if self._automaton is None:
            self.build()
        automaton = self._automaton
        assert automaton is not None
        if not self._entries:
            return []
        candidates: list[tuple[int, int, tuple[V, ...]]] = []
        for last, (padded_len, length, checked, bucket) in automaton.iter(f" {word_key(text)} "):
            start = last - padded_len + 1  # P[i + 1] is text[i]; the key starts one after its leading pad
            end = start + length
            if checked:
                values = _accepted(text, start, end, bucket)
                if not values:
                    continue
            else:
                values = tuple(v for v, _, _ in bucket)
            candidates.append((start, end, values))
        if not candidates:
            return []
        candidates.sort(key=lambda c: (c[0], -c[1]))
        out: list[PhraseMatch[V]] = []
        taken_to = -1
        for start, end, values in candidates:
            if start >= taken_to:
                out.append(PhraseMatch(start, end, values))
                taken_to = end
        return out


def _accepted(text: str, start: int, end: int, bucket: tuple[_Entry[V], ...]) -> tuple[V, ...]:
    written = text[start:end]
    lowered: str | None = None
    out: list[V] = []
    for value, forms, spellings in bucket:
        if forms is not None:
            if written not in forms:
                continue
        elif spellings is not None:
            if lowered is None:
                lowered = aligned_lower(written)
            if lowered not in spellings:
                continue
        out.append(value)
    return tuple(out)
