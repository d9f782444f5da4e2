"""Tumour focality statements of a pathology report: one tumour (solitary) or several (multiple), with evidence.

Sites whose AJCC 8th edition T depends on the number of tumours (liver, chapter 22: solitary versus multiple
hepatocellular carcinoma, where satellite nodules and intrahepatic metastases count as multiple) need it read from
the text. Phrases live in ``lexicon/focality.yaml``. A phrase is ``absent`` when a negation cue ends right before it
("no satellite nodules") or an absence word follows it ("Satellite nodule: absent"), and skipped when an uncertainty
mark stands right before it ("?satellite lesion").

:func:`select_focality` decides: the diagnostic sections (above the gross description in
:data:`medlens.pathology.sections.SECTION_RANK`) first, the gross description only when they say nothing, clinical
history never; a present statement of multiple tumours wins over a solitary one (a solitary mass with satellite
nodules is multiple); an absent "multiple" statement ("multifocal: no") is not read as solitary.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Claim, Evidence
from medlens.pathology.schema import PathologySection
from medlens.pathology.sections import SECTION_RANK, ReportLayout, report_layout
from medlens.pathology.wordkey import phrase_alternation, phrase_pattern

__all__ = ["FocalityFinding", "FocalityLexicon", "find_focality", "load_focality_lexicon", "select_focality"]

PRODUCER = "medlens.rule.pathology.focality.v1"
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_GROSS_RANK = SECTION_RANK["gross"]


class _Header(BaseModel):
    model_config = _FROZEN

    source: str = Field(description="Sources of the phrases.")
    licence: str = Field(description="Licence of the curation.")


class FocalityLexicon(BaseModel):
    """Validated ``lexicon/focality.yaml``."""

    model_config = _FROZEN

    header: _Header = Field(description="Provenance.")
    solitary: tuple[str, ...] = Field(min_length=1, description="Phrases stating one tumour.")
    multiple: tuple[str, ...] = Field(min_length=1, description="Phrases stating several tumours.")
    negation_before: tuple[str, ...] = Field(description="Cues ending right before a phrase: stated absent.")
    absent_after: tuple[str, ...] = Field(description="Words right after a phrase: stated absent.")
    uncertain_before: tuple[str, ...] = Field(description="Marks or cues right before a phrase: not used.")


class FocalityFinding(Claim):
    """One focality statement: solitary or multiple, present or absent, its section and evidence span."""

    value: Literal["solitary", "multiple"] = Field(description="What the phrase states.")
    status: Literal["present", "absent"] = Field(description="Stated (present) or negated (absent).")
    section: PathologySection = Field(description="Report section of the statement.")


@functools.cache
def load_focality_lexicon() -> FocalityLexicon:
    """Load ``lexicon/focality.yaml`` (cached).

    Raises:
        ConfigError: ML205 when the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.pathology", "focality.yaml", FocalityLexicon)


@dataclass(frozen=True, slots=True)
class _Compiled:
    phrases: re.Pattern[str]
    multiple: frozenset[str]
    negated_before: re.Pattern[str]
    absent_after: re.Pattern[str]
    uncertain_before: re.Pattern[str]


def _norm(phrase: str) -> str:
    return " ".join(phrase.lower().replace(":", " : ").split())


@functools.cache
def _compiled() -> _Compiled:
    lex = load_focality_lexicon()
    all_phrases = (*lex.solitary, *lex.multiple)
    words = "|".join(phrase_pattern(p) for p in sorted(lex.negation_before, key=len, reverse=True))
    uncertain = "|".join(
        re.escape(p) if not p[0].isalnum() else phrase_pattern(p) + r"\s+"
        for p in sorted(lex.uncertain_before, key=len, reverse=True)
    )
    return _Compiled(
        phrases=re.compile(rf"(?<!\w)(?:{phrase_alternation(all_phrases)})(?!\w)", re.IGNORECASE),
        multiple=frozenset(_norm(p) for p in lex.multiple),
        negated_before=re.compile(rf"(?<!\w)(?:{words})\s+(?:[\w-]+\s+){{0,2}}\Z", re.IGNORECASE),
        absent_after=re.compile(
            rf"\s*[:\-]?\s*(?:{'|'.join(phrase_pattern(p) for p in lex.absent_after)})(?!\w)", re.IGNORECASE
        ),
        uncertain_before=re.compile(rf"(?:{uncertain})\s*\Z", re.IGNORECASE),
    )


def find_focality(text: str, record_id: str, *, layout: ReportLayout | None = None) -> tuple[FocalityFinding, ...]:
    """Focality statements of one report, present and absent, in text order.

    Args:
        text: The report; evidence spans index it.
        record_id: Id written into the evidence.
        layout: :func:`~medlens.pathology.sections.report_layout` of ``text`` when already computed.

    Returns:
        One finding per phrase; its evidence spans the phrase (and the absence word after it, when there is one).
    """
    c = _compiled()
    out: list[FocalityFinding] = []
    for m in c.phrases.finditer(text):
        s, e = m.start(), m.end()
        before = text[max(0, s - 40) : s]
        if c.uncertain_before.search(before):
            continue
        value: Literal["solitary", "multiple"] = "multiple" if _norm(m.group(0)) in c.multiple else "solitary"
        after = c.absent_after.match(text, e)
        absent = after is not None or c.negated_before.search(before) is not None
        end = after.end() if after is not None else e
        layout = layout or report_layout(text)
        status: Literal["present", "absent"] = "absent" if absent else "present"
        out.append(
            FocalityFinding(
                value=value,
                status=status,
                section=layout.role_at(s),
                evidence=(Evidence.of(text, record_id, s, end, PRODUCER, explanation=f"focality {value}: {status}"),),
            )
        )
    return tuple(out)


def select_focality(findings: Iterable[FocalityFinding]) -> FocalityFinding | None:
    """The statement that decides the focality, or None when the report states none.

    Args:
        findings: What :func:`find_focality` returned.

    Returns:
        A present "multiple" finding when there is one, else a present "solitary" finding, from the diagnostic
        sections when they state any, else from the gross description; never from clinical history.
    """
    present = [f for f in findings if f.status == "present" and f.section != "clinical"]
    diagnostic = [f for f in present if SECTION_RANK.get(f.section, 0) > _GROSS_RANK]
    pool = diagnostic or [f for f in present if SECTION_RANK.get(f.section, 0) == _GROSS_RANK]
    return next((f for f in pool if f.value == "multiple"), None) or next(iter(pool), None)
