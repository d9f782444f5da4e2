"""Grounding verifier: does each claim's quoted evidence exist in its source, and do its numbers come from there?

An LLM backend asks the model to *quote* the words that support each claim; medlens, not the model, turns quotes
into character offsets (DESIGN.md section 4, ``ground``):

1. :meth:`GroundingIndex.resolve` finds the quote in the source: exactly first, then after normalising whitespace,
   case and typographic quotes/dashes (the offsets always index the original text), then, for a quote elided with
   ``...``, each piece in order within a short gap. A quote that is not in the source resolves to ``None``: the
   claim is dropped or flagged by the caller, never kept as if grounded.
2. :func:`missing_numbers` lists the numbers of a claim's value that do not appear in its evidence ("7.2" claimed,
   "2.7" quoted); a changed number is flagged.
3. :meth:`GroundingIndex.suspect_region` reports evidence lying on a line that addresses a language model ("ignore
   previous instructions", a fake system message, "add diagnosis: ..."; patterns in
   ``lexicon/injection_cues.yaml``): text that tries to instruct the model is not evidence for what it asks.
4. :func:`check_evidence` and :func:`check_claims` audit evidence that already has offsets (a result read back, a
   rules engine's output): a span whose text no longer matches its quote is relocated by its quote or reported.

Nothing here logs or raises with document text; issues carry codes, JSON paths and offsets only.

Issue codes (flags on a result, not raised):
    ML402  offsets do not match the quote (relocated where the quote is found elsewhere)
    ML403  quote not found in the source
    ML404  a number of the claim's value does not appear in its evidence
    ML405  empty quote, or one without a letter or digit
    ML406  evidence lies on a line that addresses the model (possible prompt injection)
    ML407  evidence names another record
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Evidence

__all__ = [
    "EvidenceCheck",
    "GroundingIndex",
    "GroundingIssue",
    "InjectionCue",
    "InjectionCues",
    "MatchMethod",
    "QuoteMatch",
    "check_claims",
    "check_evidence",
    "load_injection_cues",
    "missing_numbers",
    "numbers_in",
]

MatchMethod = Literal["exact", "normalised", "elided"]
IssueCode = Literal["ML402", "ML403", "ML404", "ML405", "ML406", "ML407"]

# Typographic variants models emit for ASCII in the source (and vice versa): same length, so offsets survive.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_WS = re.compile(r"\s+")
_HAS_WORD = re.compile(r"[^\W_]")
_ELLIPSIS = re.compile(r"\s*(?:\.{3,}|\u2026|\[\.\.\.\])\s*")
# Numbers as written: 7.2, 0.5, 1,200 (thousands), 120 of 120/80, and a minus sign where it is a sign ("-5", "( -2"),
# not a hyphen or range dash ("5-10", "T-2"): a flipped sign is a changed number.
_NUMBER = re.compile(
    r"(?:(?<![\w.,/)\-])-)?(?:(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])(?:\.\d+)?|(?<![\d.])\d+(?:\.\d+)?)"
)
_MAX_OCCURRENCES = 64  # occurrences considered when choosing the one nearest a hint
_ELISION_GAP = 300  # most characters allowed between two pieces of an elided quote


@dataclass(frozen=True, slots=True)
class QuoteMatch:
    """Where a quote was found: ``[start, end)`` in the original text and how it matched."""

    start: int
    end: int
    method: MatchMethod


class InjectionCue(BaseModel):
    """One pattern of text that addresses a language model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="Stable id of the pattern.")
    description: str = Field(description="What the pattern catches.")
    regex: str = Field(min_length=1, description="Python regular expression, matched case-insensitively.")


class InjectionCues(BaseModel):
    """The injection cue lexicon (``medlens/safety/lexicon/injection_cues.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(description="Lexicon version.")
    patterns: tuple[InjectionCue, ...] = Field(min_length=1, description="The patterns.")


@functools.cache
def load_injection_cues() -> tuple[InjectionCues, re.Pattern[str]]:
    """The injection cue lexicon and its patterns compiled into one regex (cached per process).

    Raises:
        ConfigError: ML205 if the lexicon is missing, invalid, or a pattern does not compile.
    """
    cues = load_yaml_lexicon("medlens.safety", "injection_cues.yaml", InjectionCues)
    try:
        for cue in cues.patterns:
            re.compile(cue.regex)
        combined = re.compile("|".join(f"(?:{c.regex})" for c in cues.patterns), re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        raise ConfigError(
            f"lexicon medlens.safety/lexicon/injection_cues.yaml: bad regex ({exc})", code="ML205"
        ) from exc
    return cues, combined


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lower-cased, typography-folded text with whitespace runs collapsed, and each character's source offset."""
    folded = text.translate(_TYPOGRAPHY)
    lowered = folded.lower()
    if len(lowered) != len(folded):  # a few characters lower-case to two ('İ'): map them one by one
        pieces: list[str] = []
        where: list[int] = []
        for i, ch in enumerate(folded):
            low = ch.lower()
            pieces.append(low)
            where.extend([i] * len(low))
        lowered = "".join(pieces)
    else:
        where = list(range(len(lowered)))
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _WS.finditer(lowered):
        out.append(lowered[pos : m.start()])
        index.extend(where[pos : m.start()])
        out.append(" ")
        index.append(where[m.start()])
        pos = m.end()
    out.append(lowered[pos:])
    index.extend(where[pos:])
    return "".join(out), index


def _in_token(text: str, i: int) -> bool:
    """Whether ``text[i]`` is part of a word or number (a decimal point or thousands comma between digits counts)."""
    ch = text[i]
    if ch.isalnum():
        return True
    return ch in ".," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()


def _normalise_quote(quote: str) -> str:
    return _WS.sub(" ", quote.translate(_TYPOGRAPHY).lower()).strip()


def _canonical_number(raw: str) -> str:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only matches digits
        return raw
    text = format(value.normalize(), "f")
    return text


def numbers_in(text: str) -> frozenset[str]:
    """The numbers written in ``text``, canonical (``"7.20"`` -> ``"7.2"``, ``"1,200"`` -> ``"1200"``).

    >>> sorted(numbers_in("BP 120/80, Hgb 7.20 g/dL"))
    ['120', '7.2', '80']
    """
    return frozenset(_canonical_number(m.group()) for m in _NUMBER.finditer(text))


def missing_numbers(value: str, evidence: Iterable[str]) -> tuple[str, ...]:
    """Numbers of a claim's ``value`` that appear in none of its ``evidence`` texts, in order of first appearance.

    >>> missing_numbers("7.2 g/dL", ["hemoglobin 7.2"])
    ()
    >>> missing_numbers("pT3", ["pT2 (tumour limited to the organ)"])
    ('3',)
    """
    found: set[str] = set()
    for text in evidence:
        found |= numbers_in(text)
    missing: list[str] = []
    for m in _NUMBER.finditer(value):
        number = _canonical_number(m.group())
        if number not in found and number not in missing:
            missing.append(number)
    return tuple(missing)


class GroundingIndex:
    """One record's text, prepared for resolving quotes (normalised form built on first need).

    Args:
        text: the original record text; every offset returned indexes it.
        record_id: the record's id (evidence naming another record is reported).
    """

    def __init__(self, text: str, record_id: str) -> None:
        self.text = text
        self.record_id = record_id
        self._norm: tuple[str, list[int]] | None = None
        self._suspect: list[tuple[int, int, str]] | None = None

    # -- quotes ----------------------------------------------------------------------------------------------
    def resolve(self, quote: str, *, near: int | None = None) -> QuoteMatch | None:
        """Offsets of ``quote`` in the text, or None when it is not there.

        Args:
            quote: the words the claim cites.
            near: preferred position; of several occurrences the one starting nearest wins (else the first).

        Returns:
            The match, or None for a quote that is empty, has no letter or digit, or is not in the text.
        """
        stripped = quote.strip()
        if not stripped or _HAS_WORD.search(stripped) is None:
            return None
        found = self._nearest(self._occurrences(self.text, stripped), near)
        match: QuoteMatch | None
        if found is not None:
            match = QuoteMatch(found, found + len(stripped), "exact")
        else:
            match = self._resolve_normalised(stripped, near, 0, None)
            if match is None:
                pieces = [p for p in _ELLIPSIS.split(stripped) if _HAS_WORD.search(p)]
                if len(pieces) > 1:
                    match = self._resolve_elided(pieces, near)
        return None if match is None else self._snap(match)

    def _snap(self, match: QuoteMatch) -> QuoteMatch:
        """Widen a match that starts or ends inside a word or number to the whole token ("Hgb 7" -> "Hgb 7.20").

        Otherwise a quote cut inside a number would vouch for a different number.
        """
        text = self.text
        start, end = match.start, match.end
        while start > 0 and _in_token(text, start - 1) and _in_token(text, start):
            start -= 1
        while end < len(text) and _in_token(text, end) and _in_token(text, end - 1):
            end += 1
        if (start, end) == (match.start, match.end):
            return match
        return QuoteMatch(start, end, match.method)

    @staticmethod
    def _occurrences(haystack: str, needle: str, lo: int = 0, hi: int | None = None) -> list[int]:
        found: list[int] = []
        end = len(haystack) if hi is None else hi
        i = haystack.find(needle, lo, end)
        while i >= 0 and len(found) < _MAX_OCCURRENCES:
            found.append(i)
            i = haystack.find(needle, i + 1, end)
        return found

    @staticmethod
    def _nearest(starts: list[int], near: int | None) -> int | None:
        if not starts:
            return None
        if near is None:
            return starts[0]
        return min(starts, key=lambda s: (abs(s - near), s))

    def _normalised(self) -> tuple[str, list[int]]:
        if self._norm is None:
            self._norm = _normalise(self.text)
        return self._norm

    def _resolve_normalised(self, quote: str, near: int | None, lo: int, hi: int | None) -> QuoteMatch | None:
        needle = _normalise_quote(quote)
        if not needle:
            return None
        norm, where = self._normalised()
        nlo = bisect.bisect_left(where, lo) if lo else 0
        nhi = None if hi is None else bisect.bisect_left(where, hi)
        starts = self._occurrences(norm, needle, nlo, nhi)
        if near is not None:
            starts_src = {where[s]: s for s in starts}
            best = self._nearest(list(starts_src), near)
            first = starts_src[best] if best is not None else None
        else:
            first = starts[0] if starts else None
        if first is None:
            return None
        start = where[first]
        end = where[first + len(needle) - 1] + 1
        return QuoteMatch(start, end, "normalised")

    def _resolve_elided(self, pieces: list[str], near: int | None) -> QuoteMatch | None:
        head = self.resolve(pieces[0], near=near)
        if head is None:
            return None
        end = head.end
        for piece in pieces[1:]:
            nxt = self._resolve_normalised(piece, None, end, min(len(self.text), end + _ELISION_GAP + len(piece)))
            if nxt is None:
                return None
            end = nxt.end
        return QuoteMatch(head.start, end, "elided")

    # -- injected instructions -------------------------------------------------------------------------------
    def suspect_regions(self) -> list[tuple[int, int, str]]:
        """Lines of the text holding an injection cue: ``(start, end, cue id)``, sorted."""
        if self._suspect is None:
            cues, combined = load_injection_cues()
            regions: list[tuple[int, int, str]] = []
            for m in combined.finditer(self.text):
                start = self.text.rfind("\n", 0, m.start()) + 1
                stop = self.text.find("\n", m.end())
                end = len(self.text) if stop < 0 else stop
                cue_id = next(
                    (c.id for c in cues.patterns if re.search(c.regex, m.group(), re.IGNORECASE | re.MULTILINE)),
                    "injection",
                )
                if regions and start <= regions[-1][1]:
                    prev = regions[-1]
                    regions[-1] = (prev[0], max(prev[1], end), prev[2])
                else:
                    regions.append((start, end, cue_id))
            self._suspect = regions
        return self._suspect

    def suspect_region(self, start: int, end: int) -> str | None:
        """The cue id when ``[start, end)`` overlaps a line that addresses a language model, else None."""
        for s, e, cue in self.suspect_regions():
            if s < max(end, start + 1) and start < e:
                return cue
        return None


class GroundingIssue(BaseModel):
    """One problem found with a claim's evidence. Carries no document text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: IssueCode = Field(description="ML402-ML407, see medlens.safety.grounding.")
    path: str = Field(description="JSON path of the evidence or claim, e.g. '$.findings[2].evidence[0]'.")
    message: str = Field(description="What is wrong (offsets and codes only).")


@dataclass(frozen=True)
class EvidenceCheck:
    """Result of :func:`check_evidence`: ``ok``, ``relocated`` (with the corrected evidence) or a failure."""

    status: Literal["ok", "relocated", "not_found", "empty", "wrong_record", "suspect"]
    evidence: Evidence | None
    issue: GroundingIssue | None


def check_evidence(evidence: Evidence, index: GroundingIndex, *, path: str = "$") -> EvidenceCheck:
    """Check that an evidence span quotes its record; relocate it by its quote when the offsets drifted.

    Args:
        evidence: the evidence to check.
        index: the record's grounding index.
        path: JSON path for the issue.
    """
    if evidence.record_id != index.record_id:
        issue = GroundingIssue(code="ML407", path=path, message=f"evidence names record {evidence.record_id!r}")
        return EvidenceCheck("wrong_record", None, issue)
    if _HAS_WORD.search(evidence.quote) is None:
        return EvidenceCheck("empty", None, GroundingIssue(code="ML405", path=path, message="empty quote"))
    text = index.text
    if evidence.end <= len(text) and text[evidence.start : evidence.end] == evidence.quote:
        return EvidenceCheck("ok", evidence, None)
    match = index.resolve(evidence.quote, near=evidence.start)
    if match is None:
        issue = GroundingIssue(
            code="ML403", path=path, message=f"quote of [{evidence.start}, {evidence.end}) is not in the record"
        )
        return EvidenceCheck("not_found", None, issue)
    moved = Evidence.of(
        text,
        index.record_id,
        match.start,
        match.end,
        evidence.producer,
        score=evidence.score,
        explanation=evidence.explanation,
    )
    issue = GroundingIssue(
        code="ML402",
        path=path,
        message=f"offsets [{evidence.start}, {evidence.end}) did not match the quote; relocated to "
        f"[{match.start}, {match.end}) ({match.method})",
    )
    return EvidenceCheck("relocated", moved, issue)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Evidence]]:
    if isinstance(value, Evidence):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")


def check_claims(result: BaseModel, index: GroundingIndex) -> list[GroundingIssue]:
    """Every evidence span anywhere in ``result`` checked against the record (ML402/403/405/407 issues).

    Args:
        result: a task result or any model holding :class:`~medlens.core.types.Evidence`.
        index: the record's grounding index.
    """
    issues: list[GroundingIssue] = []
    for path, evidence in _walk(result, "$"):
        check = check_evidence(evidence, index, path=path)
        if check.issue is not None:
            issues.append(check.issue)
    return issues
