"""Procedures: ``procedures.tsv`` surface forms -> preferred procedure name.

No code is attached in v1: CPT is proprietary (AMA) and SNOMED CT needs an affiliate licence, so procedure findings
carry ``code=None``. Whether a procedure was done, planned or refused is the assertion's job (ConText: "s/p
appendectomy" is historical, "will schedule colonoscopy" hypothetical, "declined colonoscopy" negated).
"""

from __future__ import annotations

from medlens.notes.lexicon_models import ProcedureEntry, load_procedure_lexicon
from medlens.notes.terminology import (
    ConceptMention,
    PhraseMatcher,
    abbreviation_variants,
    phrase_variants,
    plural_variants,
)

__all__ = ["ProcedureExtractor"]

_PRODUCER = "medlens.rule.notes.procedure.procedures.v1"

MatchValue = tuple[str, int]


class ProcedureExtractor:
    """Registers procedure phrases in a shared matcher and turns its matches into procedure mentions."""

    KIND = "procedure"

    def __init__(self) -> None:
        self.entries: tuple[ProcedureEntry, ...] = tuple(load_procedure_lexicon().rows)

    def register(self, matcher: PhraseMatcher[MatchValue]) -> None:
        """Add every procedure phrase to ``matcher``."""
        for i, entry in enumerate(self.entries):
            value = (self.KIND, i)
            for phrase in (entry.preferred, *entry.synonyms):
                for form in plural_variants(phrase):
                    matcher.add_all(phrase_variants(form), value)
            for abbr in entry.abbreviations:
                for form in abbreviation_variants(abbr):
                    matcher.add_all(phrase_variants(form), value, case_sensitive=True)

    def mention(self, start: int, end: int, row: int) -> ConceptMention:
        """The procedure mention for a match of row ``row`` at ``[start, end)``."""
        entry = self.entries[row]
        return ConceptMention(
            type="procedure",
            start=start,
            end=end,
            text=entry.preferred,
            code=None,
            producer=_PRODUCER,
            explanation=f"procedures.tsv: {entry.preferred} (no code: CPT proprietary, SNOMED CT licensed)",
        )
