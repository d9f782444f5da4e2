"""Numbers, ranges, comparators and units of measure (normalised to UCUM) in clinical text.

What counts as a quantity (all offsets are ``str`` indices into the text, ``end`` exclusive):

* numbers: ``12``, ``12.5``, ``.5``, ``1,200`` (thousands groups of exactly three digits), a leading minus only
  where it cannot be a hyphen (``-3`` after a space, ``(``, ``:`` or ``=``); simple fractions ``1/2``, ``1/3``,
  ``3/4``, ``1/8`` (denominator 2, 3, 4 or 8, numerator smaller);
* ranges: ``5-10 mg``, ``5 mg - 10 mg``, ``5 to 10``, ``between 5 and 10`` (low must not exceed high);
* comparators: ``<5``, ``>= 90``, ``≤ 2``, ``less than 5``, ``greater than or equal to 3``, ``at least 2``,
  ``no more than 4``;
* a unit right after the number (up to two spaces, or one hyphen: ``10-mg``), looked up in
  ``lexicon/units.yaml`` (UCUM 2.1 codes), with ``/denominator`` parts joined (``mg/kg/day`` -> ``mg/kg/d``).

What is deliberately not a quantity: a number glued to a word (``T2``, ``x2``, ``CO2``, ``80s``, ``2nd``), grades
(``2+``), times (``10:30``), slash chains that are not simple fractions (``120/80``, ``5/5``, ``3/4/21``; blood
pressure is read by ``medlens.notes.vitals_labs``), hyphenated dates (``2021-03-04``) and, in
:func:`find_quantities`, any number inside a date found by :func:`medlens.text.dates.find_dates`.

Units are conservative: bare ``F``/``C`` count as temperatures only with ``contexts={"temperature"}``, bare ``in``
as inches only with ``contexts={"height"}``; ``5 min`` is a duration (UCUM ``min``), never part of a lab unit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.lexicon import load_yaml_lexicon
from medlens.text.dates import find_dates

__all__ = [
    "Comparator",
    "QuantityMatch",
    "UnitEntry",
    "UnitLexicon",
    "UnitMatch",
    "find_quantities",
    "load_unit_lexicon",
    "match_quantity",
    "match_unit",
    "parse_number",
    "phrase_pattern",
    "ucum_code",
]

Comparator = Literal["<", "<=", ">", ">="]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class UnitEntry(BaseModel):
    """One UCUM code and the spellings that write it."""

    model_config = _FROZEN

    ucum: str | None = Field(description="UCUM code; null when the spelling is a unit but its code is not decidable.")
    synonyms: tuple[str, ...] = Field(min_length=1, description="Spellings as written in notes.")
    case_sensitive: bool = Field(default=False, description="Match the synonyms only exactly as written.")
    context: str | None = Field(
        default=None, description="Context the caller must pass for these synonyms to count ('temperature')."
    )


class UnitLexicon(BaseModel):
    """The whole ``units.yaml``."""

    model_config = _FROZEN

    source: str = Field(description="Terminology and version the codes come from.")
    licence: str = Field(description="Licence under which the codes are used.")
    version: int = Field(ge=1, description="Version of the lexicon file.")
    units: tuple[UnitEntry, ...] = Field(min_length=1, description="Units that may follow a number.")
    denominators: tuple[UnitEntry, ...] = Field(default=(), description="Units that may follow a unit after '/'.")

    @model_validator(mode="after")
    def _unique(self) -> UnitLexicon:
        # Spellings that differ only in spacing or micro sign ("µg", "μg", "ug") share a key; a key may not name
        # two codes in the same context.
        for group in (self.units, self.denominators):
            seen: dict[tuple[str, bool, str | None], str | None] = {}
            for entry in group:
                for syn in entry.synonyms:
                    key = (_unit_key(syn, entry.case_sensitive), entry.case_sensitive, entry.context)
                    if key in seen and seen[key] != entry.ucum:
                        raise ValueError(f"unit synonym {syn!r} names both {seen[key]!r} and {entry.ucum!r}")
                    seen[key] = entry.ucum
        return self


@dataclass(frozen=True, slots=True)
class UnitMatch:
    """A unit as written at ``[start, end)`` and its UCUM code (None when not decidable)."""

    start: int
    end: int
    text: str
    ucum: str | None


@dataclass(frozen=True, slots=True)
class QuantityMatch:
    """A quantity found in text.

    Attributes:
        start: offset of the quantity (its comparator or ``between`` when written).
        end: offset just after it (after its unit when one is written).
        value: the number; None for a range.
        low: range low bound (inclusive); None unless a range.
        high: range high bound (inclusive); None unless a range.
        comparator: ``<``, ``<=``, ``>`` or ``>=`` when written.
        unit: the unit as written (for a range, the last one written), or None.
        ucum: its UCUM code, or None when no unit is written or its code is not decidable.
        unit_start: offset of the unit, or None.
        unit_end: offset just after the unit, or None.
    """

    start: int
    end: int
    value: float | None
    low: float | None
    high: float | None
    comparator: Comparator | None
    unit: str | None
    ucum: str | None
    unit_start: int | None
    unit_end: int | None


# ---------------------------------------------------------------------------------------------------------------
# Literal phrase sets as trie-shaped regexes


def phrase_pattern(phrases: Iterable[str], *, space: str = r"\s+") -> str:
    """Regex source matching any of ``phrases``, trie-shaped so the longest phrase at a position is tried first.

    The phrases are lower-cased (compile the result with ``re.IGNORECASE``); each space in a phrase becomes
    ``space``. A trie keeps matching linear in the phrase length where a flat alternation of hundreds of
    phrases would try each one at every position.

    Args:
        phrases: literal phrases.
        space: regex that a space in a phrase stands for.

    Returns:
        A regex source without capturing groups (empty set -> a pattern that never matches).
    """
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in " ".join(phrase.split()).lower():
            node = node.setdefault(ch, {})
        node[""] = {}
    if not trie:
        return r"(?!)"

    def build(node: dict[str, Any]) -> str:
        alts = [(space if ch == " " else re.escape(ch)) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


# ---------------------------------------------------------------------------------------------------------------
# Units

# A unit ending in a word character must not run on into another one ("mgs" is not "mg" + "s"); one ending in a
# symbol ("%", "°") needs no boundary.
_BOUNDARY = r"(?:(?<=\w)(?!\w)|(?<!\w))"
_MICRO = str.maketrans({"µ": "u", "μ": "u"})


def _unit_key(raw: str, case_sensitive: bool) -> str:
    key = "".join(raw.split()).translate(_MICRO)
    return key if case_sensitive else key.lower()


@functools.cache
def load_unit_lexicon() -> UnitLexicon:
    """The packaged ``lexicon/units.yaml``, validated (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable or invalid.
    """
    return load_yaml_lexicon("medlens.text", "units.yaml", UnitLexicon)


_Entries = dict[str, list[tuple[str | None, str | None]]]


class _UnitTable:
    """Compiled unit lexicon: one regex for units, one for denominators, and their look-up tables."""

    def __init__(self, lexicon: UnitLexicon) -> None:
        self.units = self._tables(lexicon.units)
        self.denominators = self._tables(lexicon.denominators)
        unit_trie = phrase_pattern(self._phrases(lexicon.units), space=r"[ \t]*")
        denom_trie = phrase_pattern(self._phrases(lexicon.denominators), space=r"[ \t]*")
        self.unit_re = re.compile(rf"(?:[ \t]{{0,2}}|-(?=[^\W\d]))({unit_trie}){_BOUNDARY}", re.IGNORECASE)
        self.denom_re = re.compile(rf"/({denom_trie}){_BOUNDARY}", re.IGNORECASE)

    @staticmethod
    def _phrases(entries: tuple[UnitEntry, ...]) -> list[str]:
        return [syn for e in entries for syn in e.synonyms]

    @staticmethod
    def _tables(entries: tuple[UnitEntry, ...]) -> tuple[_Entries, _Entries]:
        exact: _Entries = {}
        folded: _Entries = {}
        for e in entries:
            table = exact if e.case_sensitive else folded
            for syn in e.synonyms:
                bucket = table.setdefault(_unit_key(syn, e.case_sensitive), [])
                if (e.ucum, e.context) in bucket:
                    continue
                bucket.append((e.ucum, e.context))
                # A spelling bound to a context the caller passes wins over the context-free one ("degrees").
                bucket.sort(key=lambda item: item[1] is None)
        return exact, folded

    @staticmethod
    def lookup(tables: tuple[_Entries, _Entries], raw: str, contexts: Collection[str]) -> tuple[bool, str | None]:
        exact, folded = tables
        for key, table in ((_unit_key(raw, True), exact), (_unit_key(raw, False), folded)):
            for ucum, context in table.get(key, ()):
                if context is None or context in contexts:
                    return True, ucum
        return False, None


@functools.cache
def _unit_table() -> _UnitTable:
    return _UnitTable(load_unit_lexicon())


def match_unit(text: str, pos: int, end: int | None = None, *, contexts: Collection[str] = ()) -> UnitMatch | None:
    """The unit written at ``pos`` (after up to two spaces or one hyphen), or None.

    Args:
        text: the text.
        pos: where the unit may begin (usually just after a number).
        end: do not read past this offset.
        contexts: contexts that enable context-bound spellings (``"temperature"``, ``"height"``).
    """
    table = _unit_table()
    stop = len(text) if end is None else min(end, len(text))
    m = table.unit_re.match(text, pos, stop)
    if m is None:
        return None
    found, ucum = table.lookup(table.units, m.group(1), contexts)
    if not found:
        return None
    start, e = m.span(1)
    codes = [ucum]
    while True:
        d = table.denom_re.match(text, e, stop)
        if d is None:
            break
        found, code = table.lookup(table.denominators, d.group(1), contexts)
        if not found:
            break
        codes.append(code)
        e = d.end()
    full = None if any(c is None for c in codes) else "/".join(c for c in codes if c is not None)
    return UnitMatch(start, e, text[start:e], full)


def ucum_code(unit: str, *, contexts: Collection[str] = ()) -> str | None:
    """UCUM code of a unit written alone (``"mg/dL"`` -> ``"mg/dL"``, ``"mcg"`` -> ``"ug"``), or None if unknown."""
    m = match_unit(unit.strip(), 0, contexts=contexts)
    if m is None or m.end != len(unit.strip()):
        return None
    return m.ucum


# ---------------------------------------------------------------------------------------------------------------
# Numbers, ranges, comparators

_NUM_RE = re.compile(r"([-−]?)((?:\d{1,3}(?:,\d{3})+(?!\d|,\d)|\d+)(?:\.\d+)?|\.\d+)")
_DIGITS_RE = re.compile(r"\d+")
_FRACTION_DENOMINATORS = frozenset({2, 3, 4, 8})
# What may not follow a number: a time (10:30), a grade (2+), a further decimal part (1.2.3), a hyphenated or
# slashed date (03-04-2021, 2021-03-04), a ratio chain.
_BAD_FOLLOW_RE = re.compile(r":\d|\+|\.\d|[-/.]\d{1,2}[-/.]\d|-\d{1,2}-")
_CMP_RE = re.compile(
    r"(?:(<=|=<|≤|>=|=>|≥|<|>)"
    r"|((?:less|lower|fewer|greater|more|higher)\s+than(?:\s+or\s+equal\s+to)?"
    r"|at\s+least|at\s+most|no\s+(?:more|greater|higher|less|lower|fewer)\s+than)\b)[ \t]*",
    re.IGNORECASE,
)
_CMP_SYMBOL: dict[str, Comparator] = {"<": "<", "<=": "<=", "=<": "<=", "≤": "<=", ">": ">", ">=": ">=", "=>": ">="}
_BETWEEN_RE = re.compile(r"between[ \t]+", re.IGNORECASE)
_RANGE_SEP_RE = re.compile(r"[ \t]*(?:--?|–|—)[ \t]*|[ \t]+(?:to|through|thru)[ \t]+", re.IGNORECASE)
_AND_RE = re.compile(r"[ \t]+and[ \t]+", re.IGNORECASE)
# Where a quantity may start: a digit not glued to a word (its sign or leading "." checked in Python), or a
# comparator (symbol or word, found in the lower-cased text). Both scans are led by a literal or a digit class,
# which keeps them in C.
_DIGIT_TRIGGER_RE = re.compile(r"\d(?<![\w^*/#,–]\d)")
_WORD_TRIGGER_RE = re.compile(
    r"[<>≤≥]|l(?:ess|ower) |f(?:ewer) |g(?:reater) |m(?:ore) |h(?:igher) |a(?:t (?:least|most))|n(?:o (?:more|less|"
    r"greater|higher|lower|fewer))|b(?:etween) "
)
_NOT_BEFORE_SIGN = frozenset(".^*/#,-–−")


def _comparator(m: re.Match[str]) -> Comparator:
    if m.group(1):
        return _CMP_SYMBOL[m.group(1)]
    words = " ".join(m.group(2).lower().split())
    if words.startswith("at least") or (words.startswith("no ") and words.split()[1] in {"less", "lower", "fewer"}):
        return ">="
    if words.startswith("at most") or words.startswith("no "):
        return "<="
    below = words.split()[0] in {"less", "lower", "fewer"}
    if words.endswith("equal to"):
        return "<=" if below else ">="
    return "<" if below else ">"


def parse_number(raw: str) -> float:
    """Value of a number as written (``"1,200"`` -> 1200.0, ``".5"`` -> 0.5, ``"−3"`` -> -3.0).

    Raises:
        ValueError: if ``raw`` is not a number.
    """
    return float(raw.replace(",", "").replace("−", "-"))


@dataclass(frozen=True, slots=True)
class _Number:
    start: int
    end: int
    value: float


def _read_number(text: str, pos: int, end: int) -> _Number | None:
    """The number at ``pos`` with the guards of the module docstring, or None."""
    m = _NUM_RE.match(text, pos, end)
    if m is None:
        return None
    sign, digits = m.group(1), m.group(2)
    if sign and pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in ".,"):
        return None  # a hyphen, not a minus sign
    if not sign and digits[0] == "." and pos > 0 and text[pos - 1].isalnum():
        return None  # "weight.2": a full stop and a list number, not ".2"
    if pos > 1 and text[pos - 1] == ":" and text[pos - 2].isdigit():
        return None  # the minutes of a time
    e = m.end()
    if e < end and text[e] == "/" and e + 1 < end and text[e + 1].isdigit():
        return _fraction(text, m, end)
    if _BAD_FOLLOW_RE.match(text, e, end):
        return None
    value = parse_number(sign + digits)
    return _Number(m.start(), e, value)


def _fraction(text: str, m: re.Match[str], end: int) -> _Number | None:
    """A simple fraction (``1/2``, ``3/4``) or None for a date, ratio, score or blood pressure."""
    den = _DIGITS_RE.match(text, m.end() + 1, end)
    if den is None or m.group(1) or not m.group(2).isdigit():
        return None
    stop = den.end()
    if stop < end and (text[stop] == "/" or (text[stop] in ".-" and stop + 1 < end and text[stop + 1].isdigit())):
        return None  # 3/4/21, 1/2.5, 3/4-21
    if m.start() >= 2 and text[m.start() - 1] == "/" and text[m.start() - 2].isdigit():
        return None  # the tail of a chain
    numerator, denominator = int(m.group(2)), int(den.group())
    if denominator not in _FRACTION_DENOMINATORS or not 0 < numerator < denominator:
        return None
    return _Number(m.start(), stop, numerator / denominator)


def _unit_or_stop(text: str, pos: int, end: int, contexts: Collection[str]) -> tuple[UnitMatch | None, bool]:
    """The unit after a number; the flag is False when a letter is glued to the number but is no unit ("80s")."""
    unit = match_unit(text, pos, end, contexts=contexts)
    if unit is None and pos < end and text[pos].isalpha():
        return None, False
    return unit, True


def match_quantity(
    text: str, pos: int, end: int | None = None, *, contexts: Collection[str] = ()
) -> QuantityMatch | None:
    """The quantity that begins exactly at ``pos`` (a comparator, ``between``, a sign or a digit), or None.

    Args:
        text: the text.
        pos: where the quantity must begin.
        end: do not read past this offset.
        contexts: contexts that enable context-bound unit spellings (see ``units.yaml``).
    """
    stop = len(text) if end is None else min(end, len(text))
    p = pos
    comparator: Comparator | None = None
    between = False
    m = _CMP_RE.match(text, p, stop)
    if m is not None:
        comparator = _comparator(m)
        p = m.end()
    else:
        b = _BETWEEN_RE.match(text, p, stop)
        if b is not None:
            between = True
            p = b.end()
    n1 = _read_number(text, p, stop)
    if n1 is None:
        return None
    u1, ok = _unit_or_stop(text, n1.end, stop, contexts)
    if not ok:
        return None
    start = pos if (comparator or between) else n1.start
    after1 = u1.end if u1 else n1.end
    if comparator is None:
        sep = (_AND_RE if between else _RANGE_SEP_RE).match(text, after1, stop)
        if sep is not None:
            n2 = _read_number(text, sep.end(), stop)
            if n2 is not None and n2.value >= n1.value:
                u2, ok2 = _unit_or_stop(text, n2.end, stop, contexts)
                if ok2 and not (u1 and u2 and u1.ucum != u2.ucum):
                    unit = u2 or u1
                    return QuantityMatch(
                        start=start,
                        end=u2.end if u2 else n2.end,
                        value=None,
                        low=n1.value,
                        high=n2.value,
                        comparator=None,
                        unit=unit.text if unit else None,
                        ucum=unit.ucum if unit else None,
                        unit_start=unit.start if unit else None,
                        unit_end=unit.end if unit else None,
                    )
            elif sep.end() == after1 + 1 and _NUM_RE.match(text, sep.end(), stop):
                return None  # "CA 19-9", "2021-13": a hyphenated code, not a number
        if between:
            return None
    return QuantityMatch(
        start=start,
        end=after1,
        value=n1.value,
        low=None,
        high=None,
        comparator=comparator,
        unit=u1.text if u1 else None,
        ucum=u1.ucum if u1 else None,
        unit_start=u1.start if u1 else None,
        unit_end=u1.end if u1 else None,
    )


def find_quantities(
    text: str,
    start: int = 0,
    end: int | None = None,
    *,
    contexts: Collection[str] = (),
    skip_dates: bool = True,
) -> list[QuantityMatch]:
    """All quantities in ``text[start:end]``, in order, non-overlapping (offsets index ``text``).

    Args:
        text: the text.
        start: first offset to search.
        end: offset to stop at (default: end of text).
        contexts: contexts that enable context-bound unit spellings (``"temperature"``, ``"height"``).
        skip_dates: drop numbers that lie inside a date found by :func:`medlens.text.dates.find_dates`.

    Returns:
        The quantities, ordered by start offset.
    """
    stop = len(text) if end is None else min(end, len(text))
    dates = [(d.start, d.end) for d in find_dates(text, start, stop)] if skip_dates else []
    found: list[QuantityMatch] = []
    last = start
    di = 0
    for p in _trigger_positions(text, start, stop):
        if p < last:
            continue
        q = match_quantity(text, p, stop, contexts=contexts)
        if q is None:
            continue
        while di < len(dates) and dates[di][1] <= q.start:
            di += 1
        if di < len(dates) and dates[di][0] < q.end:
            last = max(q.end, dates[di][1])
            continue
        found.append(q)
        last = q.end
    return found


def _trigger_positions(text: str, start: int, stop: int) -> list[int]:
    """Sorted offsets where a quantity may begin."""
    positions = []
    for m in _DIGIT_TRIGGER_RE.finditer(text, start, stop):
        p = m.start()
        prev = text[p - 1] if p > start else ""
        if prev in {".", "-", "−"}:
            before = text[p - 2] if p - 2 >= start else ""
            if before.isalnum() or before in _NOT_BEFORE_SIGN:
                continue  # a decimal part, a hyphenated or glued number ("weight.2", "5-10", "T-3")
            positions.append(p - 1)  # ".5", "-3": _read_number decides whether the sign is one
            continue
        positions.append(p)
    low = text.lower()
    if len(low) != len(text):  # "İ" lowers to two code points: lower char by char to keep offsets
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    for m in _WORD_TRIGGER_RE.finditer(low, start, stop):
        p = m.start()
        if low[p].isalpha() and p > 0 and low[p - 1].isalnum():
            continue
        positions.append(p)
    positions.sort()
    return positions
