"""Cancer type (one of the 32 TCGA studies) inferred from organ and histology words, with evidence.

One Aho-Corasick pass (:class:`~medlens.pathology.wordkey.WordMatcher`, tolerant of OCR line joins) over every
term of ``lexicon/cancer_types.yaml``.
Each occurrence votes ``weight / len(studies)`` for each of its studies, times a section weight: the final diagnosis,
synoptic summary and addendum count three times, the clinical history and gross description once, others twice; at
most ``max_hits`` occurrences of one term count. A study needs a histology vote, or site votes from the diagnostic
sections, to be reported; the best-scoring study wins and its strongest matches are the evidence.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass

from medlens.core.types import Evidence
from medlens.pathology.candidates import producer
from medlens.pathology.lexicon_models import Study, load_cancer_types
from medlens.pathology.schema import CancerType
from medlens.pathology.sections import ReportLayout
from medlens.pathology.wordkey import WordMatcher

__all__ = ["infer_cancer_type"]

_SECTION_WEIGHT = {
    "final_diagnosis": 3.0,
    "synoptic": 3.0,
    "addendum": 3.0,
    "microscopic": 2.0,
    "comment": 2.0,
    "body": 2.0,
    "other": 1.0,
    "gross": 1.0,
    "clinical": 1.0,
}
_MAX_EVIDENCE = 3
_PROXIMITY_BEFORE = 250
_PROXIMITY_AFTER = 80
_QUALIFIER_BEFORE = 80
_QUALIFIER_AFTER = 40
# A term right after a negation or in a differential does not describe this tumour ("negative for chromophobe"); an
# OCR line join (". " before a lower-case word) does not end the negation's scope ("no evidence of. microvascular").
_NEGATED = re.compile(
    r"\b(?:no|not|without|negative\s+for|free\s+of|rule\s+out|versus|vs|rather\s+than|differential|excluded?|"
    r"than\s+a|favou?r\s+over)\b(?:[^.;:]|\.\s(?=(?-i:[a-z]))){0,30}\Z",
    re.IGNORECASE,
)

_Vote = tuple[int, str, float]  # (group index, kind, weight)


@dataclass(frozen=True, slots=True)
class _Compiled:
    matcher: WordMatcher[_Vote]
    groups: tuple[tuple[str, ...], ...]
    studies: dict[str, Study]
    max_hits: int
    main_bonus: float


@functools.cache
def _compiled() -> _Compiled:
    lex = load_cancer_types()
    matcher: WordMatcher[_Vote] = WordMatcher()
    groups = []
    for i, group in enumerate(lex.terms):
        groups.append(group.studies)
        for term in group.terms:
            matcher.add(term, (i, group.kind, group.weight))
    return _Compiled(matcher, tuple(groups), {s.code: s for s in lex.studies}, lex.max_hits, lex.main_diagnosis_bonus)


_Scores = tuple[dict[str, float], dict[str, float], dict[str, list[tuple[float, int, int]]]]


def _score(text: str, layout: ReportLayout) -> _Scores:
    """Votes per study: (all votes, histology / diagnostic-section votes, voting spans)."""
    comp = _compiled()
    scores: dict[str, float] = defaultdict(float)
    hist: dict[str, float] = defaultdict(float)
    by_term: dict[str, list[tuple[float, int, int, tuple[_Vote, ...]]]] = defaultdict(list)
    best_span: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    matches = comp.matcher.find(layout.words)
    sites: list[tuple[int, int, frozenset[str]]] = []
    histologies: list[tuple[int, int, frozenset[str], float, float]] = []
    qualifiers: list[tuple[int, int, frozenset[str], float, float]] = []
    main: tuple[int, frozenset[str]] | None = None  # first histology of the final diagnosis
    for match in matches:
        key = text[match.start : match.end].lower()
        if _NEGATED.search(text, max(0, match.start - 40), match.start):
            continue
        sw = _SECTION_WEIGHT.get(layout.role_at(match.start), 1.0)
        by_term[key].append((sw, match.start, match.end, match.values))
        for group_i, kind, weight in match.values:
            group_studies = frozenset(comp.groups[group_i])
            if kind == "site":
                sites.append((match.start, match.end, group_studies))
            elif kind == "qualifier":
                qualifiers.append((match.start, match.end, group_studies, weight, sw))
            elif sw >= 3.0:
                histologies.append((match.start, match.end, group_studies, weight, sw))
            if kind == "histology" and main is None and layout.role_at(match.start) == "final_diagnosis":
                main = (match.start, group_studies)
    # At most max_hits occurrences of one term vote: those of the weightiest sections (the final diagnosis before the
    # gross description), earliest first among equals, so a long gross description cannot use up an organ's votes.
    for occurrences in by_term.values():
        occurrences.sort(key=lambda o: -o[0])
        for sw, start, end, values in occurrences[: comp.max_hits]:
            for group_i, kind, weight in values:
                if kind == "qualifier":
                    continue
                studies = comp.groups[group_i]
                share = weight * sw / len(studies)
                for code in studies:
                    scores[code] += share
                    if kind == "histology" or sw >= 3.0:
                        hist[code] += share
                    best_span[code].append((share, start, end))
    # Histology named in a diagnostic section next to an organ word ("Kidney, nephrectomy: renal cell carcinoma",
    # "serous carcinoma of the ovary"): the studies both words share get a bonus, so the organ of the diagnosis
    # line decides between studies sharing a histology.
    for h_start, h_end, h_studies, weight, sw in histologies:
        near = [
            (min(abs(h_start - s_end), abs(s_start - h_end)), st & h_studies)
            for s_start, s_end, st in sites
            if h_start - _PROXIMITY_BEFORE <= s_start <= h_end + _PROXIMITY_AFTER and st & h_studies
        ]
        if near:
            shared = min(near, key=lambda n: n[0])[1]
            for code in shared:
                scores[code] += weight * sw / len(shared)
                hist[code] += weight * sw / len(shared)
    # A qualifier ("grade II") next to a histology word it narrows ("astrocytoma") votes for the studies both share.
    for q_start, q_end, q_studies, weight, sw in qualifiers:
        near = [
            (min(abs(q_start - s_end), abs(s_start - q_end)), st & q_studies)
            for s_start, s_end, st, _, _ in histologies
            if q_start - _QUALIFIER_BEFORE <= s_start <= q_end + _QUALIFIER_AFTER and st & q_studies
        ]
        if near:
            shared = min(near, key=lambda n: n[0])[1]
            for code in shared:
                scores[code] += weight * sw / len(shared)
                hist[code] += weight * sw / len(shared)
                best_span[code].append((weight * sw / len(shared), q_start, q_end))
    # The main diagnosis: the first histology of the final diagnosis, narrowed to the organ named beside it.
    if main is not None and comp.main_bonus:
        m_start, m_studies = main
        near_sites = [  # organ words of the final diagnosis only, never of the gross description before it
            (abs(m_start - s_start), st & m_studies)
            for s_start, _, st in sites
            if m_start - _PROXIMITY_BEFORE <= s_start <= m_start + _PROXIMITY_AFTER
            and st & m_studies
            and layout.role_at(s_start) == "final_diagnosis"
        ]
        shared = min(near_sites, key=lambda n: n[0])[1] if near_sites else m_studies
        for code in shared:
            scores[code] += comp.main_bonus / len(shared)
            hist[code] += comp.main_bonus / len(shared)
    return scores, hist, best_span


def infer_cancer_type(text: str, layout: ReportLayout, record_id: str) -> CancerType | None:
    """The TCGA study the report's tumour belongs to, or None when no histology or diagnostic site word is found.

    Args:
        text: the report.
        layout: its sections.
        record_id: id written into the evidence.
    """
    comp = _compiled()
    scores, hist, best_span = _score(text, layout)
    candidates = [c for c in scores if hist[c] > 0]
    if not candidates:
        return None
    total = sum(scores.values())
    code = max(candidates, key=lambda c: (scores[c], hist[c]))
    study = comp.studies[code]
    spans = sorted(best_span[code], key=lambda s: (-s[0], s[1]))[:_MAX_EVIDENCE]
    prod = producer("cancer_type")
    evidence = tuple(
        Evidence.of(text, record_id, s, e, prod, score=min(1.0, w / 3.0), explanation=f"votes for {code}")
        for w, s, e in sorted(spans, key=lambda s: s[1])
    )
    return CancerType(
        tcga_code=code,
        name=study.name,
        icdo3_topography=study.icdo3_topography,
        score=round(scores[code] / total, 3) if total else 0.0,
        evidence=evidence,
    )
