"""notes.extract, rules backend: problems, medications, allergies, procedures, vitals and labs from one note.

One pass per note:

1. ``analyze(text)`` once (sections, sentences), shared by every step.
2. One Aho-Corasick matcher holding every lexicon (problems, medications, procedures, allergens, reactions,
   "no known allergy" phrases) finds leftmost-longest, word-bounded, case-insensitive matches (abbreviations case
   sensitive); matches inside a section header are dropped.
3. Allergies first (:mod:`medlens.notes.allergies`): in allergy zones a drug name is an allergen, not a
   medication, and a reaction is not a problem. Then medications with their sig (:mod:`medlens.notes.medications`),
   whose PRN reasons are not also problems; then problems (:mod:`medlens.notes.problems`) and procedures.
4. One ``ContextEngine.assert_targets`` call for every mention (NKDA-like statements carry their own negation;
   medication discontinuation cues are added), then vitals and labs (:mod:`medlens.notes.vitals_labs`), which
   reads the same analysis and engine.
5. Findings sorted by the start of their first evidence span.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from medlens.core.errors import ConfigError
from medlens.core.types import Assertion, Document, Evidence
from medlens.notes.allergies import AllergyExtractor
from medlens.notes.medications import MedicationExtractor
from medlens.notes.problems import ProblemExtractor
from medlens.notes.procedures import ProcedureExtractor
from medlens.notes.schema import FINDING_TYPES, Finding, NotesExtractResult
from medlens.notes.terminology import ConceptMention, PhraseMatch, PhraseMatcher
from medlens.notes.vitals_labs import extract_vitals_labs
from medlens.text.analysis import TextAnalysis, analyze
from medlens.text.context import ContextEngine

__all__ = ["NotesExtractRules"]

MatchValue = tuple[str, int]

_PROBLEM_KINDS = frozenset({ProblemExtractor.KIND, ProblemExtractor.GATE_KIND})
_MEDICATION_KINDS = (MedicationExtractor.KIND, MedicationExtractor.GATE_KIND)


@dataclass(frozen=True)
class _Resources:
    matcher: PhraseMatcher[MatchValue]
    problems: ProblemExtractor
    medications: MedicationExtractor
    allergies: AllergyExtractor
    procedures: ProcedureExtractor
    context: ContextEngine


@functools.cache
def _resources() -> _Resources:
    """Lexicons, the shared automaton and the ConText engine, built once per process."""
    problems = ProblemExtractor()
    medications = MedicationExtractor()
    allergies = AllergyExtractor(medications)
    procedures = ProcedureExtractor()
    matcher: PhraseMatcher[MatchValue] = PhraseMatcher()
    for part in (problems, medications, procedures, allergies):
        part.register(matcher)
    matcher.build()
    return _Resources(matcher, problems, medications, allergies, procedures, ContextEngine())


class NotesExtractRules:
    """Deterministic, offline extraction of problems, medications, allergies, vitals, labs and procedures.

    Args:
        types: finding types to return (default: all of them).

    Raises:
        ConfigError: ML201 when ``types`` names an unknown finding type.
    """

    name = "medlens.task.notes.extract.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.notes.extract",)

    def __init__(self, *, types: Sequence[str] | None = None) -> None:
        chosen = tuple(FINDING_TYPES if types is None else types)
        unknown = sorted(set(chosen) - set(FINDING_TYPES))
        if unknown:
            raise ConfigError(
                f"unknown finding type(s) {unknown} for notes.extract; valid: {', '.join(FINDING_TYPES)}", code="ML201"
            )
        self._types: frozenset[str] = frozenset(chosen)
        self._res = _resources()
        _warm_up(self)

    def __call__(self, batch: Sequence[Document]) -> list[NotesExtractResult]:
        """One result per document, in order."""
        return [
            NotesExtractResult(name=self.name, backend=self.backend, findings=tuple(self.extract(doc.text, doc.id)))
            for doc in batch
        ]

    def extract(self, text: str, record_id: str) -> list[Finding]:
        """Findings of one text, sorted by the start of their first evidence span.

        Args:
            text: the note.
            record_id: id written into every evidence span.
        """
        res = self._res
        analysis = analyze(text)
        matches = res.matcher.find(text)
        mentions = self._mentions(text, record_id, matches, analysis)
        findings = self._findings(text, record_id, mentions, analysis)
        if "vital" in self._types or "lab" in self._types:
            findings.extend(
                f for f in extract_vitals_labs(text, record_id, analysis, res.context) if f.type in self._types
            )
        findings.sort(key=lambda f: (f.evidence[0].start, f.evidence[0].end) if f.evidence else (len(text), 0))
        return findings

    def _mentions(
        self, text: str, record_id: str, matches: list[PhraseMatch[MatchValue]], analysis: TextAnalysis
    ) -> list[ConceptMention]:
        res = self._res
        in_header = [_in_header(analysis, m.start) for m in matches]
        mentions, consumed = res.allergies.extract(text, record_id, matches, analysis)

        med_spans: list[tuple[int, int, int]] = []
        for i, m in enumerate(matches):
            if i in consumed or in_header[i]:
                continue
            for kind, index in m.values:
                if kind in _MEDICATION_KINDS:
                    row = res.medications.resolve(text, m.start, m.end, (kind, index), analysis)
                    if row is not None:
                        med_spans.append((m.start, m.end, row))
                        consumed.add(i)
                    break
        med_mentions, reasons = res.medications.extract(text, record_id, med_spans, analysis)
        mentions.extend(med_mentions)

        for i, m in enumerate(matches):
            if i in consumed or in_header[i]:
                continue
            for kind, index in m.values:
                if kind in _PROBLEM_KINDS:
                    if any(s <= m.start and m.end <= e for s, e in reasons):
                        break
                    mention = res.problems.mention(text, m.start, m.end, (kind, index), analysis)
                    if mention is not None:
                        mentions.append(mention)
                    break
                if kind == ProcedureExtractor.KIND:
                    mentions.append(res.procedures.mention(m.start, m.end, index))
                    break
        return [m for m in mentions if m.type in self._types]

    def _findings(
        self, text: str, record_id: str, mentions: list[ConceptMention], analysis: TextAnalysis
    ) -> list[Finding]:
        open_ = [m for m in mentions if m.assertion is None]
        decided = self._res.context.assert_targets(text, [(m.start, m.end) for m in open_], analysis=analysis)
        assertions = dict(zip(map(id, open_), decided, strict=True))
        findings: list[Finding] = []
        for m in mentions:
            assertion = m.assertion if m.assertion is not None else assertions[id(m)]
            if m.extra_cues:
                assertion = _with_cues(assertion, m)
            findings.append(
                Finding(
                    type=m.type,
                    text=m.text,
                    code=m.code,
                    assertion=assertion,
                    section=analysis.section_at(m.start).name,
                    evidence=(Evidence.of(text, record_id, m.start, m.end, m.producer, explanation=m.explanation),),
                    medication=m.medication,
                    allergy=m.allergy,
                )
            )
        return findings


# A synthetic note run once per process so that lazily built tables (units, vitals/labs, cue regexes) are ready before
# the first real note: heavy set-up belongs to __init__, not to the first call.
_WARM_UP_TEXT = (
    "ALLERGIES: Penicillin (hives). MEDICATIONS: Lisinopril 10 mg PO daily. PAST MEDICAL HISTORY: HTN, s/p CABG. "
    "Denies chest pain. BP 120/80, HR 72, sodium 140 mmol/L."
)
_warmed = False


def _warm_up(task: NotesExtractRules) -> None:
    global _warmed
    if not _warmed:
        task.extract(_WARM_UP_TEXT, "medlens-warm-up")
        _warmed = True


def _in_header(analysis: TextAnalysis, offset: int) -> bool:
    section = analysis.section_at(offset)
    return section.header_start <= offset < section.header_end


def _with_cues(assertion: Assertion, mention: ConceptMention) -> Assertion:
    update: dict[str, object] = {cue.status: True for cue in mention.extra_cues}
    update["cues"] = (*assertion.cues, *mention.extra_cues)
    return assertion.model_copy(update=update)
