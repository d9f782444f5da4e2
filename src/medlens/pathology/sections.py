"""Sections of a surgical pathology report (final diagnosis, synoptic summary, gross, addendum...).

OCR'd reports often arrive as one line with ". " where line breaks were, so headers are recognised anywhere: a known
spelling (``lexicon/pathology_sections.yaml``) written ALL-CAPS or Title Case and followed by ``:``, ``.`` or ``-``,
or written in any case and followed by ``:``, at the text start or after punctuation / whitespace. Sections tile the
text; text before the first header is ``body``.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from medlens.pathology.lexicon_models import load_sections
from medlens.pathology.schema import PathologySection
from medlens.pathology.wordkey import WordKey, WordMatcher

__all__ = ["SECTION_RANK", "PathSection", "ReportLayout", "report_layout"]

# Higher wins when sections state different values (schema module docstring).
SECTION_RANK: dict[str, int] = {
    "addendum": 8,
    "final_diagnosis": 7,
    "synoptic": 6,
    "microscopic": 5,
    "comment": 4,
    "other": 3,
    "body": 3,
    "gross": 2,
    "clinical": 1,
}


@dataclass(frozen=True, slots=True)
class PathSection:
    """One section: ``[start, end)`` of the text, its role and the header span."""

    role: PathologySection
    start: int
    end: int
    header_end: int


class ReportLayout:
    """The sections of one report, with a fast offset -> section lookup, and the report's shared word key."""

    __slots__ = ("_starts", "sections", "words")

    def __init__(self, sections: list[PathSection], words: WordKey) -> None:
        self.sections = sections
        self.words = words
        self._starts = [s.start for s in sections]

    def role_at(self, offset: int) -> PathologySection:
        """Role of the section holding ``offset``."""
        i = bisect.bisect_right(self._starts, offset) - 1
        return self.sections[i].role if i >= 0 else "body"


_AFTER_HEADER = re.compile(r"\s*(?:\([^)\n]{0,30}\))?\s*([:.\-])")


@functools.cache
def _matcher() -> WordMatcher[PathologySection]:
    matcher: WordMatcher[PathologySection] = WordMatcher()
    for role, spellings in load_sections().roles.items():
        for spelling in spellings:
            matcher.add(spelling, role)
    return matcher


def report_layout(text: str) -> ReportLayout:
    """Split ``text`` into sections.

    Args:
        text: the report.

    Returns:
        The layout; its sections tile ``text`` (the first is ``body`` when the text does not start with a header).
    """
    words = WordKey(text)
    heads: list[tuple[int, int, PathologySection]] = []
    for hit in _matcher().find(words):
        after = _AFTER_HEADER.match(text, hit.end)
        if after is None:
            continue
        header = text[hit.start : hit.end]
        cased = header.isupper() or header.istitle()
        if not cased:
            if after.group(1) != ":":
                continue
            prev = text[max(0, hit.start - 2) : hit.start].strip()
            if prev and prev[-1] not in ".:;":
                continue  # a lower-case "diagnosis:" is a header only at the start or after sentence punctuation
        heads.append((hit.start, after.end(), hit.values[0]))
    sections: list[PathSection] = []
    if not heads or heads[0][0] > 0:
        sections.append(PathSection("body", 0, heads[0][0] if heads else len(text), 0))
    for i, (start, header_end, role) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        sections.append(PathSection(role, start, end, header_end))
    return ReportLayout(sections, words)
