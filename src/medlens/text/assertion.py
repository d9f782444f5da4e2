"""The standalone assertion interface: one target concept in one text -> its five statuses and cue spans."""

from __future__ import annotations

from medlens.core.errors import InputError
from medlens.core.types import Assertion
from medlens.text.analysis import analyze
from medlens.text.context import ContextEngine

__all__ = ["assert_target"]

_ENGINE: ContextEngine | None = None


def assert_target(
    text: str, *, start: int | None = None, end: int | None = None, target: str | None = None
) -> Assertion:
    """Assertion of a target concept given by its span (``start``, ``end``) or its first occurrence (``target``).

    Raises:
        InputError: ML104 if neither or both ways are given, the span is outside the text, or ``target`` is not
            found (case-insensitive).
    """
    global _ENGINE
    if (start is None) != (end is None) or (start is None) == (target is None):
        raise InputError("give either start and end, or target", code="ML104")
    if target is not None:
        found = text.lower().find(target.lower())
        if found < 0 or not target:
            raise InputError("target not found in text", code="ML104")
        start, end = found, found + len(target)
    assert start is not None and end is not None
    if not 0 <= start < end <= len(text):
        raise InputError(f"span [{start}, {end}) is outside the text (length {len(text)})", code="ML104")
    if _ENGINE is None:
        _ENGINE = ContextEngine()
    analysis = analyze(text)
    return _ENGINE.assert_target(
        text, start, end, sentence=analysis.sentence_at(start), section=analysis.section_at(start).name
    )
