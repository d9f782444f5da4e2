"""BI-RADS: the assessment category a breast imaging report states, and whether its recommendation agrees.

Source: ACR BI-RADS Atlas, 5th edition (2013), assessment categories and the management each implies. The table and
the cue phrases live in ``lexicon/birads.yaml``. The engine does not assess images: it reads the category the
radiologist wrote ("BI-RADS 4A", "BIRADS Classification 2", "BI-RADS category M/5") and the recommendation
sentences, and flags explicit contradictions (e.g. category 1 or 2 with a biopsy recommended) for review.

Decision support for review by a qualified reader, not for diagnostic use on its own. Evidence offsets are
character offsets into the text given; no text is logged.

Example:
    >>> res = birads_assessment("IMPRESSION: BI-RADS 2, benign. Biopsy is recommended.")
    >>> (res.category, res.consistent, res.rule)
    ('2', False, 'discordant.2.biopsy')
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.guidelines.schema import Citation, LexiconHeader

__all__ = [
    "BiradsCategoryRow",
    "BiradsMention",
    "BiradsResult",
    "BiradsTable",
    "RecommendationKind",
    "RecommendationMention",
    "birads_assessment",
    "load_birads_table",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_CITATION = Citation(
    guideline="ACR BI-RADS Atlas (D'Orsi CJ, et al., American College of Radiology 2013)",
    version="5th edition",
    table="assessment categories and management",
)

RecommendationKind = Literal["biopsy", "excision", "short_interval", "additional_imaging", "routine_screening"]
BiradsCategory = Literal["0", "1", "2", "3", "4", "5", "6"]
_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
# "BI-RADS", "BIRADS", "BI RADS", optional "(R)", then optional words (final, assessment, category, classification),
# optional separator, an optional modality prefix ("M/" on MRI reports), then the digit or number word and an
# optional 4A/4B/4C subcategory not glued to a following word ("5There" is category 5).
_MENTION = re.compile(
    r"\bBI[-\s]?RADS(?:\s*\u00ae)?"
    r"(?:\s+(?:final|overall|assessment|category|categories|classification|score))*"
    r"\s*[:#\-\u2013=]?\s*(?:[A-Z]{1,3}\s*/\s*)?"
    r"(?P<cat>[0-6](?![0-9])|zero|one|two|three|four|five|six)(?P<sub>[ABC](?![A-Za-z]))?",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[!?;\n]|(?<!\d)\.|\.(?!\d)")


class BiradsCategoryRow(BaseModel):
    """One assessment category and its management."""

    model_config = _FROZEN

    category: BiradsCategory = Field(description="Assessment category 0-6.")
    name: str = Field(description="Short name.")
    management: RecommendationKind = Field(description="The management the category implies.")
    discordant: tuple[RecommendationKind, ...] = Field(description="Recommendations flagged as contradicting it.")


class BiradsTable(BaseModel):
    """Validated content of ``lexicon/birads.yaml``."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    categories: tuple[BiradsCategoryRow, ...] = Field(description="Categories 0-6.")
    actions: dict[RecommendationKind, str] = Field(description="Regex per recommendation kind.")
    recommendation_cue: str = Field(description="Regex: a sentence states a recommendation.")
    negation_cue: str = Field(description="Regex: the sentence negates its action.")


class BiradsMention(BaseModel):
    """A stated category, with its evidence offsets."""

    model_config = _FROZEN

    category: BiradsCategory = Field(description="Category 0-6.")
    subcategory: Literal["4A", "4B", "4C"] | None = Field(description="Category 4 subdivision when stated.")
    start: int = Field(description="Start offset in the text.")
    end: int = Field(description="End offset in the text.")
    quote: str = Field(description="text[start:end].")


class RecommendationMention(BaseModel):
    """A recommended action, with its evidence offsets."""

    model_config = _FROZEN

    kind: RecommendationKind = Field(description="Kind of recommendation.")
    start: int = Field(description="Start offset of the action phrase.")
    end: int = Field(description="End offset of the action phrase.")
    quote: str = Field(description="text[start:end].")


class BiradsResult(BaseModel):
    """Stated BI-RADS category and assessment/recommendation concordance (decision support)."""

    model_config = _FROZEN

    category: BiradsCategory | None = Field(description="The stated category when all mentions agree, else None.")
    rule: str = Field(description="What decided: 'concordant', 'discordant.<cat>.<kind>', or an insufficient rule.")
    consistent: bool | None = Field(description="False when a discordance was found; None when not checkable.")
    mentions: tuple[BiradsMention, ...] = Field(description="Every stated category.")
    recommendations: tuple[RecommendationMention, ...] = Field(
        description="Every recommended action found (only searched when a category is stated)."
    )
    flags: tuple[str, ...] = Field(description="One line per discordance, for the reviewer.")
    citation: Citation = Field(description="Guideline, version, table.")
    reasons: tuple[str, ...] = Field(description="Steps.")


class _Compiled:
    def __init__(self, table: BiradsTable) -> None:
        self.table = table
        self.by_category = {row.category: row for row in table.categories}
        self.actions = {kind: re.compile(rx, re.IGNORECASE) for kind, rx in table.actions.items()}
        self.cue = re.compile(table.recommendation_cue, re.IGNORECASE)
        self.negation = re.compile(table.negation_cue, re.IGNORECASE)


@functools.cache
def load_birads_table() -> BiradsTable:
    """Load and validate the packaged BI-RADS table (cached).

    Raises:
        ConfigError: ML205 if the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.guidelines", "birads.yaml", BiradsTable)


@functools.cache
def _compiled() -> _Compiled:
    return _Compiled(load_birads_table())


def _mentions(text: str) -> list[BiradsMention]:
    out: list[BiradsMention] = []
    for m in _MENTION.finditer(text):
        raw = m.group("cat").lower()
        cat = _WORDS.get(raw, raw)
        sub = m.group("sub")
        subcategory: Literal["4A", "4B", "4C"] | None = None
        if sub and cat == "4":
            subcategory = "4A" if sub.upper() == "A" else "4B" if sub.upper() == "B" else "4C"
        end = m.end("sub") if subcategory else m.end("cat")
        out.append(
            BiradsMention(
                category=cat,  # the regex admits only 0-6
                subcategory=subcategory,
                start=m.start(),
                end=end,
                quote=text[m.start() : end],
            )
        )
    return out


def _recommendations(text: str, compiled: _Compiled, reasons: list[str]) -> list[RecommendationMention]:
    out: list[RecommendationMention] = []
    start = 0
    bounds = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for end in bounds:
        sentence = text[start:end]
        if sentence.strip() and compiled.cue.search(sentence):
            negated = compiled.negation.search(sentence) is not None
            for kind, rx in compiled.actions.items():
                for m in rx.finditer(sentence):
                    if negated:
                        reasons.append(f"{kind} in a negated sentence at {start + m.start()}: not counted")
                        continue
                    out.append(
                        RecommendationMention(kind=kind, start=start + m.start(), end=start + m.end(), quote=m.group(0))
                    )
        start = end
    return out


def birads_assessment(text: str) -> BiradsResult:
    """Extract the stated BI-RADS category from a report and check it against the recommendation.

    Args:
        text: Report text (any length); offsets in the result index into it.

    Returns:
        The frozen result. ``consistent`` is None when no category is stated or mentions disagree, or when no
        recommendation sentence was found; False when a recommendation contradicts a stated category.
    """
    compiled = _compiled()
    reasons: list[str] = []
    mentions = tuple(_mentions(text))
    # Recommendations matter only beside a stated category; skipping the scan keeps non-breast notes cheap.
    recs = tuple(_recommendations(text, compiled, reasons)) if mentions else ()

    def result(category: BiradsCategory | None, rule: str, consistent: bool | None, flags: list[str]) -> BiradsResult:
        return BiradsResult(
            category=category,
            rule=rule,
            consistent=consistent,
            mentions=mentions,
            recommendations=recs,
            flags=tuple(flags),
            citation=_CITATION,
            reasons=tuple(reasons),
        )

    if not mentions:
        reasons.append("no BI-RADS category stated")
        return result(None, "insufficient.no_category", None, [])
    stated = sorted({m.category for m in mentions})
    category: BiradsCategory | None = stated[0] if len(stated) == 1 else None
    if category is None:
        reasons.append(f"several categories stated ({', '.join(stated)}): checked each against the recommendations")
    if not recs:
        reasons.append("no recommendation sentence found: concordance not checkable")
        return result(category, "insufficient.no_recommendation", None, [])
    kinds = {r.kind for r in recs}
    flags: list[str] = []
    first_rule = ""
    for cat in stated:
        row = compiled.by_category[cat]
        for kind in row.discordant:
            # More than the category calls for (a biopsy after BI-RADS 2) is always flagged; routine screening
            # beside the category's own management (biopsy, then screening if benign) is a mixed report, not a
            # contradiction, so it is flagged only when the category's management is missing.
            if kind in kinds and (kind != "routine_screening" or row.management not in kinds):
                flags.append(
                    f"BI-RADS {cat} ({row.name}) implies {row.management.replace('_', ' ')}, "
                    f"but {kind.replace('_', ' ')} is recommended"
                )
                first_rule = first_rule or f"discordant.{cat}.{kind}"
    if flags:
        reasons.extend(flags)
        return result(category, first_rule, False, flags)
    reasons.append(f"recommendations {sorted(kinds)} agree with category {', '.join(stated)}")
    return result(category, "concordant", True, flags)
