"""OCR-tolerant word alternations: one regular expression for a word list that still matches scanned text.

Scanning noise (the ``ocr`` variant of :mod:`medlens.eval.synthetic_phi`, and what OCR engines commonly produce) puts
a space inside a word ("Ho spital", "Febru ary") and reads look-alike characters for each other (l/1, I/l, O/0). The
pattern is a trie, so a long list costs one pass with a first-character test; callers check that a match holds at
most one such space.
"""

from __future__ import annotations

import re

__all__ = ["OCR_SWAPS", "ocr_alternation", "ocr_key"]

# Characters OCR reads for each other: the written character, then what may stand for it.
OCR_SWAPS: dict[str, str] = {"l": "l1", "I": "Il1", "L": "L1", "O": "O0", "o": "o0"}


def _char(c: str, swaps: bool) -> str:
    if swaps and c in OCR_SWAPS:
        return "[" + OCR_SWAPS[c] + "]"
    return re.escape(c)


def ocr_alternation(words: list[str], *, swaps: bool = False) -> str:
    """One alternation of ``words`` as a trie allowing a space between letters and, with ``swaps``, look-alikes.

    Args:
        words: the words (case-sensitive; give every casing wanted).
        swaps: also accept the look-alike characters of :data:`OCR_SWAPS`.

    Returns:
        A non-capturing group matching any word, with optional single spaces between its characters.
    """
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def rest(node: dict) -> str:  # type: ignore[type-arg]
        alts = [" ?" + _char(c, swaps) + rest(node[c]) for c in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(?:" + "|".join(_char(c, swaps) + rest(trie[c]) for c in sorted(trie)) + ")"


_OCR_KEY = str.maketrans({"1": "l", "0": "O", " ": None})


def ocr_key(word: str) -> str:
    """A word as written, spaces dropped and look-alikes read back ("CLlNlC" -> "CLINIC", "Ho spita1" -> "Hospital").

    Args:
        word: the word as matched by an :func:`ocr_alternation` pattern.

    Returns:
        The word's likely spelling, for looking it up in its list.
    """
    key = word.translate(_OCR_KEY)
    if sum(c.isupper() for c in key) > 1:
        key = key.replace("l", "I")
    return key
