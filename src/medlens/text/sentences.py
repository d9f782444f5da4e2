r"""Sentence splitting for clinical text.

Rules (each one a habit of clinical notes, not of edited prose):

* Sentences never cross a section boundary; every section starts a sentence, so a header glued to the previous
  sentence ("anorexia.PAST MEDICAL HISTORY:") splits there. A header and the text after it on the same line form
  one sentence ("ROS: negative for fever.").
* ``.`` does not end a sentence in a decimal ("1.5"), after titles and Latin abbreviations ("Dr.", "Mr.", "e.g.",
  "i.e.", "vs."), after a list number at the start of an item ("1. Hypertension", "stenosis.2. Mild"), or after
  dosing and unit abbreviations ("mg.", "q.d.", "b.i.d.", "p.o.") unless a capitalised word follows.
* ``?`` ends a sentence only after a word and before a capitalised word or the end ("?pneumonia" and
  "opacity, ? pneumonia" are uncertainty marks, not questions).
* A newline ends a sentence unless the line wraps prose: the next line starts in lower case after a long line, or
  the line ends with a comma or a joining word ("and", "of", "with"). Blank lines, list items and short template
  lines ("aspirin 81 mg\nmetoprolol 25 mg") always split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from medlens.text.sections import Section, detect_sections

__all__ = ["split_sentences"]

_CANDIDATE = re.compile(r"[.!?]+|\n")
_LIST_MARKER = re.compile(r"[ \t]*(?:\d{1,2}[.)]|[-*•]|\(?[a-zA-Z][.)]|\(\d{1,2}\))[ \t]")
_CAP_WORD = re.compile(r"[ \t]*[A-Z][a-z]")
# Never end a sentence: titles, Latin abbreviations.
_NEVER = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "vs", "v", "e.g", "i.e", "eg", "ie", "cf", "viz", "fig",
     "approx", "al", "et"}
)  # fmt: skip
# End a sentence only before a capitalised word: dosing, units and common clinical abbreviations.
_SOFT = frozenset(
    {
        "mg", "mcg", "kg", "g", "gm", "ml", "cc", "l", "dl", "meq", "units", "u", "iu", "hr", "hrs", "h", "min",
        "mins", "sec", "cm", "mm", "in", "ft", "lb", "lbs", "oz", "pt", "pts", "yo", "y.o", "etc", "tab", "tabs",
        "cap", "caps", "gtt", "gtts", "sq", "subq", "q", "qd", "bid", "tid", "qid", "qhs", "hs", "prn", "po",
        "iv", "im", "wk", "wks", "mo", "mos", "yr", "yrs", "dept", "inc", "co", "hx", "dx", "sx", "tx", "rx", "fx",
        "no", "nos", "op", "pre", "post", "ext", "temp", "resp", "approx",
    }
)  # fmt: skip
_JOINING = frozenset(
    {"and", "or", "of", "with", "the", "to", "a", "an", "for", "in", "on", "at", "by", "from", "as", "is", "was",
     "are", "were", "has", "had", "than", "but", "which", "that", "without", "including", "per", "versus", "vs"}
)  # fmt: skip
_WRAP_WIDTH = 40
_CLOSERS = frozenset("\"')]”’")


def _prev_token(text: str, p: int, lo: int) -> tuple[str, int]:
    """The word ending at ``p`` and its start; dotted abbreviations ("b.i.d", "e.g") count as one word."""
    i = p
    while i > lo and text[i - 1].isalnum():
        i -= 1
    if 0 < p - i <= 2 and text[i:p].isalpha():
        k = i
        while k - 2 >= lo and text[k - 1] == "." and text[k - 2].isalpha():
            m = k - 1
            while m > lo and text[m - 1].isalpha():
                m -= 1
            if (k - 1) - m > 2 or (m > lo and text[m - 1].isdigit()):
                break
            k = m
        i = k
    return text[i:p], i


def _is_item_start(text: str, i: int, lo: int, content_start: int) -> bool:
    """True when offset ``i`` begins a list item: line start, section content start or after punctuation."""
    j = i - 1
    while j >= lo and text[j] in " \t":
        j -= 1
    return j < lo or j < content_start or text[j] in "\n\r.!?:;"


def _period_splits(text: str, p: int, q: int, hi: int, lo: int, content_start: int) -> bool:
    nxt = text[q] if q < hi else ""
    if q - p > 1:  # "..." or ".?" runs: a boundary before whitespace + capital or the end
        return nxt == "" or (nxt.isspace() and bool(_CAP_WORD.match(text, q)))
    if p > lo and text[p - 1].isdigit() and nxt.isdigit():
        return False  # decimal
    tok, ts = _prev_token(text, p, lo)
    if tok.isdigit() and len(tok) <= 2 and _is_item_start(text, ts, lo, content_start):
        return False  # list number "1." / "stenosis.2."
    low = tok.lower()
    if low in _NEVER:
        return False
    if nxt == "":
        return True
    if nxt.isalpha() and nxt.islower():
        return False  # glued lower case: "e.g" forms, URLs
    if nxt.isdigit():
        # Glued list number after a sentence: "stenosis.2. Mild".
        return bool(re.match(r"\d{1,2}[.)](?!\d)", text[q : q + 4]))
    dotted = "." in tok
    # A lone capital is an initial ("J. Smith"), unless it ends a compound unit ("39 U/L. Blood").
    initial = len(tok) == 1 and tok.isupper() and not (ts > lo and text[ts - 1] == "/")
    if dotted or low in _SOFT or initial:
        if nxt in "\n\r":
            return True
        return bool(_CAP_WORD.match(text, q)) and not initial
    return True


def _question_splits(text: str, p: int, q: int, hi: int, lo: int) -> bool:
    if p == lo or not (text[p - 1].isalnum() or text[p - 1] in ")]\"'"):
        return False  # "?pneumonia", ", ? pneumonia"
    if q >= hi:
        return True
    nxt = text[q]
    return nxt in "\n\r" or (nxt.isspace() and not re.match(r"\s*[a-z]", text[q : q + 4]))


def _newline_splits(text: str, p: int, lo: int, hi: int) -> bool:
    j = p - 1
    while j >= lo and text[j] in " \t\r":
        j -= 1
    if j < lo or text[j] == "\n":
        return True  # blank line or section start
    k = p + 1
    while k < hi and text[k] in " \t\r":
        k += 1
    if k >= hi or text[k] == "\n":
        return True
    last = text[j]
    if last in ".!?:;":
        return True
    if _LIST_MARKER.match(text, p + 1):
        return True
    if last in ",-(/&":
        return False
    word, _ = _prev_token(text, j + 1, lo)
    if word.lower() in _JOINING:
        return False
    if text[k].islower():
        line_start = text.rfind("\n", lo, p) + 1
        return (p - max(line_start, lo)) < _WRAP_WIDTH
    return True


def _split_section(text: str, sec: Section, out: list[tuple[int, int]]) -> None:
    lo, hi = sec.start, sec.end
    content_start = sec.header_end if sec.header_end > sec.header_start else lo
    start = lo
    for m in _CANDIDATE.finditer(text, lo, hi):
        p, q = m.span()
        ch = text[p]
        if ch == "\n":
            split = _newline_splits(text, p, lo, hi)
            cut, resume = p, q
        elif ch == "." or (ch == "!" and q - p == 1):
            split = _period_splits(text, p, q, hi, lo, content_start) if ch == "." else True
            cut = resume = q
        else:  # "?" (possibly with others)
            split = _question_splits(text, p, q, hi, lo)
            cut = resume = q
        if split:
            if ch != "\n":
                # Closing quotes and brackets belong to the sentence they close: 'finding." COURSE'.
                while cut < hi and text[cut] in _CLOSERS:
                    cut += 1
                resume = cut
            _emit(text, start, cut, out)
            start = resume
    _emit(text, start, hi, out)


def _emit(text: str, s: int, e: int, out: list[tuple[int, int]]) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        out.append((s, e))


def split_sentences(text: str, *, sections: Sequence[Section] | None = None) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each sentence, whitespace trimmed, in order, non-overlapping.

    Args:
        text: the note.
        sections: sections of ``text`` if already detected (``detect_sections`` is run otherwise).

    Returns:
        Sentence spans; none crosses a section boundary.
    """
    out: list[tuple[int, int]] = []
    for sec in sections if sections is not None else detect_sections(text):
        _split_section(text, sec, out)
    return out
