"""Candidate values found in a report and the section-precedence choice between them.

Every extractor yields :class:`Candidate` objects (value key, span, section, payload). :func:`choose` keeps the
candidates of the highest-precedence section (``SECTION_RANK``) and breaks ties inside it; where a lower section
stated a different value, the override is recorded (``precedence`` + ``overridden_value``) and both spans are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from medlens.core.types import Evidence
from medlens.pathology.schema import PathologySection, Precedence
from medlens.pathology.sections import SECTION_RANK

__all__ = ["Candidate", "Choice", "choose", "producer"]

_PRECEDENCE_ROLES = frozenset(get_args(Precedence))


def producer(field_name: str) -> str:
    """Registered, versioned producer name of the rule that reads ``field_name``."""
    return f"medlens.rule.pathology.{field_name}.v1"


@dataclass(slots=True)
class Candidate:
    """One stated value: comparable ``key``, evidence span, section and the payload fields of the claim."""

    key: str
    start: int
    end: int
    section: PathologySection
    data: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    explanation: str | None = None


@dataclass(slots=True)
class Choice:
    """The chosen candidate, the evidence to attach and the override record."""

    best: Candidate
    evidence: tuple[Evidence, ...]
    precedence: Precedence | None
    overridden_value: str | None

    def claim_fields(self) -> dict[str, Any]:
        """Keyword arguments shared by every ``PathClaim``: evidence, section, precedence, overridden value."""
        return {
            "evidence": self.evidence,
            "section": self.best.section,
            "precedence": self.precedence,
            "overridden_value": self.overridden_value,
        }


def choose(
    text: str,
    record_id: str,
    field_name: str,
    candidates: Sequence[Candidate],
    *,
    tie_break: Callable[[Candidate], Any] | None = None,
) -> Choice | None:
    """Pick the value of one field from its candidates.

    Args:
        text: the report (evidence quotes it).
        record_id: id written into the evidence.
        field_name: field name, used in the producer id.
        candidates: all candidates found, any order.
        tie_break: key to *maximise* among the candidates of the winning section and priority (default: the
            earliest in the text wins).

    Returns:
        The choice, or None when there are no candidates.
    """
    if not candidates:
        return None

    def rank(c: Candidate) -> tuple[int, int]:
        return (SECTION_RANK.get(c.section, 0), c.priority)

    top = max(rank(c) for c in candidates)
    pool = [c for c in candidates if rank(c) == top]
    if tie_break is not None:
        best = max(pool, key=lambda c: (tie_break(c), -c.start))
    else:
        best = min(pool, key=lambda c: c.start)
    prod = producer(field_name)
    evidence = [Evidence.of(text, record_id, best.start, best.end, prod, explanation=best.explanation)]
    precedence: Precedence | None = None
    overridden: str | None = None
    others = [c for c in candidates if rank(c)[0] < top[0] and c.key != best.key]
    if others and best.section in _PRECEDENCE_ROLES:
        loser = max(others, key=lambda c: (rank(c), -c.start))
        precedence = best.section  # type: ignore[assignment]
        overridden = loser.key
        evidence.append(
            Evidence.of(
                text,
                record_id,
                loser.start,
                loser.end,
                prod,
                score=0.5,
                explanation=f"overridden by {best.section}: {loser.section} stated {loser.key}",
            )
        )
    return Choice(best, tuple(evidence), precedence, overridden)
