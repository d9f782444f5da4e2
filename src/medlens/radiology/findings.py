"""radiology.findings, rules backend: nodules, masses and other lesions as structured objects, with evidence.

One pass per report:

1. ``analyze(text)`` and :func:`~medlens.radiology.report_sections.report_sections`: only the findings, the
   impression and un-sectioned text produce findings (the indication says why the study was done, the technique
   names slice thicknesses).
2. One Aho-Corasick pass (:class:`~medlens.text.phrases.PhraseMatcher`) over every word list of
   ``lexicon/findings.yaml`` (lesion words, locations, segments, composition, margins, change, counts, cues) and one
   regex pass for sizes (``6 mm``, ``1.2 x 0.9 cm``, ``8x6mm``, ``3 x 4 x 5 mm``: the unit may be shared by the
   dimensions before it; cm are converted to mm).
3. Each lesion word gets a window in its sentence: back to the previous lesion word or a clause stop (``and``,
   ``but``, ``;``), forward to the next lesion's window or a clause stop. The words in the window set its size, count,
   location, composition, solid component, margins and change; a size after a prior cue ("previously", "from",
   "compared with") up to a current cue ("now", "to") is the prior size, and the first date after it the prior date.
4. One :meth:`ContextEngine.assert_targets` call over the lesion words (the text engine's cues plus the radiology
   cues of ``lexicon/radiology_context.yaml``): "No suspicious pulmonary nodules" is kept, negated.
5. Sizes in those sections that no lesion took become :class:`Measurement` s, named by the words before them
   ("the ascending aorta measures 4.2 cm"), unless they describe the scan ("1.25 mm slices").
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Assertion, Document, Evidence
from medlens.radiology.findings_schema import (
    ChangeValue,
    Dimension,
    Lesion,
    LesionAttribute,
    LesionChange,
    LesionLocation,
    MeanDiameterMethod,
    Measurement,
    RadiologyFindingsResult,
)
from medlens.radiology.labels_lexicon import load_radiology_context, load_section_roles
from medlens.radiology.report_sections import ReportSections, report_sections
from medlens.radiology.schema import ReportSectionRole
from medlens.text.analysis import TextAnalysis, analyze
from medlens.text.context import ContextEngine
from medlens.text.dates import find_dates
from medlens.text.lexicon_models import ContextLexicon, load_context_lexicon
from medlens.text.measurements import ucum_code
from medlens.text.phrases import PhraseMatcher, abbreviation_variants, phrase_variants, plural_variants, word_key

__all__ = [
    "FindingsLexicon",
    "RadiologyFindingsRules",
    "load_findings_lexicon",
    "mean_diameter",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_RULE_VERSION = 1
_PRODUCER = "medlens.rule.radiology.findings"


# ---------------------------------------------------------------------------------------------------------------
# Lexicon


class _LesionWords(BaseModel):
    model_config = _FROZEN
    kind: str = Field(description="Normalised lesion kind.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Singular spellings (regular plurals are added).")
    plurals: tuple[str, ...] = Field(default=(), description="Irregular plural spellings ('masses').")


class _LocationWords(BaseModel):
    model_config = _FROZEN
    phrases: tuple[str, ...] = Field(min_length=1, description="Spellings.")
    lobe: Literal["RUL", "RML", "RLL", "LUL", "LLL", "lingula"] | None = Field(default=None, description="Lobe.")
    laterality: Literal["left", "right", "bilateral"] | None = Field(default=None, description="Side.")
    organ: str | None = Field(default=None, description="Organ.")


class _SegmentWords(BaseModel):
    model_config = _FROZEN
    segment: str = Field(description="Segment name written into results.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Spellings.")


class _ValueWords(BaseModel):
    model_config = _FROZEN
    value: str = Field(description="Normalised value written into results.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Spellings.")


class _ChangeWords(BaseModel):
    model_config = _FROZEN
    value: ChangeValue = Field(description="Normalised change.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Spellings.")


class _CountWords(BaseModel):
    model_config = _FROZEN
    exact: dict[str, int | None] = Field(description="Count word -> number (null: several, number unknown).")
    multiple: tuple[str, ...] = Field(description="Words that say 'more than one'.")


class FindingsLexicon(BaseModel):
    """The whole ``lexicon/findings.yaml`` (see its header for the sources)."""

    model_config = _FROZEN

    version: int = Field(ge=1, description="Version of the file.")
    source: str = Field(description="Where the words come from.")
    licence: str = Field(description="Licence of the file.")
    lesions: tuple[_LesionWords, ...] = Field(min_length=1, description="Lesion head words by kind.")
    locations: tuple[_LocationWords, ...] = Field(description="Location words.")
    segments: tuple[_SegmentWords, ...] = Field(description="Lung segment words.")
    composition: tuple[_ValueWords, ...] = Field(description="Composition words.")
    solid_component: tuple[str, ...] = Field(description="Words naming a part-solid nodule's solid component.")
    margins: tuple[_ValueWords, ...] = Field(description="Margin words.")
    change: tuple[_ChangeWords, ...] = Field(description="Change-versus-prior words.")
    counts: _CountWords = Field(description="Count words.")
    prior_cues: tuple[str, ...] = Field(description="Words after which a size is the prior size.")
    current_cues: tuple[str, ...] = Field(description="Words after which a size is the current size again.")
    largest_cues: tuple[str, ...] = Field(description="Words that make a size that of the largest lesion.")
    measurement_exclusions: tuple[str, ...] = Field(description="Words after a size that describe the scan.")
    measurement_fillers: tuple[str, ...] = Field(description="Words trimmed from a measured structure's end.")
    measurement_after_stops: tuple[str, ...] = Field(
        description="Words after a size that do not name a structure ('in diameter', 'above the carina')."
    )


@functools.cache
def load_findings_lexicon() -> FindingsLexicon:
    """The packaged ``lexicon/findings.yaml``, validated (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable or invalid.
    """
    return load_yaml_lexicon("medlens.radiology", "findings.yaml", FindingsLexicon)


# ---------------------------------------------------------------------------------------------------------------
# Sizes

_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_UNIT = r"(?:[ \t]?-?[ \t]?(mm|cm|millimet(?:er|re)s?|centimet(?:er|re)s?)(?![A-Za-z0-9]))"
_BY = r"\s*(?:x|×|\*|by)\s*"
_SIZE = re.compile(rf"(?<![\w.]){_NUM}{_UNIT}?(?:{_BY}{_NUM}{_UNIT}?)?(?:{_BY}{_NUM}{_UNIT}?)?", re.IGNORECASE)
_TO_MM = {"mm": 1.0, "cm": 10.0}


@dataclass(frozen=True, slots=True)
class _Dim:
    start: int
    end: int
    value: float
    unit: str  # UCUM: mm or cm


@dataclass(frozen=True, slots=True)
class _Size:
    start: int
    end: int
    dims: tuple[_Dim, ...]


def _sizes(text: str, lo: int, hi: int) -> list[_Size]:
    """Sizes in ``text[lo:hi]``: 1-3 numbers joined by 'x'/'by', the last one with a length unit."""
    out: list[_Size] = []
    for m in _SIZE.finditer(text, lo, hi):
        parts: list[tuple[int, int, str, str | None]] = []
        for k in (1, 3, 5):
            raw = m.group(k)
            if raw is None:
                break
            unit = m.group(k + 1)
            end = m.end(k + 1) if unit is not None else m.end(k)
            parts.append((m.start(k), end, raw, unit))
        # A trailing number without a unit ("8 mm x 6") is not part of the size.
        while parts and parts[-1][3] is None:
            parts.pop()
        if not parts:
            continue
        dims: list[_Dim] = []
        shared: str | None = None
        for s, e, raw, unit in reversed(parts):
            if unit is not None:
                shared = ucum_code(unit)
            value = float(raw)
            if shared not in _TO_MM or value <= 0:
                dims = []
                break
            dims.append(_Dim(s, e, value, shared))
        if dims:
            dims.reverse()
            out.append(_Size(dims[0].start, dims[-1].end, tuple(dims)))
    return out


def _round1(x: float) -> float:
    return float(Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def mean_diameter(dims_mm: Sequence[float]) -> tuple[float, MeanDiameterMethod] | None:
    """Mean diameter of a lesion from its written dimensions, mm, rounded to 0.1 mm, and how it was computed.

    Lung-RADS v2022 and the Fleischner Society 2017 guideline both use the average of the long and short axis.
    One dimension: itself. Two: their average. Three: the average of the two largest (taken as long and short axis).

    Args:
        dims_mm: 1-3 dimensions in mm.

    Returns:
        ``(mean, method)``, or None for no or more than three dimensions.

    Example:
        >>> mean_diameter([8.0, 6.0])
        (7.0, 'mean_long_short_axis')
    """
    if len(dims_mm) == 1:
        return _round1(dims_mm[0]), "single_dimension"
    if len(dims_mm) == 2:
        return _round1((dims_mm[0] + dims_mm[1]) / 2), "mean_long_short_axis"
    if len(dims_mm) == 3:
        a, b = sorted(dims_mm, reverse=True)[:2]
        return _round1((a + b) / 2), "mean_two_largest_of_three"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Compiled lexicon

# Match values: (category, index). Categories: lesion, loc, seg, comp, solid, margin, change, count, multiple, prior,
# current, largest, exclude.
_Value = tuple[str, int]
_PRE_STOP = re.compile(r"[;:]|\b(?:and|but|however|whereas|although|or)\b", re.IGNORECASE)
_POST_STOP = re.compile(
    r"[;:]|\b(?:but|however|whereas|although|also)\b|\b(?:and|or)\s+(?:the|there|a|an|no|is|are|another)\b",
    re.IGNORECASE,
)
_PRE_CHARS = 90
_POST_CHARS = 140
_COUNT_DIGITS = re.compile(r"(?<![\w.])(\d{1,2})\s+(?:[A-Za-z][\w\-]*\s+){0,3}\Z")
_WORDS = re.compile(r"[A-Za-z][\w\-/]*")
_CLAUSE_BEFORE = re.compile(r"[,;:()]")


class _Compiled:
    def __init__(self, lex: FindingsLexicon) -> None:
        self.lex = lex
        matcher: PhraseMatcher[_Value] = PhraseMatcher()
        self.kinds: list[str] = []
        self.singular: set[str] = set()
        for i, group in enumerate(lex.lesions):
            self.kinds.append(group.kind)
            for phrase in group.phrases:
                if phrase.isupper():
                    matcher.add_all(abbreviation_variants(phrase), ("lesion", i), case_sensitive=True)
                    self.singular.add(word_key(phrase))
                    continue
                for variant in phrase_variants(phrase):
                    self.singular.add(word_key(variant))
                    matcher.add_all(plural_variants(variant), ("lesion", i))
            for phrase in group.plurals:
                for variant in phrase_variants(phrase):
                    matcher.add(variant, ("lesion", i))

        def add(phrases: Sequence[str], value: _Value) -> None:
            for phrase in phrases:
                if phrase.isupper() and len(phrase) <= 4:
                    matcher.add(phrase, value, case_sensitive=True)
                else:
                    for variant in phrase_variants(phrase):
                        matcher.add(variant, value)

        for i, loc in enumerate(lex.locations):
            add(loc.phrases, ("loc", i))
        for i, seg in enumerate(lex.segments):
            add(seg.phrases, ("seg", i))
        for i, comp in enumerate(lex.composition):
            add(comp.phrases, ("comp", i))
        add(lex.solid_component, ("solid", 0))
        for i, mar in enumerate(lex.margins):
            add(mar.phrases, ("margin", i))
        for i, chg in enumerate(lex.change):
            add(chg.phrases, ("change", i))
        self.counts: list[int | None] = []
        for word, n in lex.counts.exact.items():
            add([word], ("count", len(self.counts)))
            self.counts.append(n)
        add(lex.counts.multiple, ("multiple", 0))
        add(lex.prior_cues, ("prior", 0))
        add(lex.current_cues, ("current", 0))
        add(lex.largest_cues, ("largest", 0))
        add(lex.measurement_exclusions, ("exclude", 0))
        matcher.build()
        self.matcher = matcher
        fillers = sorted((re.escape(f) for f in lex.measurement_fillers), key=len, reverse=True)
        self.trailing_fillers = re.compile(r"(?:(?<!\w)(?:" + "|".join(fillers) + r")(?!\w)[\s,]*)+\Z", re.IGNORECASE)
        self.after_stops = frozenset(w.lower() for w in lex.measurement_after_stops)
        self.structure_after = re.compile(r"[ \t]+([A-Za-z][\w\-]*)(?:[ \t]+[A-Za-z][\w\-]*){0,2}")
        self.leading_fillers = re.compile(r"(?:(?:the|a|an|and|with|there|is|are|of|which)(?!\w)\s*)+", re.IGNORECASE)
        base = load_context_lexicon()
        extra = load_radiology_context()
        try:
            merged = ContextLexicon(version=base.version, settings=base.settings, rules=(*base.rules, *extra.rules))
        except ValidationError as exc:  # pragma: no cover - the packaged files are tested together
            raise ConfigError(
                "lexicon medlens.radiology/lexicon/radiology_context.yaml conflicts with the text engine's cue "
                f"lexicon: {exc}",
                code="ML205",
            ) from exc
        self.context = ContextEngine(merged)


@functools.cache
def _compiled() -> _Compiled:
    return _Compiled(load_findings_lexicon())


@dataclass(frozen=True, slots=True)
class _Item:
    start: int
    end: int
    cat: str
    idx: int


_COORDINATED = re.compile(r"\s*(?:,|,?\s*(?:and|or|and/or)(?!\w))\s*", re.IGNORECASE)


def _share_coordinated(text: str, heads: list[_Item], lesions: list[Lesion]) -> None:
    """'nodules and masses are smaller', 'calcified nodules and granulomas': coordinated lesions share attributes."""
    for i in range(len(lesions) - 2, -1, -1):
        if _COORDINATED.fullmatch(text, heads[i].end, heads[i + 1].start) is None:
            continue
        nxt, cur = lesions[i + 1], lesions[i]
        # Post-modifiers of the last lesion hold for the ones before it; pre-modifiers of the first for the next.
        for field in ("change", "location"):
            if getattr(cur, field) is None and getattr(nxt, field) is not None:
                lesions[i] = cur = cur.model_copy(update={field: getattr(nxt, field)})
        for field in ("location",):
            if getattr(nxt, field) is None and getattr(cur, field) is not None:
                lesions[i + 1] = nxt.model_copy(update={field: getattr(cur, field)})
        if not nxt.composition and cur.composition:
            lesions[i + 1] = lesions[i + 1].model_copy(update={"composition": cur.composition})


class RadiologyFindingsRules:
    """Deterministic, offline lesion and measurement extraction for radiology reports.

    Args:
        sections: report section roles whose text produces findings (default: findings, impression, body).
        keep_negated: keep negated lesion statements ("no suspicious nodules") with ``assertion.negated`` set
            (default True); False drops them.

    Raises:
        ConfigError: ML201 for an unknown section role; ML205 for a missing or invalid lexicon.
    """

    name = "medlens.task.radiology.findings.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.radiology.findings",)

    def __init__(self, *, sections: Sequence[str] | None = None, keep_negated: bool = True) -> None:
        roles = load_section_roles()
        valid = ("findings", "impression", "body", "indication", "comparison", "technique", "exam", "other")
        if sections is not None:
            unknown = sorted(set(sections) - set(valid))
            if unknown or not sections:
                raise ConfigError(
                    f"unknown report section role(s) {unknown or '(none given)'} for radiology.findings; valid: "
                    f"{', '.join(valid)}",
                    code="ML201",
                )
            roles = roles.model_copy(update={"labeling_roles": tuple(sections)})
        self._roles = roles
        self._res = _compiled()
        self._keep_negated = keep_negated

    def __call__(self, batch: Sequence[Document]) -> list[RadiologyFindingsResult]:
        """One result per document, in order."""
        out = []
        for doc in batch:
            lesions, measurements = self.extract(doc.text, doc.id)
            out.append(
                RadiologyFindingsResult(
                    name=self.name, backend=self.backend, lesions=tuple(lesions), measurements=tuple(measurements)
                )
            )
        return out

    # ------------------------------------------------------------------ extraction
    def extract(self, text: str, record_id: str) -> tuple[list[Lesion], list[Measurement]]:
        """Lesions and other measurements of one report, in text order.

        Args:
            text: the report.
            record_id: id written into every evidence span.
        """
        res = self._res
        analysis = analyze(text)
        sections = report_sections(analysis, roles=self._roles)
        items: list[_Item] = []
        for match in res.matcher.find(text):
            if not sections.labels_at(match.start):
                continue
            for cat, idx in match.values:
                items.append(_Item(match.start, match.end, cat, idx))
        sizes = [s for s in _sizes(text, 0, len(text)) if sections.labels_at(s.start) and sections.labels_at(s.end - 1)]
        heads = [it for it in items if it.cat == "lesion"]
        if not heads and not sizes:
            return [], []
        item_starts = [it.start for it in items]
        size_starts = [s.start for s in sizes]
        windows = self._windows(text, analysis, heads)
        assertions = res.context.assert_targets(text, [(h.start, h.end) for h in heads], analysis=analysis)
        used: set[int] = set()
        lesions: list[Lesion] = []
        kept: list[_Item] = []
        for head, (lo, hi), assertion in zip(heads, windows, assertions, strict=True):
            if assertion.negated and not self._keep_negated:
                continue
            i0, i1 = bisect.bisect_left(item_starts, lo), bisect.bisect_left(item_starts, hi)
            s0, s1 = bisect.bisect_left(size_starts, lo), bisect.bisect_left(size_starts, hi)
            window_sizes = [(k, sizes[k]) for k in range(s0, s1) if sizes[k].end <= hi]
            lesion = self._lesion(
                text,
                record_id,
                head,
                lo,
                hi,
                [it for it in items[i0:i1] if it.end <= hi and it is not head],
                window_sizes,
                used,
                assertion,
                sections.at(head.start).role,
            )
            lesions.append(lesion)
            kept.append(head)
        _share_coordinated(text, kept, lesions)
        measurements = self._measurements(text, record_id, analysis, sections, items, sizes, used)
        return lesions, measurements

    def _windows(self, text: str, analysis: TextAnalysis, heads: list[_Item]) -> list[tuple[int, int]]:
        """The ``[lo, hi)`` window of each lesion word: its attributes are read there."""
        pre: list[int] = []
        for i, h in enumerate(heads):
            s0, _ = analysis.sentence_at(h.start)
            lo = max(s0, h.start - _PRE_CHARS)
            if i and heads[i - 1].end > lo:
                lo = heads[i - 1].end
            for stop in _PRE_STOP.finditer(text, lo, h.start):
                lo = stop.end()
            pre.append(lo)
        out: list[tuple[int, int]] = []
        for i, h in enumerate(heads):
            _, s1 = analysis.sentence_at(h.start)
            hi = min(max(s1, h.end), h.end + _POST_CHARS)
            if i + 1 < len(heads) and pre[i + 1] < hi:
                hi = max(pre[i + 1], h.end)
            post_stop = _POST_STOP.search(text, h.end, hi)
            if post_stop is not None:
                hi = post_stop.start()
            out.append((pre[i], hi))
        return out

    def _lesion(
        self,
        text: str,
        rid: str,
        head: _Item,
        lo: int,
        hi: int,
        items: list[_Item],
        sizes: list[tuple[int, _Size]],
        used: set[int],
        assertion: Assertion,
        role: ReportSectionRole,
    ) -> Lesion:
        res = self._res
        lex = res.lex
        kind = res.kinds[head.idx]
        head_text = text[head.start : head.end]
        plural = word_key(head_text) not in res.singular
        spans: list[tuple[int, int]] = [(head.start, head.end)]
        # Count: the count word nearest before the lesion word.
        count: int | None = None
        multiple = plural
        for it in items:
            if it.start < head.start and it.cat == "count":
                count = res.counts[it.idx]
                spans.append((it.start, it.end))
            elif it.start < head.start and it.cat == "multiple":
                multiple = True
                spans.append((it.start, it.end))
        if count is None:
            m = _COUNT_DIGITS.search(text, lo, head.start)
            if m is not None and not any(s.start <= m.start(1) < s.end for _, s in sizes):
                count = int(m.group(1)) or None
        if count is not None and count > 1:
            multiple = True
        # Sizes: current, prior, solid component; the first of each counts.
        current: _Size | None = None
        prior: _Size | None = None
        solid: _Size | None = None
        size_of: Literal["lesion", "largest"] | None = None
        cues = [it for it in items if it.cat in ("prior", "current", "largest", "solid")]
        for k, size in sizes:
            if k in used:
                continue
            role_of = self._size_role(text, size, cues, head)
            if role_of == "solid" and solid is None:
                solid = size
            elif role_of == "prior" and prior is None:
                prior = size
            elif role_of in ("current", "largest") and current is None:
                current = size
                size_of = "largest" if role_of == "largest" else "lesion"
            else:
                continue
            used.add(k)
            spans.append((size.start, size.end))
        dims = tuple(self._dimension(text, rid, d) for d in current.dims) if current is not None else ()
        mean = mean_diameter([d.value_mm for d in dims]) if dims else None
        # Location, composition, margins, change.
        location = self._location(text, rid, [it for it in items if it.cat in ("loc", "seg")], spans)
        composition = self._attributes(text, rid, [it for it in items if it.cat == "comp"], lex.composition, spans)
        margins = self._attributes(text, rid, [it for it in items if it.cat == "margin"], lex.margins, spans)
        change = self._change(text, rid, [it for it in items if it.cat == "change"], prior, mean, hi, spans)
        if change is None and prior is not None:
            change = self._change(text, rid, [], prior, mean, hi, spans)
        solid_dim = self._dimension(text, rid, solid.dims[0]) if solid is not None and len(solid.dims) == 1 else None
        lo_span = min(s for s, _ in spans)
        hi_span = max(e for _, e in spans)
        evidence = [Evidence.of(text, rid, head.start, head.end, f"{_PRODUCER}.lesion.{kind}.v{_RULE_VERSION}")]
        if (lo_span, hi_span) != (head.start, head.end):
            evidence.append(
                Evidence.of(
                    text, rid, lo_span, hi_span, f"{_PRODUCER}.phrase.v{_RULE_VERSION}", explanation="lesion phrase"
                )
            )
        return Lesion(
            kind=kind,
            text=head_text,
            count=count,
            multiple=multiple,
            sizes=dims,
            size_of=size_of,
            mean_diameter_mm=mean[0] if mean else None,
            mean_diameter_method=mean[1] if mean else None,
            location=location,
            composition=composition,
            solid_component=solid_dim,
            margins=margins,
            change=change,
            assertion=assertion,
            section=role,
            evidence=tuple(evidence),
        )

    @staticmethod
    def _size_role(text: str, size: _Size, cues: list[_Item], head: _Item) -> str:
        """current, prior, largest or solid: what a size in a lesion's window measures."""
        for it in cues:
            # "3 mm solid component" / "solid component of 3 mm" / "solid component measuring 3 mm".
            if it.cat == "solid" and (
                (0 <= it.start - size.end <= 3) or (0 <= size.start - it.end <= 25 and size.start > it.end)
            ):
                between = text[it.end : size.start] if size.start >= it.end else ""
                if len(between.split()) <= 3:
                    return "solid"
        state = "current"
        for it in cues:
            if it.end > size.start:
                break
            if it.start < head.end <= size.start and it.cat != "largest":
                # A cue before the lesion word speaks of the lesion, not of a size after it.
                continue
            if it.cat == "prior":
                state = "prior"
            elif it.cat == "current":
                state = "current"
            elif it.cat == "largest" and state == "current":
                state = "largest"
        return state

    @staticmethod
    def _dimension(text: str, rid: str, d: _Dim) -> Dimension:
        return Dimension(
            value_mm=_round1(d.value * _TO_MM[d.unit]) if d.unit == "cm" else d.value,
            value=d.value,
            unit="cm" if d.unit == "cm" else "mm",
            evidence=(Evidence.of(text, rid, d.start, d.end, f"{_PRODUCER}.size.v{_RULE_VERSION}"),),
        )

    def _location(self, text: str, rid: str, items: list[_Item], spans: list[tuple[int, int]]) -> LesionLocation | None:
        if not items:
            return None
        lex = self._res.lex
        lobe = segment = laterality = organ = None
        used: list[_Item] = []
        lobe_items = [it for it in items if it.cat == "loc" and lex.locations[it.idx].lobe is not None]
        if lobe_items:
            entry = lex.locations[lobe_items[0].idx]
            lobe, laterality, organ = entry.lobe, entry.laterality, entry.organ
            used.append(lobe_items[0])
        for it in items:
            if it.cat == "seg":
                if segment is None:
                    segment = lex.segments[it.idx].segment
                    used.append(it)
                continue
            entry = lex.locations[it.idx]
            took = False
            if laterality is None and entry.laterality is not None:
                laterality, took = entry.laterality, True
            if organ is None and entry.organ is not None:
                organ, took = entry.organ, True
            if took and it not in used:
                used.append(it)
        if not used:
            return None
        used.sort(key=lambda it: it.start)
        spans.extend((it.start, it.end) for it in used)
        return LesionLocation(
            lobe=lobe,
            segment=segment,
            laterality=laterality,
            organ=organ,
            evidence=tuple(
                Evidence.of(text, rid, it.start, it.end, f"{_PRODUCER}.location.v{_RULE_VERSION}") for it in used
            ),
        )

    @staticmethod
    def _attributes(
        text: str, rid: str, items: list[_Item], table: Sequence[_ValueWords], spans: list[tuple[int, int]]
    ) -> tuple[LesionAttribute, ...]:
        out: dict[str, LesionAttribute] = {}
        for it in items:
            value = table[it.idx].value
            if value in out:
                continue
            out[value] = LesionAttribute(
                value=value,
                evidence=(Evidence.of(text, rid, it.start, it.end, f"{_PRODUCER}.{value}.v{_RULE_VERSION}"),),
            )
            spans.append((it.start, it.end))
        return tuple(out.values())

    def _change(
        self,
        text: str,
        rid: str,
        items: list[_Item],
        prior: _Size | None,
        mean: tuple[float, MeanDiameterMethod] | None,
        hi: int,
        spans: list[tuple[int, int]],
    ) -> LesionChange | None:
        lex = self._res.lex
        evidence: list[Evidence] = []
        value: ChangeValue | None = None
        if items:
            it = items[0]
            value = lex.change[it.idx].value
            evidence.append(Evidence.of(text, rid, it.start, it.end, f"{_PRODUCER}.change.{value}.v{_RULE_VERSION}"))
            spans.append((it.start, it.end))
        prior_dims: tuple[Dimension, ...] = ()
        prior_mean = None
        if prior is not None:
            prior_dims = tuple(self._dimension(text, rid, d) for d in prior.dims)
            pm = mean_diameter([d.value_mm for d in prior_dims])
            prior_mean = pm[0] if pm else None
            if value is None and mean is not None and prior_mean is not None:
                # The report gives both sizes but no change word: compare the means as written.
                value = "stable" if mean[0] == prior_mean else ("increased" if mean[0] > prior_mean else "decreased")
                evidence.append(
                    Evidence.of(
                        text,
                        rid,
                        prior.start,
                        prior.end,
                        f"{_PRODUCER}.change.from_sizes.v{_RULE_VERSION}",
                        explanation="change computed from the current and prior mean diameters",
                    )
                )
        if value is None:
            return None
        date = None
        anchor = prior.end if prior is not None else (items[0].end if items else hi)
        if anchor < hi:
            dates = find_dates(text, anchor, hi)
            if dates:
                date = dates[0]
                evidence.append(
                    Evidence.of(text, rid, date.start, date.end, f"{_PRODUCER}.prior_date.v{_RULE_VERSION}")
                )
                spans.append((date.start, date.end))
        return LesionChange(
            value=value,
            prior_sizes=prior_dims,
            prior_mean_diameter_mm=prior_mean,
            prior_date=date.value if date is not None else None,
            prior_date_text=date.text if date is not None else None,
            evidence=tuple(evidence) if evidence else (),
            supported=bool(evidence),
        )

    def _structure(self, text: str, analysis: TextAnalysis, size: _Size) -> tuple[int, int] | None:
        """Span of the words that name what ``size`` measures, or None.

        A size after a verb or filler ("the aorta measures 4.2 cm") measures the words before it; one written
        straight before a noun ("persistent 8 mm pneumothorax", "a 4 cm opacity") the words after it.
        """
        res = self._res
        s0, s1 = analysis.sentence_at(size.start)
        lo = max(s0, size.start - 80)
        for stop in _CLAUSE_BEFORE.finditer(text, lo, size.start):
            lo = stop.end()
        words = list(_WORDS.finditer(text, lo, size.start))[-12:]
        before: tuple[int, int] | None = None
        trimmed = False
        if words:
            start, end = words[0].start(), words[-1].end()
            trail = res.trailing_fillers.search(text, start, end)
            if trail is not None:
                trimmed = trail.start() < end
                end = trail.start()
            # The structure is named by the last few words left ("the ascending aorta", "right lobe of the liver").
            kept = [w for w in words if w.end() <= end][-5:]
            if kept:
                start = kept[0].start()
                lead = res.leading_fillers.match(text, start, end)
                if lead is not None:
                    start = lead.end()
                end = start + len(text[start:end].rstrip(" ,"))
                if any(ch.isalpha() for ch in text[start:end]):
                    before = (start, end)
        if before is not None and trimmed:
            return before
        after = res.structure_after.match(text, size.end, max(s1, size.end))
        if after is not None and after.group(1).lower() not in res.after_stops:
            last = after.end(1)
            for w in _WORDS.finditer(text, after.start(1), after.end()):
                if w.group().lower() in res.after_stops:
                    break
                last = w.end()
            return after.start(1), last
        return before

    def _measurements(
        self,
        text: str,
        rid: str,
        analysis: TextAnalysis,
        sections: ReportSections,
        items: list[_Item],
        sizes: list[_Size],
        used: set[int],
    ) -> list[Measurement]:
        excluded = {it.start for it in items if it.cat == "exclude"}
        out: list[Measurement] = []
        for k, size in enumerate(sizes):
            if k in used:
                continue
            nxt = re.compile(r"\s*").match(text, size.end)
            if nxt is not None and nxt.end() in excluded:
                continue
            span = self._structure(text, analysis, size)
            if span is None:
                continue
            start, end = span
            structure = text[start:end]
            dims = tuple(self._dimension(text, rid, d) for d in size.dims)
            out.append(
                Measurement(
                    structure=structure,
                    sizes=dims,
                    section=sections.at(size.start).role,
                    evidence=(
                        Evidence.of(text, rid, start, end, f"{_PRODUCER}.measurement.structure.v{_RULE_VERSION}"),
                        Evidence.of(text, rid, size.start, size.end, f"{_PRODUCER}.measurement.size.v{_RULE_VERSION}"),
                    ),
                )
            )
        return out
