"""Allergies: allergens with their reactions, and "no known allergy" statements.

Where an allergen counts (the *allergy zones* of a note):

* the body of every ``allergies`` section (after its header, to the next section);
* an inline statement: from a cue of ``allergies.yaml`` ``cues_before`` ("allergic to", "allergy to", "reaction
  to", "intolerant of"...) to the end of its sentence, or to an earlier "but", "however", "takes", "is on"...;
* a drug or allergen followed by a ``cues_after`` word ("penicillin allergy", "sulfa allergic"): that name, and its
  sentence for reactions.

In a zone, a name from ``allergies.yaml`` (drug classes, foods, environmental agents) or from ``medications.tsv``
(single drugs, coded with their RxNorm ingredient RXCUI where curated) is an allergen, never a medication; a
reaction phrase ("hives", "rash", "nausea") belongs to the allergen before it in the same sentence and up to the
next allergen, and is never also reported as a problem. Reactions written before any allergen are not attached.

"NKDA", "no known drug allergies", "NKA", "denies allergies"... (anywhere in the note) give one allergy finding
whose text is "drug allergy", "food allergy" or "allergy", negated by its own words (the cue is the phrase). So do
the words "None", "None known", "Denies"... standing first in an allergies section with no allergen in it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from medlens.core.types import Assertion, Cue, Evidence
from medlens.notes.lexicon_models import AllergenEntry, NoKnownAllergyEntry, ReactionEntry, load_allergy_lexicon
from medlens.notes.medications import MedicationExtractor
from medlens.notes.schema import AllergyDetail, Attribute
from medlens.notes.terminology import ConceptMention, PhraseMatch, PhraseMatcher, phrase_variants
from medlens.text.analysis import TextAnalysis
from medlens.text.measurements import phrase_pattern

__all__ = ["ALLERGY_SECTIONS", "AllergyExtractor"]

ALLERGY_SECTIONS = frozenset({"allergies"})
_P = "medlens.rule.notes.allergy"

MatchValue = tuple[str, int]

_INLINE_STOP = re.compile(
    r"[;]|\b(?:but|however|although|though|takes|taking|tolerates|tolerated|is\s+on|was\s+on|currently\s+on"
    r"|started|prescribed|given|received)\b",
    re.IGNORECASE,
)


_SECTION_STOP = re.compile(_INLINE_STOP.pattern + r"|\b(?:current|home)\s+med|\bmeds\b|\bmedications\b", re.I)

# "no allergy to penicillin" names a specific allergen, "no allergy symptoms" symptoms: neither is a "no known
# allergy" statement.
_TO_AFTER = re.compile(r"[ \t]+to\b", re.IGNORECASE)
_SPECIFIC_AFTER = re.compile(r"[ \t]+(?:to|with|for|symptoms?|testing|tests?|shots?)\b", re.IGNORECASE)


@dataclass(slots=True)
class _Allergen:
    start: int
    end: int
    text: str
    category: Literal["medication", "food", "environment"] | None
    producer: str
    explanation: str
    code_row: int | None  # medications.tsv row, for the RxNorm code
    sentence_end: int
    reactions: list[Attribute]


class AllergyExtractor:
    """Registers allergens, reactions and "no known allergy" phrases; finds allergy mentions in allergy zones."""

    ALLERGEN_KIND = "allergen"
    REACTION_KIND = "reaction"
    NO_KNOWN_KIND = "no_known"
    CUE_KIND = "allergy_cue"
    _ALLERGEN_KINDS = frozenset({"allergen", MedicationExtractor.KIND, MedicationExtractor.GATE_KIND})

    def __init__(self, medications: MedicationExtractor) -> None:
        lex = load_allergy_lexicon()
        self._medications = medications
        self.allergens: tuple[AllergenEntry, ...] = lex.allergens
        self.reactions: tuple[ReactionEntry, ...] = lex.reactions
        self.no_known: tuple[NoKnownAllergyEntry, ...] = lex.no_known
        words = r"[\s-]+"
        self.cues_before: tuple[str, ...] = lex.cues_before
        self._cue_after = re.compile(
            r"[ \t]*-?[ \t]*(?:" + phrase_pattern(lex.cues_after, space=words) + r")(?!\w)", re.I
        )
        self._none_re = re.compile(
            r"[\s:.\-]*(?P<none>" + phrase_pattern(lex.section_none, space=words) + r")(?!\w)", re.IGNORECASE
        )

    def register(self, matcher: PhraseMatcher[MatchValue]) -> None:
        """Add allergens, reactions and "no known allergy" phrases to ``matcher``."""
        for i, allergen in enumerate(self.allergens):
            for phrase in allergen.synonyms:
                matcher.add_all(phrase_variants(phrase), (self.ALLERGEN_KIND, i))
            for abbr in allergen.abbreviations:
                matcher.add(abbr, (self.ALLERGEN_KIND, i), case_sensitive=True)
        for i, reaction in enumerate(self.reactions):
            for phrase in reaction.synonyms:
                matcher.add_all(phrase_variants(phrase), (self.REACTION_KIND, i))
        for i, entry in enumerate(self.no_known):
            for phrase in entry.phrases:
                matcher.add(phrase, (self.NO_KNOWN_KIND, i))
        for i, cue in enumerate(self.cues_before):
            matcher.add(cue, (self.CUE_KIND, i))

    # ------------------------------------------------------------------------------------------ zones
    def zones(
        self, text: str, analysis: TextAnalysis, matches: Sequence[PhraseMatch[MatchValue]]
    ) -> list[tuple[int, int]]:
        """Merged ``(start, end)`` spans where allergens are allergies: allergies sections and inline statements.

        Args:
            text: the note.
            analysis: its sections and sentences.
            matches: the shared matcher's matches (inline statements start at its ``allergy_cue`` matches).
        """
        spans: list[tuple[int, int]] = []
        for section in analysis.sections:
            if section.name in ALLERGY_SECTIONS and section.end > section.header_end:
                # An allergies section whose end was not detected may run on into other text ("NKDA. Current meds
                # include lisinopril."): it ends at the first word that talks about taking drugs.
                cut = _SECTION_STOP.search(text, section.header_end, section.end)
                spans.append((section.header_end, cut.start() if cut is not None else section.end))
        for m in matches:
            kinds = {kind for kind, _ in m.values}
            if self.CUE_KIND in kinds:
                begin = m.end
            elif self.NO_KNOWN_KIND in kinds and (to := _TO_AFTER.match(text, m.end)) is not None:
                begin = to.end()  # "no allergy to penicillin": the statement names its allergen
            elif kinds & self._ALLERGEN_KINDS and self._cue_after.match(text, m.end, min(len(text), m.end + 24)):
                begin = m.start  # "penicillin allergy (rash)"
            else:
                continue
            _, sentence_end = analysis.sentence_at(m.start)
            stop = max(sentence_end, m.end)
            cut = _INLINE_STOP.search(text, max(begin, m.end), stop)
            spans.append((begin, cut.start() if cut is not None else stop))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged

    # ------------------------------------------------------------------------------------------ extraction
    def extract(
        self,
        text: str,
        record_id: str,
        matches: Sequence[PhraseMatch[MatchValue]],
        analysis: TextAnalysis,
    ) -> tuple[list[ConceptMention], set[int]]:
        """Allergy mentions in ``text`` from the shared ``matches``.

        Returns:
            The mentions, and the indices of the matches they used (not to be reported as anything else).
        """
        zones = self.zones(text, analysis, matches)
        zone_starts = [z[0] for z in zones]
        consumed: set[int] = set()
        mentions: list[ConceptMention] = []
        allergens: list[_Allergen] = []
        reactions: list[tuple[int, int, int]] = []  # start, end, reaction row
        for i, m in enumerate(matches):
            kinds = {kind: row for kind, row in m.values}
            if self.CUE_KIND in kinds:
                consumed.add(i)
                continue
            if self.NO_KNOWN_KIND in kinds and _SPECIFIC_AFTER.match(text, m.end) is None:
                mentions.append(
                    self._no_known(text, record_id, m.start, m.end, self.no_known[kinds[self.NO_KNOWN_KIND]])
                )
                consumed.add(i)
                continue
            z = bisect.bisect_right(zone_starts, m.start) - 1
            in_zone = z >= 0 and m.start < zones[z][1]
            allergen = self._allergen(text, m, kinds, analysis, in_zone)
            if allergen is not None:
                allergens.append(allergen)
                consumed.add(i)
            elif in_zone and self.REACTION_KIND in kinds:
                reactions.append((m.start, m.end, kinds[self.REACTION_KIND]))
                consumed.add(i)
        self._attach(text, record_id, allergens, reactions)
        for a in allergens:
            code = self._medications.code(a.code_row) if a.code_row is not None else None
            mentions.append(
                ConceptMention(
                    type="allergy",
                    start=a.start,
                    end=a.end,
                    text=a.text,
                    code=code,
                    producer=a.producer,
                    explanation=a.explanation,
                    allergy=AllergyDetail(reactions=tuple(a.reactions), category=a.category),
                )
            )
        mentions.extend(self._section_none(text, record_id, analysis, mentions))
        return mentions, consumed

    def _allergen(
        self, text: str, m: PhraseMatch[MatchValue], kinds: dict[str, int], analysis: TextAnalysis, in_zone: bool
    ) -> _Allergen | None:
        if not in_zone and self._cue_after.match(text, m.end, min(len(text), m.end + 24)) is None:
            return None
        sentence_end = max(analysis.sentence_at(m.start)[1], m.end)
        how = "in an allergy statement" if in_zone else "followed by an allergy word"
        if self.ALLERGEN_KIND in kinds:
            entry = self.allergens[kinds[self.ALLERGEN_KIND]]
            return _Allergen(
                m.start, m.end, entry.name, entry.category, f"{_P}.allergens.v1",
                f"allergies.yaml ({how}): {entry.name}", None, sentence_end, [],
            )  # fmt: skip
        for kind in (MedicationExtractor.KIND, MedicationExtractor.GATE_KIND):
            if kind in kinds:
                row = self._medications.resolve(text, m.start, m.end, (kind, kinds[kind]), analysis)
                if row is None:
                    return None
                name = self._medications.entries[row].ingredient
                return _Allergen(
                    m.start, m.end, name, "medication", f"{_P}.medications.v1",
                    f"medications.tsv ({how}): {name}", row, sentence_end, [],
                )  # fmt: skip
        return None

    def _attach(
        self, text: str, record_id: str, allergens: list[_Allergen], reactions: list[tuple[int, int, int]]
    ) -> None:
        if not allergens or not reactions:
            return
        starts = [a.start for a in allergens]
        for start, end, row in reactions:
            k = bisect.bisect_right(starts, start) - 1
            if k < 0:
                continue
            owner = allergens[k]
            if start < owner.end or end > owner.sentence_end:
                continue
            name = self.reactions[row].name
            owner.reactions.append(
                Attribute(
                    text=text[start:end],
                    value=name,
                    evidence=(
                        Evidence.of(
                            text, record_id, start, end, f"{_P}.reactions.v1", explanation=f"allergies.yaml: {name}"
                        ),
                    ),
                )
            )

    def _no_known(
        self, text: str, record_id: str, start: int, end: int, entry: NoKnownAllergyEntry, rule: str = "no_known"
    ) -> ConceptMention:
        cue = Cue(
            status="negated", start=start, end=end, text=text[start:end], rule=f"medlens.context.negated.{rule}.v1"
        )
        return ConceptMention(
            type="allergy",
            start=start,
            end=end,
            text=entry.text,
            code=None,
            producer=f"{_P}.{rule}.v1",
            explanation=f"allergies.yaml: states no {entry.text}",
            allergy=AllergyDetail(category=entry.category),
            assertion=Assertion(negated=True, cues=(cue,)),
        )

    def _section_none(
        self, text: str, record_id: str, analysis: TextAnalysis, found: Sequence[ConceptMention]
    ) -> list[ConceptMention]:
        out: list[ConceptMention] = []
        for section in analysis.sections:
            if section.name not in ALLERGY_SECTIONS:
                continue
            if any(section.header_end <= f.start < section.end for f in found):
                continue
            m = self._none_re.match(text, section.header_end, section.end)
            if m is not None:
                entry = next(e for e in self.no_known if e.category is None)
                out.append(self._no_known(text, record_id, m.start("none"), m.end("none"), entry, "section_none"))
        return out
