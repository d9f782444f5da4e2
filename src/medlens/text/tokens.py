"""Offset-preserving tokens.

Words keep inner dots, apostrophes and hyphens ("b.i.d", "x-ray", "patient's", "1.5"); every other non-space
character is a token of its own.
"""

from __future__ import annotations

import re

__all__ = ["tokenize"]

_TOKEN = re.compile(r"\w+(?:[.'’\-]\w+)*|[^\w\s]")


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return ``(start, end)`` offsets of the tokens of ``text[start:end]`` (offsets into ``text``).

    Args:
        text: the text.
        start: first offset to tokenise.
        end: offset to stop at (default: the end of ``text``).

    Returns:
        Token spans in order; whitespace is never part of a token.
    """
    return [m.span() for m in _TOKEN.finditer(text, start, len(text) if end is None else end)]
