"""Vital signs and laboratory results in notes: name + value (+ unit, flag, reference range), grounded and coded.

How a result is read (``Sodium 133``, ``BP: 140/90 mmHg``, ``WBC: 12.3 (H)``, ``potassium of 3.2, which is low``):

1. **Name.** One trie-shaped regex holds every synonym of ``lexicon/vitals.yaml`` and ``lexicon/labs.yaml``
   (longest spelling wins: ``hemoglobin A1c`` before ``hemoglobin``, ``creatinine clearance`` before
   ``creatinine``). ``exact`` synonyms count only as written or in capitals (``K``, ``Na``, ``T``), and a name glued
   to a digit only when it has two or more letters (``HR80``; never ``T2``). ``not_after`` words cancel a name
   (``potassium chloride``, ``mixed venous saturation``).
2. **Link.** The value must follow the name within the same line, separated only by ``:``, ``=``, a dash,
   a parenthesised qualifier (``(serum)``) and up to four link words (``of``, ``was``, ``is``, ``level``,
   ``elevated at``, ``up to``...). Anything else and no value is read.
3. **Value.** Blood pressure ``120/80`` or ``120 over 80``; height ``5'7"`` / ``5 feet 7 inches`` (converted to
   inches); otherwise :func:`medlens.text.measurements.match_quantity` (numbers, ranges, comparators, units).
   Urinalysis-style entries also take qualitative results (``negative``, ``trace``, ``1+``, also before the name:
   ``1+ protein``), and every lab takes ``normal`` / ``WNL``. Rejected: a unit of another dimension (``potassium
   20 mEq``, ``glucose 5 %``), a dose or count word after the value (``daily``, ``tablets``, ``times``), fractions
   and slashed numbers other than blood pressure (dates, scores), negative numbers.
4. **Gating, not plausibility.** Ambiguous short names (``T``, ``P``, ``R``, ``K``, ``Cr``, ``PT``...) are
   ``gated``: they count only in a vital-sign / laboratory context - a section whose canonical name has one of the
   lexicon's section words, a cue word within ``window`` characters before them (``VITAL SIGNS``, ``Chem 7``,
   ``CBC``), or another result of the same kind within 40 characters (``Na 138 K 4.1 Cl 101``,
   ``T 98.6 P 80 R 16``). Urinalysis and ABG entries need their own context (``UA:``, ``ABG``). No value range
   invented by medlens ever decides whether a number is a result. Medication and allergy sections are skipped.
5. **Flag.** ``interpretation`` comes only from the note: a stated flag (``(H)``, ``L``, ``[HH]``, ``*``, ``high``,
   ``low``, ``elevated``, ``decreased``, ``critical``, ``abnormal``, ``normal``, ``which is low``, ``elevated
   troponin``) with ``interpretation_source="stated"``, else a reference range written right after the value
   (``(ref 3.5-5.1)``, ``[3.5 - 5.1]``, ``(3.5-5.1)``, ``(ref <0.04)``) with ``"reference_range"``.

Assertion: ConText (``context.assert_targets``) over the span from name to value; a result written with its value
is never negated (the cue is the result word, "nitrite negative", or a neighbour's list-scoped "no"), so negation
and its cues are dropped while historical, hypothetical and family statuses are kept.

Evidence: one span from the name (or a flag before it) to the end of what was read, plus one span per
:class:`~medlens.notes.schema.Quantity` for its value; panels (``H&H 13/39``, ``ABG 7.35/45/80``) give each member
two spans: the panel name and its own value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from medlens.core.types import Assertion, Code, Evidence
from medlens.notes.measurement_lexicon import (
    LOINC_SYSTEM,
    ContextSpec,
    Domain,
    MeasurementEntry,
    MeasurementLexicon,
    PanelEntry,
    load_measurement_lexicons,
)
from medlens.notes.schema import Finding, Interpretation, MeasurementDetail, Quantity
from medlens.text.analysis import TextAnalysis
from medlens.text.context import ContextEngine
from medlens.text.measurements import match_quantity, match_unit, phrase_pattern

__all__ = ["extract_vitals_labs"]

_SectionOf = Callable[[int], tuple[str, frozenset[str]]]


# ---------------------------------------------------------------------------------------------------------------
# Value grammar (regexes compiled once)

_QUAL_WORDS = (
    r"not\s+detected|within\s+normal\s+limits|negative|positive|detected|trace|small|moderate|large|normal|neg|pos"
    r"|WNL|[1-4]\s?\+|\+\s?[1-4]"
)
_NORMAL_WORDS = r"within\s+normal\s+limits|WNL|normal"
# Words allowed between a name and its value. Phrases ending in "to"/"at" come before their first word, since the
# alternation is ordered: "elevated to 5" must not stop after "elevated".
_LINK_WORDS = (
    r"(?:elevated|increased|decreased|improved|normalized|trended|peaked|rose|fell|dropped|went(?:\s+up|\s+down)?|"
    r"up|down|found|noted|measured|documented|recorded|equal|equals|equaled)\s+(?:to\s+be|to|at)|to\s+be|"
    r"level|levels|count|counts|value|values|reading|was|is|are|were|of|at|remains|remained|now|today|initially|"
    r"currently|noted|found|measured|measuring|came\s+back|returned|elevated|high|low|decreased|increased|improved|"
    r"be|about|approximately|around|only|still|equal|equals|equaled|has\s+been|had\s+been|peaked|peak|trended|"
    r"critically|critical|abnormal|mildly|slightly|markedly|significantly|checked|recorded|documented|obtained|"
    r"on\s+admission|on\s+arrival"
)
_LINK_RE = re.compile(
    r"(?:[ \t]*\((?:serum|plasma|blood|venous|arterial|whole\s+blood|POC|point[ -]of[ -]care|fasting|random|repeat|"
    r"calc(?:ulated)?|measured|today|current|last|initial|admission|oral|rectal|axillary|tympanic|temporal)\))?"
    r"(?:[ \t]*[:=]+[ \t]*|[ \t]*-{1,2}>?[ \t]*|[ \t]+)?"
    rf"(?:(?:{_LINK_WORDS})(?![\w])[ \t]*[:=]?[ \t]*){{0,4}}",
    re.IGNORECASE,
)
_LINK_FLAG_RE = re.compile(
    r"(?<![\w-])(critically\s+(?:high|low|elevated)|critical|elevated|high|low|decreased(?!\s+(?:to|from))|abnormal)"
    r"(?![\w-])",
    re.IGNORECASE,
)
_PRE_FLAG_RE = re.compile(
    r"(?<![\w-])(critically\s+(?:high|low|elevated)|critical|elevated|high|low|decreased|abnormal)[ \t]+"
    r"(?:(?:serum|blood|plasma|a|an|the|his|her|their)[ \t]+)?$",
    re.IGNORECASE,
)
_QUAL_RE = re.compile(rf"(?:{_QUAL_WORDS})(?![\w+])", re.IGNORECASE)
_NORMAL_RE = re.compile(rf"(?:{_NORMAL_WORDS})(?![\w+])", re.IGNORECASE)
_QUAL_BEFORE_RE = re.compile(rf"(?<![\w+])({_QUAL_WORDS})[ \t]+(?:for[ \t]+)?$", re.IGNORECASE)
_BP_RE = re.compile(r"(\d{2,3})(?:[ \t]*/[ \t]*|[ \t]+over[ \t]+)(\d{2,3})(?![\d/]|\.\d)", re.IGNORECASE)
_FT_IN_RE = re.compile(
    r"(\d)[ \t]*(?:'|’|′|ft\.?|feet|foot)(?:[ \t]*(?:and[ \t]+)?(\d{1,2}(?:\.\d+)?)[ \t]*"
    r"(?:\"|”|″|''|’’|in\.?(?!\w)|inches|inch)?)?",
    re.IGNORECASE,
)
_TALL_RE = re.compile(
    r"(?<![\w.])(?:(\d)[ \t]*(?:'|’|feet|foot|ft\.?)[ \t]*"
    r"(?:(?:and[ \t]+)?(\d{1,2})[ \t]*(?:\"|”|''|inches|inch|in\.?)?)?"
    r"|(\d{2,3}(?:\.\d+)?)[ \t]*(inches|inch|in|cm|centimeters))[ \t]+tall(?!\w)",
    re.IGNORECASE,
)
_PAIR_SEP = r"[ \t]*(?:/|,|&|and)[ \t]*"
_NUM = r"(\d+(?:\.\d+)?)"
_FLAG_RE = re.compile(
    r"[ \t]*(?:"
    r"[(\[][ \t]*(?P<p>HH|LL|H|L|A|C|N|high|low|critical(?:ly)?[ \t]+(?:high|low)|critical|abnormal|elevated|"
    r"decreased|normal)[ \t]*\*?[ \t]*[)\]]"
    r"|(?-i:(?P<b>HH|LL|H|L))(?![\w/])\*?"
    r"|(?P<s>\*+)"
    r"|,?[ \t]*(?:which|that)[ \t]+(?:is|was|are|were)[ \t]+(?:(?:mildly|slightly|markedly|significantly|very)[ \t]+)?"
    r"(?P<w>critically[ \t]+(?:high|low)|high|low|elevated|decreased|abnormal|normal|critical)(?![\w-])"
    r")",
    re.IGNORECASE,
)
_REF_RE = re.compile(
    r"[ \t]*[(\[][ \t]*(?:(?:ref(?:erence)?\.?(?:[ \t]+(?:range|interval))?|normal(?:[ \t]+(?:range|values?))?|nl|"
    r"range|RR)[ \t]*[:=]?[ \t]*)?"
    rf"(?:{_NUM}[ \t]*(?:-|–|to)[ \t]*{_NUM}|(?P<lt><=?|≤|less[ \t]+than)[ \t]*{_NUM}|(?P<gt>>=?|≥|greater[ \t]+than)"
    rf"[ \t]*{_NUM})[^)\]\n]{{0,16}}[)\]]",
    re.IGNORECASE,
)
_FLAG_CODE: dict[str, Interpretation] = {
    "h": "H",
    "high": "H",
    "elevated": "H",
    "l": "L",
    "low": "L",
    "decreased": "L",
    "hh": "HH",
    "critically high": "HH",
    "critical high": "HH",
    "critically elevated": "HH",
    "ll": "LL",
    "critically low": "LL",
    "critical low": "LL",
    "a": "A",
    "c": "A",
    "abnormal": "A",
    "critical": "A",
    "*": "A",
    "n": "N",
    "normal": "N",
    "within normal limits": "N",
    "wnl": "N",
}
_QUAL_NORMAL = {"neg": "negative", "pos": "positive", "wnl": "normal", "within normal limits": "normal"}
_CLUSTER_GAP = 40
# ASCII folding for the name pre-filter: lower-case letters, keep digits and the few symbols names contain, map
# every other byte (punctuation, whitespace, non-ASCII "?") to a space. One byte per character: offsets survive.
_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789&/+-'^*")
_FOLD = bytes(
    (c + 32 if 65 <= c <= 90 else c) if (c + 32 if 65 <= c <= 90 else c) in _NAME_CHARS else 32 for c in range(256)
)


def _flag(raw: str) -> Interpretation:
    return _FLAG_CODE[" ".join(raw.lower().split()).rstrip("*") or "*"]


def _words_pattern(words: Iterable[str], *, lead: str = r"[ \t]*") -> re.Pattern[str]:
    body = phrase_pattern(words, space=r"[ \t]+")
    return re.compile(rf"{lead}(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------------------
# The compiled engine


@dataclass(frozen=True, slots=True)
class _Target:
    """What a synonym may name: an entry or a panel, with the synonym's matching rules."""

    entry: MeasurementEntry | None
    panel: PanelEntry | None
    synonym: str
    exact: bool
    gated: bool
    domain: Domain


@dataclass(slots=True)
class _Value:
    start: int
    end: int
    value: float | None
    low: float | None = None
    high: float | None = None
    comparator: Literal["<", "<=", ">", ">="] | None = None
    unit: str | None = None
    ucum: str | None = None
    unit_span: tuple[int, int] | None = None


@dataclass(slots=True)
class _Hit:
    entry: MeasurementEntry
    domain: Domain
    producer: str
    spans: list[tuple[int, int]]
    values: list[_Value] = field(default_factory=list)
    text_value: str | None = None
    interpretation: Interpretation | None = None
    interpretation_source: Literal["stated", "reference_range"] | None = None
    gated: bool = False
    explanation: str = ""
    drop_code: bool = False

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]


class _Engine:
    def __init__(self, vitals: MeasurementLexicon, labs: MeasurementLexicon) -> None:
        self.lexicons = {"vital": vitals, "lab": labs}
        self.entries = {e.name: e for lex in (vitals, labs) for e in lex.entries}
        self.codes = {
            e.name: Code(
                system=LOINC_SYSTEM,
                code=e.loinc,
                display=e.loinc_display,
                source=f"medlens lexicon {'vitals' if lex.type == 'vital' else 'labs'}.yaml",
            )
            for lex in (vitals, labs)
            for e in lex.entries
            if e.loinc is not None
        }
        self.targets: dict[str, list[_Target]] = {}
        for lex in (vitals, labs):
            for e in lex.entries:
                for syn in e.synonyms:
                    self._add(syn, _Target(e, None, syn, syn in e.exact, syn in e.gated, lex.type))
            for p in lex.panels:
                for syn in p.synonyms:
                    self._add(syn, _Target(None, p, syn, syn.isupper() and len(syn) <= 3, False, lex.type))
        trie = phrase_pattern(self.targets, space=r"[ \t]+")
        self.name_re = re.compile(rf"(?<![\w\-/])({trie})(?![^\W\d_])", re.IGNORECASE)
        # Pre-filter: an Aho-Corasick automaton over an ASCII-folded copy of the text finds where a name may start
        # (a synonym right after a boundary character) in one C-level pass; name_re then confirms each start.
        import ahocorasick  # lazily: ``import medlens`` stays light (tests/test_quality.py)

        self.automaton = ahocorasick.Automaton()
        for key in self.targets:
            folded = " " + key.encode("ascii", "replace").translate(_FOLD).decode("ascii")
            if len(key) == 1:
                folded += " "  # single letters only before a boundary ("T 98.6", "K: 4.1")
            self.automaton.add_word(folded, len(folded))
        self.automaton.make_automaton()
        self.reject_re = _words_pattern({w for lex in (vitals, labs) for w in lex.reject_after})
        self.not_after = {e.name: frozenset(w.lower() for w in e.not_after) for e in self.entries.values()}
        self.blocked_by = {e.name: _words_pattern(e.blocked_by, lead="") for e in self.entries.values() if e.blocked_by}
        self.excludes = {lex.type: lex.exclude_contexts for lex in (vitals, labs)}
        specs: dict[tuple[str, str | None], ContextSpec] = {
            ("vital", None): vitals.context,
            ("lab", None): labs.context,
        }
        specs.update({("lab", k): v for k, v in labs.subcontexts.items()})
        specs.update({("vital", k): v for k, v in vitals.subcontexts.items()})
        self.contexts = {key: self._compile_spec(spec) for key, spec in specs.items()}
        self.suppress = frozenset(w for lex in (vitals, labs) for w in lex.suppress_sections)
        self.reject_before = frozenset(w.lower() for lex in (vitals, labs) for w in lex.reject_before)
        # Panels: two values joined by "/", ",", "&" or "and"; three or more only by "/" ("7.35/45/80").
        self.panel_res: dict[str, re.Pattern[str]] = {}
        for p in (*vitals.panels, *labs.panels):
            sep = r"[ \t]*/[ \t]*" if len(p.members) > 2 else _PAIR_SEP
            body = _NUM + "".join(sep + _NUM for _ in p.members[1:])
            self.panel_res[p.name] = re.compile(body + r"(?![\d/]|\.\d)", re.IGNORECASE)

    def _add(self, synonym: str, target: _Target) -> None:
        self.targets.setdefault(" ".join(synonym.lower().split()), []).append(target)

    @staticmethod
    def _compile_spec(
        spec: ContextSpec,
    ) -> tuple[frozenset[str], re.Pattern[str] | None, re.Pattern[str] | None, int]:
        upper = [c for c in spec.cues if c.isupper()]
        other = [c for c in spec.cues if not c.isupper()]
        upper_re = re.compile(rf"(?<![\w/])(?:{'|'.join(map(re.escape, upper))})(?![\w/])") if upper else None
        other_re = re.compile(rf"(?<![\w/])(?:{phrase_pattern(other)})(?![\w/])", re.IGNORECASE) if other else None
        return frozenset(spec.sections), upper_re, other_re, spec.window

    def in_context(
        self, text: str, start: int, section_words: frozenset[str], key: tuple[str, str | None], floor: int = 0
    ) -> bool:
        """Whether ``start`` is in the context ``key``: by section, or by a cue within the window (not before floor)."""
        sections, upper_re, other_re, window = self.contexts[key]
        if sections & section_words:
            return True
        lo = max(floor, start - window)
        return bool(
            (upper_re is not None and upper_re.search(text, lo, start))
            or (other_re is not None and other_re.search(text, lo, start))
        )


@functools.cache
def _engine() -> _Engine:
    vitals, labs = load_measurement_lexicons()
    return _Engine(vitals, labs)


# ---------------------------------------------------------------------------------------------------------------
# Reading one value


def _read_numeric(text: str, pos: int, entry: MeasurementEntry) -> _Value | None:
    """A number (range, comparator) at ``pos`` with no unit or one the entry accepts."""
    q = match_quantity(text, pos, contexts=entry.unit_contexts)
    if q is None:
        return None
    number_end = q.unit_start if q.unit_start is not None else q.end
    if "/" in text[q.start : number_end] or (q.value is not None and q.value < 0) or (q.low is not None and q.low < 0):
        return None
    if q.unit is not None and q.ucum not in entry.units and not (q.ucum is None and entry.unit_contexts):
        if q.unit in {"L", "H"}:  # "K 3.2 L": the lab's flag (read by _read_after), not litres or hours
            return _Value(q.start, number_end, q.value, q.low, q.high, q.comparator)
        return None
    unit_span = (q.unit_start, q.unit_end) if q.unit_start is not None and q.unit_end is not None else None
    return _Value(q.start, q.end, q.value, q.low, q.high, q.comparator, q.unit, q.ucum, unit_span)


def _read_height(text: str, pos: int) -> tuple[_Value, int] | None:
    m = _FT_IN_RE.match(text, pos)
    if m is None or (m.group(2) is None and not re.match(r"\d[ \t]*(?:ft\.?|feet|foot)", m.group(0), re.I)):
        return None
    feet = int(m.group(1))
    if m.group(2) is None:
        return _Value(m.start(), m.end(), float(feet), unit=m.group(0)[1:].strip(), ucum="[ft_i]"), m.end()
    # Feet and inches: the value is the total in inches; unit as written is left empty.
    return _Value(m.start(), m.end(), feet * 12 + float(m.group(2)), ucum="[in_i]"), m.end()


def _read_after(text: str, pos: int, hit: _Hit) -> int:
    """Stated flags and a reference range after the value; returns the new end."""
    end = pos
    stated: Interpretation | None = None
    ref: tuple[float | None, float | None, bool] | None = None  # low, high, high bound exclusive ("<0.04")
    for _ in range(3):
        m = _FLAG_RE.match(text, end) if stated is None else None
        if m is not None:
            raw = m.group("p") or m.group("b") or m.group("w") or m.group("s")
            stated = "A" if raw.startswith("*") else _flag(raw)
            end = m.end()
            continue
        r = _REF_RE.match(text, end) if ref is None else None
        if r is not None:
            if r.group("lt"):
                ref = (None, float(r.group(4)), r.group("lt") == "<" or r.group("lt").lower().startswith("less"))
            elif r.group("gt"):
                ref = (float(r.group(6)), None, False)
            else:
                ref = (float(r.group(1)), float(r.group(2)), False)
            end = r.end()
            continue
        break
    first = hit.values[0] if hit.values else None
    if stated is not None:
        hit.interpretation, hit.interpretation_source = stated, "stated"
    elif ref is not None and first is not None and first.value is not None and first.comparator is None:
        lo, hi, exclusive = ref
        interp: Interpretation = "N"
        if lo is not None and first.value < lo:
            interp = "L"
        elif hi is not None and (first.value > hi or (exclusive and first.value == hi)):
            interp = "H"
        hit.interpretation, hit.interpretation_source = interp, "reference_range"
    return end


def _qualitative(raw: str) -> str:
    """Normalised qualitative result: "neg" -> "negative", "+2" / "2 +" -> "2+", "WNL" -> "normal"."""
    s = " ".join(raw.lower().split())
    grade = re.fullmatch(r"\+?\s?([1-4])\s?\+?", s)
    if grade is not None:
        return f"{grade.group(1)}+"
    return _QUAL_NORMAL.get(s, s)


def _read_entry(
    text: str, name_start: int, name_end: int, target: _Target, entry: MeasurementEntry, eng: _Engine
) -> _Hit | None:
    """The value of ``entry`` after the name at ``[name_start, name_end)``, or None."""
    domain = target.domain
    hit = _Hit(entry, domain, _producer(domain, entry.name), [(name_start, name_end)], gated=target.gated)
    link = _LINK_RE.match(text, name_end)
    p = link.end() if link is not None else name_end
    link_text = text[name_end:p]
    if "\n" in link_text or (link_text == "-" and p < len(text) and text[p].isdigit()):
        return None  # "CK-20", "CA-125": a hyphen glued to a number makes another name
    if p == name_end and p < len(text) and text[p].isdigit() and (name_end - name_start < 2 or text[p - 1].isdigit()):
        return None  # "T2", "CO22": a glued digit belongs to the name
    end: int | None = None
    if entry.value == "blood_pressure":
        m = _BP_RE.match(text, p)
        if m is None:
            return None
        unit = match_unit(text, m.end())
        ucum = unit.ucum if unit is not None and unit.ucum in entry.units else None
        unit_ok = unit is not None and ucum is not None
        sys_v = _Value(m.start(1), m.end(1), float(m.group(1)))
        dia_v = _Value(m.start(2), unit.end if unit_ok and unit else m.end(2), float(m.group(2)))
        if unit_ok and unit is not None:
            for v in (sys_v, dia_v):
                v.unit, v.ucum, v.unit_span = unit.text, ucum, (unit.start, unit.end)
        hit.values = [sys_v, dia_v]
        end = dia_v.end
    else:
        if entry.value == "height":
            h = _read_height(text, p)
            if h is not None:
                hit.values, end = [h[0]], h[1]
        if end is None and entry.value in ("numeric", "any", "height"):
            number = _read_numeric(text, p, entry)
            if number is not None:
                hit.values, end = [number], number.end
        if end is None:
            qm = (_QUAL_RE if entry.value in ("qualitative", "any") else _NORMAL_RE).match(text, p)
            if qm is None or (domain == "vital" and entry.value != "qualitative"):
                return None
            hit.text_value = _qualitative(qm.group(0))
            if hit.text_value == "normal":
                hit.interpretation, hit.interpretation_source = "N", "stated"
            end = qm.end()
    if eng.reject_re.match(text, _skip_spaces(text, end)) is not None:
        return None
    after = _read_after(text, end, hit)
    if hit.interpretation_source != "stated":
        lf = _LINK_FLAG_RE.search(link_text)
        pre = _PRE_FLAG_RE.search(text, max(0, name_start - 32), name_start)
        if lf is not None:
            hit.interpretation, hit.interpretation_source = _flag(lf.group(1)), "stated"
        elif pre is not None:
            hit.interpretation, hit.interpretation_source = _flag(pre.group(1)), "stated"
            hit.spans[0] = (pre.start(), name_end)
    hit.spans[0] = (hit.spans[0][0], max(after, end))
    unit_codes = [v.ucum for v in hit.values if v.ucum is not None]
    hit.drop_code = bool(entry.loinc_units and unit_codes and unit_codes[0] not in entry.loinc_units)
    hit.explanation = f"{domain} name followed by its value ({entry.value})"
    return hit


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _producer(domain: str, name: str) -> str:
    return f"medlens.rule.notes.{'vitals' if domain == 'vital' else 'labs'}.{name}.v1"


def _read_panel(text: str, name_start: int, name_end: int, target: _Target, eng: _Engine) -> list[_Hit]:
    panel = target.panel
    assert panel is not None
    link = _LINK_RE.match(text, name_end)
    p = link.end() if link is not None else name_end
    if "\n" in text[name_end:p]:
        return []
    m = eng.panel_res[panel.name].match(text, p)
    if m is None:
        return []
    hits = []
    for i, member in enumerate(panel.members, start=1):
        entry = eng.entries[member]
        v = _Value(m.start(i), m.end(i), float(m.group(i)))
        hit = _Hit(
            entry, target.domain, _producer(target.domain, panel.name), [(name_start, name_end), (v.start, v.end)]
        )
        hit.values = [v]
        hit.explanation = f"panel name followed by {len(panel.members)} values; value {i} of {len(panel.members)}"
        hits.append(hit)
    if eng.reject_re.match(text, _skip_spaces(text, m.end())) is not None:
        return []
    return hits


def _read_tall(text: str, folded: str, eng: _Engine) -> list[_Hit]:
    """Heights written without a name: "69 inches tall", "5 feet 11 inches tall"."""
    entry = eng.entries.get("body_height")
    if entry is None or " tall" not in folded:
        return []
    hits = []
    for m in _TALL_RE.finditer(text):
        value_end = len(text[: m.end() - len("tall")].rstrip())
        if m.group(1):
            v = _Value(m.start(), value_end, int(m.group(1)) * 12 + float(m.group(2) or 0), ucum="[in_i]")
        else:
            unit = match_unit(text, m.end(3), contexts=("height",))
            if unit is None or unit.ucum not in entry.units:
                continue
            v = _Value(m.start(3), unit.end, float(m.group(3)), unit=unit.text, ucum=unit.ucum)
            v.unit_span = (unit.start, unit.end)
        hit = _Hit(entry, "vital", _producer("vital", "body_height_tall"), [(m.start(), m.end())], [v])
        hit.explanation = "height written as '<value> tall'"
        hits.append(hit)
    return hits


def _read_value_first(
    text: str, name_start: int, name_end: int, entry: MeasurementEntry, domain: Domain
) -> _Hit | None:
    """Urinalysis style "1+ protein", "trace blood", "negative nitrites"."""
    m = _QUAL_BEFORE_RE.search(text, max(0, name_start - 24), name_start)
    if m is None:
        return None
    hit = _Hit(entry, domain, _producer(domain, entry.name), [(m.start(1), name_end)])
    hit.text_value = _qualitative(m.group(1))
    hit.explanation = "qualitative result written before the name"
    return hit


# ---------------------------------------------------------------------------------------------------------------
# Public entry point


def extract_vitals_labs(text: str, record_id: str, analysis: TextAnalysis, context: ContextEngine) -> list[Finding]:
    """Vital signs and lab results of one note, each grounded in the note and coded (LOINC) where certain.

    Args:
        text: the note text (``analysis.text``).
        record_id: id of the record, written into every evidence span.
        analysis: sections and sentences of ``text`` (from :func:`medlens.text.analyze`).
        context: the ConText engine that sets each finding's assertion.

    Returns:
        Findings of type ``"vital"`` or ``"lab"``, in text order.
    """
    eng = _engine()
    section_cache: dict[int, tuple[str, frozenset[str]]] = {}

    def section(offset: int) -> tuple[str, frozenset[str]]:
        sec = analysis.section_at(offset)
        got = section_cache.get(sec.start)
        if got is None:
            got = (sec.name, frozenset(sec.name.split("_")))
            section_cache[sec.start] = got
        return got

    hits: list[_Hit] = []
    folded = (" " + text).encode("ascii", "replace").translate(_FOLD).decode("ascii")
    last_end = 0
    for found_end, length in eng.automaton.iter_long(folded):
        start = found_end - length + 1  # offset in text: the automaton's key has a leading boundary character
        if start < last_end:
            continue
        m = eng.name_re.match(text, start)
        if m is None:
            continue
        ns, ne = m.span()
        last_end = ne
        written = m.group(0)
        targets = eng.targets.get(" ".join(written.lower().split()), [])
        prev_word = _previous_word(text, ns)
        if prev_word in eng.reject_before:
            continue
        for target in targets:
            if target.exact and written not in (target.synonym, target.synonym.upper()):
                continue
            if target.panel is not None:
                panel_hits = _read_panel(text, ns, ne, target, eng)
                if panel_hits:
                    hits.extend(panel_hits)
                    break
                continue
            entry = target.entry
            assert entry is not None
            if prev_word and prev_word in eng.not_after[entry.name]:
                continue
            hit = _read_entry(text, ns, ne, target, entry, eng)
            if hit is None and entry.value in ("qualitative", "any") and entry.context == "urinalysis":
                hit = _read_value_first(text, ns, ne, entry, target.domain)
            if hit is None:
                continue
            if entry.context is not None and not eng.in_context(
                text, ns, section(ns)[1], (target.domain, entry.context)
            ):
                continue
            if _excluded(text, ns, entry, target.domain, eng, analysis, hits[-1].end if hits else 0):
                break
            hits.append(hit)
            break
    hits.extend(_read_tall(text, folded, eng))
    if not hits:
        return []
    hits.sort(key=lambda h: h.start)
    accepted = [h for i, h in enumerate(hits) if _keep(text, hits, i, eng, section)]
    return _findings(text, record_id, analysis, context, accepted, eng, section)


def _excluded(
    text: str,
    start: int,
    entry: MeasurementEntry,
    domain: Domain,
    eng: _Engine,
    analysis: TextAnalysis,
    previous_end: int,
) -> bool:
    """Whether the sentence before ``start`` puts the name in a body fluid, an organ or a specimen.

    Organ words count only after the previous result ("heart rate 76, weight 80 kg" is not an organ weight).
    """
    blocked = eng.blocked_by.get(entry.name)
    excludes = eng.excludes[domain]
    if blocked is None and not excludes:
        return False
    sentence_start = analysis.sentence_at(start)[0]
    floor = sentence_start if sentence_start <= start else 0
    if blocked is not None and blocked.search(text, max(floor, start - 80, min(previous_end, start)), start):
        return True
    return any(eng.in_context(text, start, frozenset(), (domain, name), floor) for name in excludes)


def _previous_word(text: str, start: int) -> str:
    i = start
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "-'"):
        j -= 1
    return text[j:i].lower()


def _keep(text: str, hits: list[_Hit], i: int, eng: _Engine, section: _SectionOf) -> bool:
    hit = hits[i]
    words = section(hit.start)[1]
    if words & eng.suppress:
        return False
    if not hit.gated:
        return True
    if eng.in_context(text, hit.start, words, (hit.domain, None)):
        return True
    for j in (i - 1, i + 1):
        if 0 <= j < len(hits) and hits[j].domain == hit.domain:
            other = hits[j]
            gap = other.start - hit.end if j > i else hit.start - other.end
            if gap <= _CLUSTER_GAP:
                return True
    return False


def _value_cues_removed(assertion: Assertion) -> Assertion:
    """A result written with its value is never "absent": drop negation and its cues, keep the other statuses.

    ConText negation cues around a result are the result word itself ("nitrite negative", "troponins negative") or
    a list-scoped cue of a neighbour ("no leukocyte esterase, nitrite negative"); historical, hypothetical ("call if
    temperature > 38.5") and family statuses stay as the engine set them.
    """
    if not assertion.negated:
        return assertion
    cues = tuple(c for c in assertion.cues if c.status != "negated")
    return assertion.model_copy(update={"negated": False, "cues": cues})


def _quantity(text: str, record_id: str, producer: str, v: _Value) -> Quantity:
    spans = [(v.start, v.end)]
    if v.unit_span is not None and not (v.start <= v.unit_span[0] and v.unit_span[1] <= v.end):
        spans.append(v.unit_span)
    return Quantity(
        text=text[v.start : v.end],
        value=v.value,
        low=v.low,
        high=v.high,
        comparator=v.comparator,
        unit=v.unit,
        ucum=v.ucum,
        evidence=tuple(Evidence.of(text, record_id, s, e, producer, explanation="value") for s, e in spans),
    )


def _findings(
    text: str,
    record_id: str,
    analysis: TextAnalysis,
    context: ContextEngine,
    hits: list[_Hit],
    eng: _Engine,
    section: _SectionOf,
) -> list[Finding]:
    assertions = context.assert_targets(text, [(h.start, h.end) for h in hits], analysis=analysis)
    findings = []
    for hit, found in zip(hits, assertions, strict=True):
        assertion = _value_cues_removed(found)
        values = [_quantity(text, record_id, hit.producer, v) for v in hit.values]
        detail = MeasurementDetail(
            value=values[0] if values else None,
            value2=values[1] if len(values) > 1 else None,
            text_value=hit.text_value,
            interpretation=hit.interpretation,
            interpretation_source=hit.interpretation_source,
        )
        explanation = hit.explanation + (
            f"; flag from {hit.interpretation_source.replace('_', ' ')}" if hit.interpretation_source else ""
        )
        findings.append(
            Finding(
                type=hit.domain,
                text=hit.entry.preferred,
                code=None if hit.drop_code else eng.codes.get(hit.entry.name),
                assertion=assertion,
                section=section(hit.start)[0],
                evidence=tuple(
                    Evidence.of(text, record_id, s, e, hit.producer, explanation=explanation) for s, e in hit.spans
                ),
                measurement=detail,
            )
        )
    return findings
