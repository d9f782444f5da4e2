"""One pass of the text engine over a note: sections and sentences, with offset look-ups."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from medlens.text.sections import Section, detect_sections
from medlens.text.sentences import split_sentences

__all__ = ["TextAnalysis", "analyze"]


@dataclass(frozen=True)
class TextAnalysis:
    """Sections and sentences of one text, with fast offset look-ups."""

    text: str
    sections: list[Section]
    sentences: list[tuple[int, int]]
    _section_starts: list[int] = field(repr=False)
    _sentence_starts: list[int] = field(repr=False)

    def section_at(self, offset: int) -> Section:
        """The section containing ``offset`` (the last one for ``offset == len(text)``)."""
        i = bisect.bisect_right(self._section_starts, offset) - 1
        return self.sections[max(i, 0)]

    def sentence_at(self, offset: int) -> tuple[int, int]:
        """The sentence containing ``offset`` (or the nearest one before it; the first one before any)."""
        if not self.sentences:
            return (0, len(self.text))
        i = bisect.bisect_right(self._sentence_starts, offset) - 1
        return self.sentences[max(i, 0)]


def analyze(text: str) -> TextAnalysis:
    """Run section detection and sentence splitting over ``text``.

    Args:
        text: the note.

    Returns:
        Sections (tiling the text) and sentences (never crossing a section boundary).
    """
    sections = detect_sections(text)
    sentences = split_sentences(text, sections=sections)
    return TextAnalysis(
        text=text,
        sections=sections,
        sentences=sentences,
        _section_starts=[s.start for s in sections],
        _sentence_starts=[s for s, _ in sentences],
    )
