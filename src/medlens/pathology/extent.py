"""Extent statements of a pathology report: which layers and structures the primary tumour reaches, with evidence.

A structure word from ``lexicon/extent.yaml`` ("muscularis propria", "pericolic fat", "visceral pleura") counts as
an extent statement when a cue of invasion precedes it in the same sentence ("invades through the ...", "depth of
invasion: ...") with no blocker between ("2 mm *from* the serosa"), or follows it ("visceral pleural invasion:
present"). Words near the structure sharpen the key ("through the muscularis propria" -> ``beyond_muscularis_propria``;
"microscopically" -> ``perivesical_tissue_microscopic``). Each finding is ``present`` or ``absent``: absent when
ConText (:class:`medlens.text.context.ContextEngine`) negates the structure ("does not invade the serosa") or an
absence phrase follows it ("serosa: uninvolved").

Sections come from :func:`medlens.pathology.sections.report_layout` and rank as in
:data:`medlens.pathology.sections.SECTION_RANK`: :func:`select_extents` keeps the present findings of the diagnostic
sections (final diagnosis, synoptic, microscopic, comment...) and falls back to the gross description only when
those say nothing; a key stated absent in a higher-ranked section overrides the same key present in a lower one;
clinical history is never used. The keys feed :func:`medlens.guidelines.ajcc_extent.t_from_extent`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Claim, Evidence
from medlens.pathology.schema import PathologySection
from medlens.pathology.sections import SECTION_RANK, ReportLayout, report_layout
from medlens.pathology.wordkey import phrase_alternation

if TYPE_CHECKING:
    from medlens.text.context import ContextEngine

__all__ = [
    "ExtentFinding",
    "ExtentLexicon",
    "ExtentRefinement",
    "ExtentStructure",
    "find_extents",
    "load_extent_lexicon",
    "select_extents",
]

PRODUCER = "medlens.rule.pathology.extent.v1"
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_GROSS_RANK = SECTION_RANK["gross"]
_WINDOW = 40  # characters either side searched for refinement and absence words


class _Header(BaseModel):
    model_config = _FROZEN

    source: str = Field(description="Sources of the phrases.")
    licence: str = Field(description="Licence of the curation.")


class ExtentStructure(BaseModel):
    """One structure: its extent key and the words that name it."""

    model_config = _FROZEN

    key: str = Field(description="Extent key (vocabulary of medlens.guidelines.ajcc_extent).")
    terms: tuple[str, ...] = Field(min_length=1, description="Words naming the structure, lower case.")
    cues: tuple[str, ...] | None = Field(
        default=None, description="Cues accepted before this structure instead of the shared list (stricter)."
    )


class ExtentRefinement(BaseModel):
    """A sharper key when given words stand right before, or near after, the structure."""

    model_config = _FROZEN

    key: str = Field(description="Key refined.")
    to: str = Field(description="Sharper key.")
    before: tuple[str, ...] = Field(default=(), description="Words ending right before the structure ('the' allowed).")
    after: tuple[str, ...] = Field(default=(), description="Words within the window after it, same clause.")


class ExtentLexicon(BaseModel):
    """Validated ``lexicon/extent.yaml``."""

    model_config = _FROZEN

    header: _Header = Field(description="Provenance.")
    max_gap: int = Field(gt=0, description="Most characters between a cue's end and the structure.")
    structures: tuple[ExtentStructure, ...] = Field(description="Structures.")
    cues_before: tuple[str, ...] = Field(description="Cues of invasion before a structure.")
    cues_after: tuple[str, ...] = Field(description="Cues of invasion right after a structure.")
    blockers: tuple[str, ...] = Field(description="Words between cue and structure that end the statement.")
    not_after: tuple[str, ...] = Field(description="Words right after a structure that make it no extent statement.")
    absent_after: tuple[str, ...] = Field(description="Words after a structure stating it is not involved.")
    limit_before: tuple[str, ...] = Field(description="Phrases saying invasion stops inside the layer that follows.")
    refinements: tuple[ExtentRefinement, ...] = Field(description="Sharper keys from nearby words, first match wins.")


class ExtentFinding(Claim):
    """One extent statement: the structure's key, present or absent, its section and its evidence span."""

    key: str = Field(description="Extent key, refined where words near it say more (e.g. 'beyond_muscularis_propria').")
    structure: str = Field(description="Key of the structure word itself, before refinement.")
    status: Literal["present", "absent"] = Field(description="Stated as reached (present) or as not reached.")
    section: PathologySection = Field(description="Report section of the statement.")


@functools.cache
def load_extent_lexicon() -> ExtentLexicon:
    """Load ``lexicon/extent.yaml`` (cached).

    Raises:
        ConfigError: ML205 when the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.pathology", "extent.yaml", ExtentLexicon)


def _words_rx(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{phrase_alternation(phrases)})(?!\w)", re.IGNORECASE)


def _ending_rx(phrases: Iterable[str], *, joiners: bool = False) -> re.Pattern[str]:
    """Phrases ending right before the search end ('the' may follow; with ``joiners``, up to 3 of into/in/to/the/of)."""
    tail = r"(?:(?:into|in|to|the|of)\s+){0,3}" if joiners else r"(?:the\s+)?"
    return re.compile(rf"(?<!\w)(?:{phrase_alternation(phrases)})\s+{tail}\Z", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Refiner:
    key: str
    to: str
    before: re.Pattern[str] | None
    after: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    structures: re.Pattern[str]
    key_of: dict[str, str]
    cues: re.Pattern[str]
    strict_cues: dict[str, re.Pattern[str]]
    cue_after: re.Pattern[str]
    blocker: re.Pattern[str]
    not_after: re.Pattern[str]
    absent_after: re.Pattern[str]
    limit: re.Pattern[str]
    refiners: dict[str, tuple[_Refiner, ...]]
    max_gap: int


_BOUNDARY = re.compile(r"[.;!?](?=\s|$)|\n")
_CLAUSE_END = re.compile(r"[.;,]|\bmargins?\b", re.IGNORECASE)


@functools.cache
def _compiled() -> _Compiled:
    lex = load_extent_lexicon()
    key_of = {" ".join(t.lower().split()): s.key for s in lex.structures for t in s.terms}
    refiners: dict[str, list[_Refiner]] = {}
    for r in lex.refinements:
        refiners.setdefault(r.key, []).append(
            _Refiner(
                r.key,
                r.to,
                _ending_rx(r.before, joiners=True) if r.before else None,
                _words_rx(r.after) if r.after else None,
            )
        )
    return _Compiled(
        structures=_words_rx(key_of),
        key_of=key_of,
        cues=_words_rx(lex.cues_before),
        strict_cues={s.key: _words_rx(s.cues) for s in lex.structures if s.cues},
        cue_after=re.compile(rf"\s*[:\-]?\s*(?:{phrase_alternation(lex.cues_after)})(?!\w)", re.IGNORECASE),
        blocker=_words_rx(lex.blockers),
        not_after=re.compile(rf"\s*[:,\-]?\s*(?:{phrase_alternation(lex.not_after)})(?!\w)", re.IGNORECASE),
        absent_after=_words_rx(lex.absent_after),
        limit=_ending_rx(lex.limit_before),
        refiners={k: tuple(v) for k, v in refiners.items()},
        max_gap=lex.max_gap,
    )


def _sentence_start(text: str, lo: int, hi: int) -> int:
    start = lo
    for m in _BOUNDARY.finditer(text, lo, hi):
        start = m.end()
    return start


def _clause_after(text: str, end: int) -> int:
    hi = min(len(text), end + _WINDOW)
    cut = _CLAUSE_END.search(text, end, hi)
    return cut.start() if cut else hi


def _refine(c: _Compiled, key: str, text: str, lo: int, start: int, end: int, clause_end: int) -> str:
    for r in c.refiners.get(key, ()):
        if r.before is not None and r.before.search(text, max(lo, start - _WINDOW), start):
            return r.to
        if r.after is not None and r.after.search(text, end, clause_end):
            return r.to
    return key


def _negated_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
    if not spans:
        return []
    from medlens.text.analysis import analyze  # text engine: only when a report has extent candidates

    return [a.negated for a in _context().assert_targets(text, spans, analysis=analyze(text))]


@functools.cache
def _context() -> ContextEngine:
    from medlens.text.context import ContextEngine

    return ContextEngine()


def find_extents(text: str, record_id: str, *, layout: ReportLayout | None = None) -> tuple[ExtentFinding, ...]:
    """Extent statements of one report, present and absent, in text order.

    Args:
        text: The report; evidence spans index it.
        record_id: Id written into the evidence.
        layout: :func:`~medlens.pathology.sections.report_layout` of ``text`` when already computed.

    Returns:
        One finding per statement; its evidence spans the cue and the structure (``"through the muscularis
        propria"``, ``"visceral pleural invasion"``).
    """
    c = _compiled()
    # (span start, structure start, structure end, span end, structure key, refined key, limited, absent)
    raw: list[tuple[int, int, int, int, str, str, bool, bool]] = []
    for m in c.structures.finditer(text):
        s, e = m.start(), m.end()
        structure = c.key_of[" ".join(m.group(0).lower().split())]
        lo = _sentence_start(text, max(0, s - c.max_gap - _WINDOW), s)
        clause_end = _clause_after(text, e)
        after = c.cue_after.match(text, e)
        span_start, span_end = s, e
        limited = False
        limit = c.limit.search(text, lo, s) if structure == "muscularis_propria" else None
        if limit is not None:
            limited = True
            cue = _last(c.cues, text, max(lo, limit.start() - c.max_gap), limit.start())
            span_start = cue.start() if cue is not None else limit.start()
        elif after is not None:
            span_end = after.end()
        else:
            cue = _last(c.strict_cues.get(structure, c.cues), text, max(lo, s - c.max_gap), s)
            if cue is None or c.blocker.search(text, cue.end(), s) or c.not_after.match(text, e):
                continue
            span_start = cue.start()
        key = structure if limited else _refine(c, structure, text, lo, s, e, clause_end)
        absent = not limited and c.absent_after.search(text, e, clause_end) is not None
        raw.append((span_start, s, e, span_end, structure, key, limited, absent))
    if not raw:
        return ()
    negated = _negated_spans(text, [(r[1], r[2]) for r in raw])
    layout = layout or report_layout(text)
    out: list[ExtentFinding] = []
    for (start, s, _, end, structure, key, limited, absent), neg in zip(raw, negated, strict=True):
        status: Literal["present", "absent"] = "absent" if absent or (neg and not limited) else "present"
        out.append(
            ExtentFinding(
                key=key,
                structure=structure,
                status=status,
                section=layout.role_at(s),
                evidence=(Evidence.of(text, record_id, start, end, PRODUCER, explanation=f"extent {key}: {status}"),),
            )
        )
    return tuple(out)


def _last(rx: re.Pattern[str], text: str, lo: int, hi: int) -> re.Match[str] | None:
    found = None
    for m in rx.finditer(text, lo, hi):
        found = m
    return found


def select_extents(findings: Iterable[ExtentFinding]) -> tuple[ExtentFinding, ...]:
    """The present findings the T inference should use, by section rank.

    Findings of the diagnostic sections (rank above gross) are used when any is present; else those of the gross
    description. Clinical history is never used. A key stated absent in a higher-ranked section drops the same key
    (or structure) stated present in a lower-ranked one.

    Args:
        findings: What :func:`find_extents` returned.

    Returns:
        The present findings kept, in text order.
    """
    items = list(findings)
    absent_rank: dict[str, int] = {}
    for f in items:
        if f.status == "absent":
            r = SECTION_RANK.get(f.section, 0)
            for k in (f.key, f.structure):
                absent_rank[k] = max(absent_rank.get(k, 0), r)
    kept = [
        f
        for f in items
        if f.status == "present"
        and f.section != "clinical"
        and SECTION_RANK.get(f.section, 0) >= max(absent_rank.get(f.key, 0), absent_rank.get(f.structure, 0))
    ]
    diagnostic = [f for f in kept if SECTION_RANK.get(f.section, 0) > _GROSS_RANK]
    return tuple(diagnostic or [f for f in kept if SECTION_RANK.get(f.section, 0) == _GROSS_RANK])
