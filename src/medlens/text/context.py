"""ConText-style assertion (skeleton)."""

from __future__ import annotations

from collections.abc import Sequence

from medlens.core.types import Assertion

__all__ = ["ContextEngine"]


class ContextEngine:
    """Decides negated/uncertain/historical/hypothetical/family for target spans from cue lexicons."""

    def __init__(self) -> None:
        pass

    def assert_target(
        self, text: str, start: int, end: int, *, sentence: tuple[int, int] | None = None, section: str | None = None
    ) -> Assertion:
        """Assertion of the target ``text[start:end]`` within ``sentence`` (found if not given) and ``section``."""
        return Assertion()

    def assert_targets(
        self, text: str, targets: Sequence[tuple[int, int]], *, analysis: object | None = None
    ) -> list[Assertion]:
        """Assertions of many targets in one text (faster than one by one)."""
        return [self.assert_target(text, s, e) for s, e in targets]
