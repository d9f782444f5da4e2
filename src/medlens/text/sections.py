"""Section detection: split a note into canonical sections that tile it.

Headers come from ``lexicon/sections.yaml``. A header is recognised when it is followed by a colon, or stands
alone on its line, or (transcription style, "SUMMARY1. Normal ...") is glued to a "1." list number, and:

* it is a known spelling, written ALL-CAPS, Title-Case or sentence-case, at a line start or after sentence
  punctuation (". PLAN:", "normal.Eyes:", "GENERAL: ... HEENT:");
* or it is a known spelling written ALL-CAPS and glued to the preceding text ("anorexia.PAST MEDICAL HISTORY:",
  "anorexiaPAST MEDICAL HISTORY:", "PHYSICAL EXAMINATIONVITAL SIGNS:" -> two headers);
* or it is an *unknown* ALL-CAPS phrase of at most ``max_unknown_header_words`` words followed by a colon, at a
  line start or glued right after sentence punctuation ("visit.DEVELOPMENTAL NOTES:").

Prose such as "Dr. Smith: ..." or "Ratio: 2:1" is not a header: it is neither a known spelling nor ALL-CAPS.

Sub-headers (documented choice): body-system headers (HEENT, LUNGS, Neck, ...) and unknown ALL-CAPS headers
start a new :class:`Section` that keeps the enclosing section's canonical name and records the sub-header in
``Section.subsection`` ("heent", "right_coronary_artery"). *Container* sections (``physical_exam``,
``review_of_systems``) stay open across the known sections that may nest in them (vital signs, labs, imaging),
so "PHYSICAL EXAMINATION: VITAL SIGNS: ... HEENT: ..." puts HEENT back in ``physical_exam``. Any other known
header closes the container. Before the first header, sub-headers stay ``"unknown"``; so do sub-headers inside
sections whose name implies an assertion status (past medical/surgical and family history, flag
``inherit_unknown_subheaders: false``), so that "historical" or "family" never leaks into text under an unknown
sub-header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medlens.text.lexicon_models import SectionLexicon, load_section_lexicon

__all__ = ["Section", "detect_sections"]


@dataclass(frozen=True, slots=True)
class Section:
    """A section of a note. Sections tile the text: each one runs from its header to the next header.

    Attributes:
        name: canonical snake_case name (``"past_medical_history"``); ``"unknown"`` before the first header.
        header_start: offset of the header text (== ``start`` when there is no header).
        header_end: offset just after the header, including its colon.
        start: offset of the section (== ``header_start``).
        end: offset where the next section begins (or ``len(text)``).
        subsection: for a sub-header, its snake_case name (``"heent"`` for "HEENT:" inside the physical exam, or
            the slug of an unknown ALL-CAPS header); ``None`` for a top-level section.
    """

    name: str
    header_start: int
    header_end: int
    start: int
    end: int
    subsection: str | None = None


# Candidate headers are found on the *reversed* text so that each colon's preceding run of header characters is
# one left-anchored match (linear time), instead of a right-anchored search that would backtrack.
# An optional short parenthetical may sit between header and colon: "Labs (03/01/2031):" (reversed here).
_REV_COLON_RUN = re.compile(r":[ \t]*(?:\)[^()\n]{1,30}\([ \t]*)?([A-Za-z /&'\-]{1,80})")
_LINE_ONLY = re.compile(r"^[ \t]*([A-Za-z][A-Za-z /&'\-]{1,60}?)[ \t]*$", re.MULTILINE)
_GLUED_ONE = re.compile(r"(?<=[A-Z])1[.)] ?[A-Za-z]")
_CAPS_RUN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ /&'-")
_STRONG_BEFORE = frozenset(".!?;:)]")
_SMALL_WORDS = frozenset({"of", "and", "the", "for", "to", "in", "on", "at", "or", "with", "upon", "a", "an", "by"})
_SLUG = re.compile(r"[^a-z0-9]+")


def _norm(phrase: str) -> str:
    return " ".join(phrase.lower().replace(" /", "/").replace("/ ", "/").split())


@dataclass(frozen=True, slots=True)
class _Known:
    name: str
    role: str
    container: bool
    nests_in: frozenset[str]
    inherit: bool


class _Lookup:
    """Header spelling -> canonical entry, built once from the lexicon."""

    def __init__(self, lexicon: SectionLexicon) -> None:
        self.known: dict[str, _Known] = {}
        self.by_name: dict[str, _Known] = {}
        for entry in lexicon.sections:
            info = _Known(
                entry.name, entry.role, entry.container, frozenset(entry.nests_in), entry.inherit_unknown_subheaders
            )
            self.by_name[entry.name] = info
            for header in entry.headers:
                self.known[_norm(header)] = info
        self.not_headers = frozenset(_norm(h) for h in lexicon.not_headers)
        self.max_unknown_words = lexicon.max_unknown_header_words
        # Quick rejection: a known header can only end with one of these words.
        self.last_words = frozenset(k.rsplit(" ", 1)[-1] for k in self.known)
        self.max_words = max(len(k.split(" ")) for k in self.known)


_LOOKUP: _Lookup | None = None


def _lookup() -> _Lookup:
    global _LOOKUP
    if _LOOKUP is None:
        _LOOKUP = _Lookup(load_section_lexicon())
    return _LOOKUP


def _is_all_caps(phrase: str) -> bool:
    return not any(c.islower() for c in phrase) and sum(c.isalpha() for c in phrase) >= 2


def _is_title_case(phrase: str) -> bool:
    words = phrase.replace("/", " ").replace("-", " ").split()
    return bool(words) and words[0][0].isupper() and all(w[0].isupper() or w in _SMALL_WORDS for w in words)


def _context(text: str, s: int) -> str:
    """How the text before offset ``s`` frames a header starting there: 'line', 'punct', 'glued' or 'word'."""
    j = s - 1
    while j >= 0 and text[j] in " \t":
        j -= 1
    if j < 0 or text[j] in "\n\r":
        return "line"
    if text[j] in _STRONG_BEFORE:
        return "punct"
    return "glued" if j == s - 1 else "word"


def _accept_known(phrase: str, ctx: str) -> bool:
    letters = sum(c.isalpha() for c in phrase)
    if _is_all_caps(phrase):
        if ctx in ("line", "punct"):
            return True
        return letters >= 4 and ctx in ("glued", "word")
    if ctx == "line":
        return True
    if ctx == "punct":
        return phrase[0].isupper()
    return False


def _accept_unknown(text: str, phrase: str, s: int, ctx: str, lk: _Lookup) -> bool:
    if not _is_all_caps(phrase) or _norm(phrase) in lk.not_headers:
        return False
    if len(phrase.split()) > lk.max_unknown_words or sum(c.isalpha() for c in phrase) < 2:
        return False
    if ctx == "line":
        return True
    # Glued right after sentence punctuation, as transcribed notes run sections together ("visit.DEVELOPMENTAL").
    return ctx == "punct" and s > 0 and text[s - 1] in ".!?"


_CANDIDATE_START = re.compile(r"(?<=[ \t])[A-Za-z]|(?<=[a-z])[A-Z]")


def _candidate_starts(text: str, rs: int, re_: int) -> list[int]:
    """Offsets in ``text[rs:re_]`` where a header may begin: the run start, word starts, lower->UPPER joins."""
    return [rs, *(m.start() for m in _CANDIDATE_START.finditer(text, rs + 1, re_))]


def _classify_run(text: str, rs: int, re_: int, lk: _Lookup) -> list[tuple[int, int, _Known | None, str | None]]:
    """Headers ending at ``re_`` within the run ``text[rs:re_]``: ``(start, end, known or None, slug)``."""
    while rs < re_ and not text[rs].isalpha():
        rs += 1
    if rs >= re_:
        return []
    starts = _candidate_starts(text, rs, re_)
    last_space = max(text.rfind(" ", rs, re_), text.rfind("\t", rs, re_), rs - 1)
    last_word = text[last_space + 1 : re_].lower()
    if last_word in lk.last_words or text[starts[-1] : re_].lower() in lk.last_words:
        for s in starts[-(lk.max_words + 2) :] if len(starts) > lk.max_words + 2 else starts:
            phrase = text[s:re_]
            info = lk.known.get(_norm(phrase))
            if info is not None and _accept_known(phrase, _context(text, s)):
                return [(s, re_, info, None)]
    whole = text[rs:re_]
    if len(whole) <= 60 and _is_all_caps(whole):
        # Two ALL-CAPS headers glued without a colon between them: "PHYSICAL EXAMINATIONVITAL SIGNS".
        for s in starts:
            for i in range(s + 2, re_ - 1):
                if not (text[i - 1].isalpha() and text[i].isalpha()):
                    continue
                tail = lk.known.get(_norm(text[i:re_]))
                if tail is None:
                    continue
                head = lk.known.get(_norm(text[s:i]))
                if head is not None and _accept_known(text[s:i], _context(text, s)):
                    return [(s, i, head, None), (i, re_, tail, None)]
        if _accept_unknown(text, whole, rs, _context(text, rs), lk):
            return [(rs, re_, None, _SLUG.sub("_", whole.lower()).strip("_") or None)]
    return []


def _find_headers(text: str, lk: _Lookup) -> list[tuple[int, int, _Known | None, str | None]]:
    n = len(text)
    found: dict[int, tuple[int, int, _Known | None, str | None]] = {}
    rev = text[::-1]
    for m in _REV_COLON_RUN.finditer(rev):
        colon = n - 1 - m.start()
        run_end_rev = m.end(1)
        rs = n - run_end_rev
        re_ = n - m.start(1)
        while re_ > rs and text[re_ - 1] in " \t":
            re_ -= 1
        heads = _classify_run(text, rs, re_, lk)
        if heads:
            last = heads[-1]
            heads[-1] = (last[0], colon + 1, last[2], last[3])
            for h in heads:
                found.setdefault(h[0], h)
    for m in _LINE_ONLY.finditer(text):
        s, e = m.span(1)
        phrase = m.group(1)
        info = lk.known.get(_norm(phrase))
        if info is not None and (_is_all_caps(phrase) or _is_title_case(phrase)):
            found.setdefault(s, (s, e, info, None))
    for m in _GLUED_ONE.finditer(text):
        # Found from the "1." so that ALL-CAPS text is not scanned backwards at every capital letter.
        e = m.start()
        s = e
        while s > 0 and e - s < 60 and text[s - 1] in _CAPS_RUN_CHARS:
            s -= 1
        while s < e and not text[s].isalpha():
            s += 1
        for cs in _candidate_starts(text, s, e):
            phrase = text[cs:e]
            info = lk.known.get(_norm(phrase))
            if info is not None and _is_all_caps(phrase) and _context(text, cs) in ("line", "punct"):
                found.setdefault(cs, (cs, e, info, None))
                break
    return [found[k] for k in sorted(found)]


def detect_sections(text: str) -> list[Section]:
    """Split ``text`` into sections that tile it from 0 to ``len(text)``.

    Args:
        text: the note.

    Returns:
        Sections in order; the first is ``"unknown"`` when the text does not start with a header. An empty text
        gives one empty ``"unknown"`` section.
    """
    lk = _lookup()
    headers = _find_headers(text, lk)
    n = len(text)
    out: list[tuple[str, int, int, str | None]] = []
    if not headers or headers[0][0] > 0:
        out.append(("unknown", 0, 0, None))
    container: str | None = None
    current = "unknown"  # the name sub-headers inherit outside a container
    last_end = 0
    for hs, he, info, slug in headers:
        if hs < last_end:  # overlapping candidates (should not happen): keep the earlier one
            continue
        last_end = he
        if info is not None and info.role == "section":
            if container is None or container not in info.nests_in:
                container = info.name if info.container else None
            current = info.name if info.inherit else "unknown"
            out.append((info.name, hs, he, None))
        else:
            sub = info.name if info is not None else slug
            out.append((container or current, hs, he, sub))
    sections: list[Section] = []
    for i, (name, hs, he, sub) in enumerate(out):
        end = out[i + 1][1] if i + 1 < len(out) else n
        sections.append(Section(name, hs, he, hs, end, sub))
    return sections
