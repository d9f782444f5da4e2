"""Offset-preserving tokens (skeleton)."""

from __future__ import annotations

import re

__all__ = ["tokenize"]

_TOKEN = re.compile(r"\w+(?:[.'-]\w+)*|[^\w\s]")


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return ``(start, end)`` offsets of the tokens of ``text[start:end]`` (offsets into ``text``)."""
    return [m.span() for m in _TOKEN.finditer(text, start, len(text) if end is None else end)]
