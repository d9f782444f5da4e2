"""Concept mentions and abbreviation gates for the notes lexicons, on the shared phrase matcher.

The phrase matcher itself (case-insensitive, word-bounded, longest-match Aho-Corasick) is
:mod:`medlens.text.phrases`; its names are re-exported here for the notes extractors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medlens.core.types import Assertion, Code, Cue
from medlens.notes.lexicon_models import AbbreviationGate
from medlens.notes.schema import AllergyDetail, FindingType, MedicationDetail
from medlens.text.phrases import (
    PhraseMatch,
    PhraseMatcher,
    abbreviation_variants,
    aligned_lower,
    phrase_variants,
    plural_variants,
    word_key,
)

__all__ = [
    "ConceptMention",
    "ContextGate",
    "PhraseMatch",
    "PhraseMatcher",
    "abbreviation_variants",
    "aligned_lower",
    "phrase_variants",
    "plural_variants",
    "word_key",
]


class ContextGate:
    """An ambiguous abbreviation's gate (``abbreviations.yaml``), compiled: does the context support its sense?"""

    __slots__ = ("_after", "_before", "_forbid", "_require", "gate")

    def __init__(self, gate: AbbreviationGate) -> None:
        self.gate = gate
        flags = re.IGNORECASE
        self._require = re.compile("|".join(f"(?:{p})" for p in gate.require_any), flags) if gate.require_any else None
        self._forbid = re.compile("|".join(f"(?:{p})" for p in gate.forbid_any), flags) if gate.forbid_any else None
        self._before = re.compile(gate.forbid_before, flags) if gate.forbid_before else None
        self._after = re.compile(gate.forbid_after, flags) if gate.forbid_after else None

    def allows(self, text: str, start: int, end: int, sentence: tuple[int, int]) -> bool:
        """Whether the abbreviation at ``text[start:end]`` in ``sentence`` (offsets) reads in its clinical sense."""
        s0, s1 = min(sentence[0], start), max(sentence[1], end)
        if self._before is not None and self._before.search(text, max(s0, start - 24), start):
            return False
        if self._after is not None and self._after.match(text[end : min(len(text), end + 40)]):
            return False
        if self._forbid is not None and self._forbid.search(text, s0, s1):
            return False
        return self._require is None or self._require.search(text, s0, s1) is not None


@dataclass(slots=True)
class ConceptMention:
    """A concept found in a note, before its assertion is decided: what ``notes.extract`` turns into a Finding.

    Attributes:
        type: finding type.
        start: offset of the mention (the evidence span).
        end: offset just after it.
        text: preferred name of the concept (the finding's text).
        code: primary code, if any.
        producer: versioned name of the rule that found it.
        explanation: short reason (lexicon entry or pattern).
        medication: sig, for medications.
        allergy: reactions and category, for allergies.
        assertion: a fixed assertion (e.g. "NKDA" is negated by its own words); None lets the ContextEngine decide.
        extra_cues: cues found by the family's own rules (medication discontinued), merged with the engine's.
    """

    type: FindingType
    start: int
    end: int
    text: str
    code: Code | None
    producer: str
    explanation: str
    medication: MedicationDetail | None = None
    allergy: AllergyDetail | None = None
    assertion: Assertion | None = None
    extra_cues: tuple[Cue, ...] = field(default=())
