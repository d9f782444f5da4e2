"""Problems, diagnoses and symptoms: ``problems.tsv`` surface forms -> ICD-10-CM, with abbreviation gates.

How a lexicon match becomes a problem mention:

* the match is not inside a section header ("PHYSICAL EXAM:" is not an exam finding; "ANESTHESIA:" not a
  procedure);
* an ambiguous abbreviation listed as *gated* in ``abbreviations.yaml`` ("PE", "AF", "CVA", "RA") must pass its
  gate (see :class:`medlens.notes.terminology.ContextGate`); abbreviations listed as *excluded* ("MS", "CA", "AS")
  are in no lexicon at all;
* a mention followed by "prophylaxis", "vaccine", "shot", "screening", "precautions", "protocol", "prevention" or
  "-like" is not a stated problem ("DVT prophylaxis", "flu shot", "flu-like symptoms") and is dropped.

The code is the row's ICD-10-CM code (system ``http://hl7.org/fhir/sid/icd-10-cm``) with its title as display;
rows without a code yield findings without one (see the mapping rule in the ``problems.tsv`` header).
"""

from __future__ import annotations

import re

from medlens.core.types import Code
from medlens.notes.lexicon_models import ProblemEntry, load_abbreviation_rules, load_problem_lexicon
from medlens.notes.terminology import (
    ConceptMention,
    ContextGate,
    PhraseMatcher,
    abbreviation_variants,
    phrase_variants,
    plural_variants,
)
from medlens.text.analysis import TextAnalysis

__all__ = ["ICD10CM_SYSTEM", "ProblemExtractor"]

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
_PRODUCER = "medlens.rule.notes.problem.problems.v1"
_GATE_PRODUCER = "medlens.rule.notes.problem.abbreviations.v1"
_SOURCE = "simple-icd-10-cm (ICD-10-CM FY2026) via medlens notes lexicon problems.tsv"

MatchValue = tuple[str, int]


class ProblemExtractor:
    """Registers the problem phrases in a shared matcher and turns its matches into problem mentions."""

    KIND = "problem"
    GATE_KIND = "problem_gate"

    def __init__(self) -> None:
        lexicon = load_problem_lexicon()
        rules = load_abbreviation_rules()
        self.entries: tuple[ProblemEntry, ...] = tuple(lexicon.rows)
        self._codes = [
            Code(system=ICD10CM_SYSTEM, code=e.code, display=e.display, source=_SOURCE) if e.code else None
            for e in self.entries
        ]
        by_name = {e.preferred: i for i, e in enumerate(self.entries)}
        self.gates: list[tuple[ContextGate, int]] = []
        for gate in rules.gated:
            if gate.lexicon == "problems":
                self.gates.append((ContextGate(gate), by_name[gate.concept]))
        self._suppress_after = re.compile(rules.problem_suppress_after, re.IGNORECASE)

    def register(self, matcher: PhraseMatcher[MatchValue]) -> None:
        """Add every problem phrase (and gated abbreviation) to ``matcher``."""
        for i, entry in enumerate(self.entries):
            value = (self.KIND, i)
            for phrase in (entry.preferred, *entry.synonyms, *entry.derived):
                for form in plural_variants(phrase):
                    matcher.add_all(phrase_variants(form), value)
            for abbr in entry.abbreviations:
                for form in abbreviation_variants(abbr):
                    matcher.add_all(phrase_variants(form), value, case_sensitive=True)
        for g, (gate, _) in enumerate(self.gates):
            matcher.add(gate.gate.abbr, (self.GATE_KIND, g), case_sensitive=gate.gate.case_sensitive)

    def mention(
        self, text: str, start: int, end: int, value: MatchValue, analysis: TextAnalysis
    ) -> ConceptMention | None:
        """The problem mention for a match of ``value`` at ``text[start:end]``, or None when rules drop it."""
        kind, index = value
        if kind == self.GATE_KIND:
            gate, row = self.gates[index]
            if not gate.allows(text, start, end, analysis.sentence_at(start)):
                return None
            producer, how = _GATE_PRODUCER, f"abbreviation {gate.gate.abbr!r} (context gate passed)"
        else:
            row = index
            producer, how = _PRODUCER, "problems.tsv"
        if self._suppress_after.match(text[end : end + 40]):
            return None
        entry = self.entries[row]
        return ConceptMention(
            type="problem",
            start=start,
            end=end,
            text=entry.preferred,
            code=self._codes[row],
            producer=producer,
            explanation=f"{how}: {entry.preferred}" + (f" -> ICD-10-CM {entry.code}" if entry.code else " (no code)"),
        )
