"""Dates and ages as identifiers: every written form, found for de-identification and re-written shifted.

De-identification needs more recall than :func:`medlens.text.dates.find_dates` (which reads dates for their
meaning): month/day without a year after a cue ("on 3/4"), day-month without a year ("5 January", "the 2nd of March"),
ISO timestamps ("2021-03-04T10:00"), "04-Mar-2021", "20210304", seasons and holidays with years ("Spring 2019",
"Christmas 2020"), months after a cue ("in March"), OCR noise (``O``/``o`` for 0, ``l``/``I`` for 1, spaces around
separators) and lower-case month names. Relative dates ("3 days ago") are not identifiers and are not found.

Every form is one regular expression with named groups (``m`` month number, ``mn`` month name, ``d`` day,
``o`` ordinal suffix, ``y`` year, ``y2`` apostrophe year, ``se`` season, ``ho`` holiday); :func:`shift_date` finds the
form again in a span's text and replaces only those groups, so separators, padding, case and times are kept.

Ages over 89 (Safe Harbor, 45 CFR §164.514(b)(2)(i)(C)) are found as the number only ("92" in "92-year-old").
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dateutil.easter import easter
from dateutil.relativedelta import relativedelta

from medlens.safety.deid.lexicon import Holiday, lexicons
from medlens.safety.deid.ocr import ocr_alternation

__all__ = ["AgeHit", "DateHit", "find_ages", "find_dates", "shift_date", "year_of_date"]

_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS: dict[str, int] = {}
for _i, _name in enumerate(_MONTH_NAMES, 1):
    _MONTHS[_name] = _i
    _MONTHS[_name[:3]] = _i
_MONTHS["sept"] = 9


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda s: (-len(s), s)))


# Month names: capitalised or upper case always; lower case only where the word is not also a verb or noun.
# Capitalised and upper-case names may carry one OCR space ("Febru ary"); lower-case names may not.
_AMBIGUOUS_LOWER = {"may", "mar", "march", "jan", "dec", "sat", "sun", "wed"}
_MONTH_WORDS = sorted({f(n) for n in _MONTHS for f in (str.title, str.upper)} | (set(_MONTHS) - _AMBIGUOUS_LOWER))
_MONTH_ABBRS = [w for w in _MONTH_WORDS if w.lower() not in _MONTH_NAMES]
_MONTH_FULLS = [w for w in _MONTH_WORDS if w.lower() in _MONTH_NAMES]


def _ocr_month_alt(words: list[str]) -> str:
    return (
        "(?:"
        + ocr_alternation([w for w in words if not w.islower()])
        + "|"
        + _alternation([w for w in words if w.islower()])
        + ")"
    )


_MONTH = (
    rf"(?P<mn>{_ocr_month_alt(_MONTH_FULLS)}(?![A-Za-z])"
    # "May." written as if abbreviated, only before a day with an ordinal or a comma ("May. 2nd, 2019")
    r"|(?:May|MAY)\.(?=[ \t]?\d{1,2}(?:st|nd|rd|th|ST|ND|RD|TH|,))"
    rf"|{_ocr_month_alt(_MONTH_ABBRS)}(?![A-Za-z])\.?)"
)
_MONTH_FULL = rf"(?P<mn>(?:{_alternation([f(n) for n in _MONTH_NAMES for f in (str.title, str.upper)])})(?![A-Za-z]))"
_MONTH_ABBR3 = rf"(?P<mn>(?:{_alternation([f(n[:3]) for n in _MONTH_NAMES for f in (str.title, str.upper)])}))"
_D = "[0-9OolI]"  # OCR: O/o read for 0, l/I for 1
_Y4 = r"(?:19|20)\d{2}"
_Y4O = r"(?:1 ?9|2 ?[0Oo]|[lI] ?9)(?: ?[0-9OolI]){2}"  # a year with OCR look-alikes and (checked) one space
_DAY = r"(?:\d[0-9OolI]?|[OolI]\d)"  # a day: one real digit at least, OCR look-alike beside it
_ORD = r"(?P<o>st|nd|rd|th|ST|ND|RD|TH)?"
_TIME = (
    r"(?P<t>(?:T|[ \t]+(?:at[ \t]+)?|[ \t]*@[ \t]*|,[ \t]*)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:[ \t]?(?:[AaPp][Mm]|[AaPp]\.[Mm]\.))?(?:Z|[+-]\d{2}:?\d{2})?(?![\d:])"
    r"|[ \t]+(?:at|@)[ \t]*(?:[01]\d|2[0-3])[0-5]\d(?:[ \t]*(?:hrs?|hours))?(?!\d))?"
)
_END = r"(?:(?=T\d)|(?![\w/\-]|\.\d))"  # not glued to more word or number, but "T10:00" may follow

# Forms tried where a digit starts (longest match wins).
_DIGIT_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "iso",
        re.compile(rf"(?P<y>{_Y4O})(?P<s1>[-/.])(?P<m>{_D}{{1,2}})(?P=s1)(?P<d>{_D}{{1,2}}){_END}{_TIME}"),
    ),
    (
        "numeric",
        re.compile(
            rf"(?P<m>{_D}(?:[ ]?{_D})?)[ ]?(?P<s1>[/\-.])[ ]?(?P<d>{_D}{{1,2}})[ ]?(?P=s1)[ ]?"
            rf"(?P<y>{_D}(?:[ ]?{_D}){{3}}|{_D}[ ]?{_D})"
            rf"{_END}{_TIME}"
        ),
    ),
    (
        "compact",
        re.compile(
            rf"(?P<y>{_Y4O})[ ]?(?P<m>[0Oo] ?[1-9lI]|[1lI] ?[0-2Oo])[ ]?"
            r"(?P<d>[0Oo] ?[1-9lI]|[12lI] ?[0-9OolI]|3 ?[01Oo])(?![\dOolI])"
        ),
    ),
    (
        "d_mon_y",
        re.compile(rf"(?P<d>\d{{1,2}})(?P<s1>[-/ ]?){_MONTH_ABBR3}(?P=s1)(?P<y>{_Y4O}|\d{{2}}){_END}{_TIME}"),
    ),
    (
        "d_month",
        re.compile(
            rf"(?P<d>{_DAY}){_ORD}[ \t]+(?:[Oo][Ff][ \t]+)?{_MONTH}"
            rf"(?:,?[ \t]+(?P<y>{_Y4O})(?![\dOolI])|[ \t]+'(?P<y2>\d{{2}})(?!\d))?"
            rf"{_TIME}"
        ),
    ),
    ("m_y", re.compile(rf"(?P<m>{_D}{{1,2}})/(?P<y>{_Y4O}){_END}")),
    ("md", re.compile(rf"(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}}){_END}{_TIME}")),
)
# Forms tried where a month name starts.
_MONTH_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "month_d",
        re.compile(
            rf"{_MONTH}[ \t]*(?P<s1>[-/ ]?)[ \t]*(?P<d>{_DAY}){_ORD}(?![\d:]|\.\d)"
            rf"(?:(?:,[ \t]*|[ \t]+|(?P=s1))(?:[Oo][Ff][ \t]+)?(?P<y>{_Y4O})(?![\dOolI])"
            rf"|,?[ \t]+'(?P<y2>\d{{2}})(?!\d))?"
            rf"{_TIME}"
        ),
    ),
    (
        "month_y",
        re.compile(rf"{_MONTH},?[ \t]+(?:[Oo][Ff][ \t]+)?(?:(?P<y>{_Y4O})(?![\dOolI])|'(?P<y2>\d{{2}})(?!\d))"),
    ),
)
_MONTH_START_RE = re.compile(rf"(?<![A-Za-z]){_ocr_month_alt(_MONTH_WORDS)}(?![A-Za-z])")
_DIGIT_START_RE = re.compile(rf"(?<![\w/.\-])(?:\d|{_D}(?={_D}?[ ]?[/\-.])|[OolI](?=\d))")
_MONTH_CUE_RE = re.compile(
    r"(?:(?<![A-Za-z])(?:in|since|during|by|until|till|through|of|early|late|mid|last|next|this|before|after|from)"
    r"[ \t-]+)$",
    re.IGNORECASE,
)
_MONTH_ALONE_RE = re.compile(_MONTH_FULL)
_YEAR_RE = re.compile(rf"(?<![\w/.\-$#])(?P<y>{_Y4})(?![\w/\-%]|\.\d|,\d)")
_YEAR_RANGE_RE = re.compile(rf"(?<![\w/.\-$#])(?P<a>{_Y4})[ \t]*[-–][ \t]*(?P<b>{_Y4})(?![\w/\-%]|\.\d)")
_APOS_YEAR_RE = re.compile(r"(?<![\w'])['’](?P<y2>\d{2})(?![\w'’])")
_INCIDENCE_RE = re.compile(r"\d[ \t]*(?:in|of)[ \t]+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DateHit:
    """A date found in text: offsets, the form that matched and a confidence."""

    start: int
    end: int
    form: str
    confidence: float


@dataclass(frozen=True, slots=True)
class AgeHit:
    """An age over 89: offsets of the number and a confidence."""

    start: int
    end: int
    form: str
    confidence: float


@functools.cache
def _cue_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], dict[str, Holiday]]:
    cues = lexicons().cues.dates
    year_cue = re.compile(
        rf"(?:(?<![\w/])(?:{_alternation(cues.year_cues)})[ \t]*[:#]?[ \t]*(?:the[ \t]+year[ \t]+|(?:early|mid|late)"
        rf"[ \t-]+)?|{_Y4}[ \t]*(?:-|–|to|and|through|thru|or)[ \t]*)$",
        re.IGNORECASE,
    )
    md_cue = re.compile(
        rf"(?:(?<![\w/])(?:{_alternation(cues.day_month_cues)})[ \t]*[:#]?[ \t]*(?:of[ \t]+)?)$", re.IGNORECASE
    )
    holidays = {h.name: h for h in cues.holidays}
    seasons = _alternation(cues.seasons)
    special = re.compile(
        rf"(?<![A-Za-z])(?:(?P<se>{seasons})(?:[ \t]+of)?,?[ \t]+(?:(?P<y>{_Y4O})(?![\dOolI])|'(?P<y2>\d{{2}})(?!\d))"
        rf"|(?P<ho>{_alternation(list(holidays))})(?![A-Za-z])(?:,?[ \t]+(?:of[ \t]+)?(?P<hy>{_Y4})(?!\d))?)",
        re.IGNORECASE,
    )
    return year_cue, md_cue, special, holidays


def find_dates(text: str, *, keep_year: bool = False) -> list[DateHit]:
    """All dates in ``text`` (possibly overlapping; the caller merges).

    Args:
        text: the text.
        keep_year: do not report years standing alone (Safe Harbor permits them).

    Returns:
        Date hits in order of start.
    """
    year_cue, md_cue, special, _ = _cue_patterns()
    hits: list[DateHit] = []
    for m in _DIGIT_START_RE.finditer(text):
        p = m.start()
        best: tuple[int, str] | None = None
        for form, pattern in _DIGIT_FORMS:
            fm = pattern.match(text, p)
            if fm is None or (best is not None and fm.end() <= best[0]):
                continue
            if not _valid(fm, form):
                continue
            if form == "md" and not (fm.group("t") or md_cue.search(text, max(0, p - 24), p)):
                continue
            best = (fm.end(), form)
        if best is not None:
            end, form = best
            conf = {"compact": 0.7, "md": 0.8, "m_y": 0.85}.get(form, 0.95)
            hits.append(DateHit(p, end, form, conf))
    for m in _MONTH_START_RE.finditer(text):
        p = m.start()
        best_end, best_form = -1, ""
        for form, pattern in _MONTH_FORMS:
            fm = pattern.match(text, p)
            if fm is not None and fm.end() > best_end and _valid(fm, form):
                best_end, best_form = fm.end(), form
        if best_end > 0:
            hits.append(DateHit(p, best_end, best_form, 0.95))
        elif (cue := _MONTH_CUE_RE.search(text, max(0, p - 8), p)) is not None:
            alone = _MONTH_ALONE_RE.match(text, p)
            if (
                alone is not None
                and alone.group().lower() == "may"
                and cue.group().strip(" \t-").lower()
                not in {
                    "in",
                    "since",
                    "during",
                    "until",
                    "early",
                    "late",
                    "mid",
                }
            ):
                continue  # "this may", "which may": the verb
            if alone is not None:
                hits.append(DateHit(p, alone.end(), "month", 0.6))
    for m in special.finditer(text):
        if m.group("ho") is not None and not m.group("ho")[0].isupper():
            continue
        conf = 0.95 if (m.group("y") or m.group("y2") or m.group("hy")) else 0.6
        hits.append(DateHit(m.start(), m.end(), "season" if m.group("se") else "holiday", conf))
    if not keep_year:
        for m in _YEAR_RE.finditer(text):
            p = m.start()
            if year_cue.search(text, max(0, p - 30), p) and not _INCIDENCE_RE.search(text, max(0, p - 10), p):
                hits.append(DateHit(p, m.end(), "year", 0.8))
        for m in _YEAR_RANGE_RE.finditer(text):
            a, b = int(m.group("a")), int(m.group("b"))
            if a <= b <= a + 100:
                hits.append(DateHit(m.start("a"), m.end("a"), "year", 0.75))
                hits.append(DateHit(m.start("b"), m.end("b"), "year", 0.75))
        for m in _APOS_YEAR_RE.finditer(text):
            p = m.start()
            if year_cue.search(text, max(0, p - 30), p):
                hits.append(DateHit(p, m.end(), "year2", 0.7))
    hits.extend(_chained_month_days(text, hits))
    hits.sort(key=lambda h: (h.start, -h.end))
    return hits


_MD_RE = re.compile(rf"(?<![\w/.\-])(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}}){_END}")
_CHAIN_GAP_RE = re.compile(r"[ \t]*(?:,|;|&|and|or|to|through|thru|-|–)[ \t]*(?:and[ \t]+)?$", re.IGNORECASE)


def _chained_month_days(text: str, hits: list[DateHit]) -> list[DateHit]:
    """Month/day dates without a cue that continue a list or range of dates ("3/4, 3/9 and 3/12")."""
    if not hits:
        return []
    ends = sorted(h.end for h in hits)
    found: list[DateHit] = []
    last_end = -1
    for m in _MD_RE.finditer(text, ends[0]):
        if not _valid(m, "md"):
            continue
        p = m.start()
        prev = max([e for e in ends if e <= p] + [last_end])
        if prev >= 0 and p - prev <= 9 and _CHAIN_GAP_RE.search(text, prev, p):
            found.append(DateHit(p, m.end(), "md", 0.75))
            last_end = m.end()
    return found


def _month_number(name: str) -> int:
    return _MONTHS[name.rstrip(".").replace(" ", "").lower()]


def _ocr_int(raw: str) -> int:
    return int(raw.translate(_OCR))


_OCR = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", " ": None})


def _valid(m: re.Match[str], form: str) -> bool:
    """Whether the month and day of a match make a real date (either order for numeric forms)."""
    g = m.groupdict()
    if sum((g.get(k) or "").count(" ") for k in ("mn", "m", "d", "y")) > 1:
        return False  # OCR splits a date once at most
    month = _month_number(g["mn"]) if g.get("mn") else (_ocr_int(g["m"]) if g.get("m") else None)
    day = _ocr_int(g["d"]) if g.get("d") else None
    if form == "numeric":
        raw = m.group(0)
        if sum(c.isdigit() for c in raw) < 3:
            return False
        if g["s1"] == "." and len(g["y"]) == 2:
            return False  # 3.4.21 reads as a version number as often as a date
    if month is None:
        return True
    if day is None:
        return 1 <= month <= 12
    if form in {"numeric", "md"} and not (1 <= month <= 12) and 1 <= day <= 12:
        month, day = day, month
    try:
        dt.date(2000, month, day)  # 2000 is a leap year: 2/29 passes
    except ValueError:
        return False
    return True


# --- ages -----------------------------------------------------------------------------------------------------

_TENS = {"ninety": 90}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_AGE_NUM = r"(?P<n>\d{2,3})"
_AGE_WORD = (
    r"(?P<w>ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|one[- ]hundred(?:[- ](?:and[- ])?\w+)?)"
)
_YEARS_OLD = (
    r"(?:[ \t]*-?[ \t]*(?:years?|yrs?|y)[ \t]*-?[ \t]*(?:old|o\.?)|[ \t]*(?:y/o|y\.o\.?|yo|yr\.?[ \t]old)"
    r"|[ \t]+(?:years?|yrs?)[ \t]+of[ \t]+age"
    r"|[ \t]*-?(?:year|yr)s?\b(?![ \t]+(?:ago|history|hx|prior|before|after|since|later|earlier)))"
)
_AGE_RES = (
    re.compile(rf"(?<![\d.,/\-]){_AGE_NUM}(?={_YEARS_OLD})", re.IGNORECASE),
    re.compile(rf"(?<![A-Za-z]){_AGE_WORD}(?={_YEARS_OLD})", re.IGNORECASE),
    re.compile(
        r"(?<![A-Za-z])(?:age[ds]?|aged|age[ \t]+of|at[ \t]+age)[ \t]*[:=]?[ \t]*(?P<n>\d{2,3})(?![\d.,/])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![A-Za-z])in[ \t]+(?:his|her|their|the)[ \t]+(?:early[ \t]+|mid[ \t-]+|late[ \t]+)?(?P<n>\d0)'?s\b"
    ),
    re.compile(r"(?<![\d.,/\-])(?P<n>\d{2,3})[ \t]*(?:yo|y/o)?[ \t]*(?=[MF]\b|(?:male|female|man|woman)\b)"),
)


def _age_value(m: re.Match[str]) -> int | None:
    g = m.groupdict()
    if g.get("n"):
        return int(g["n"])
    word = (g.get("w") or "").lower().replace("-", " ")
    parts = word.split()
    if not parts:
        return None
    if parts[0] == "ninety":
        return 90 + (_UNITS.get(parts[1], 0) if len(parts) > 1 else 0)
    if parts[0] == "one" and len(parts) > 1 and parts[1] == "hundred":
        rest = [p for p in parts[2:] if p != "and"]
        return 100 + (_UNITS.get(rest[0], 0) if rest else 0)
    return None


def find_ages(text: str) -> Iterator[AgeHit]:
    """Ages over 89 ("92-year-old", "aged 95", "ninety-one year old", "in her 90s")."""
    limits = lexicons().cues.ages
    for i, pattern in enumerate(_AGE_RES):
        for m in pattern.finditer(text):
            value = _age_value(m)
            if value is None or not limits.min_age <= value <= limits.max_age:
                continue
            group = "n" if m.groupdict().get("n") else "w"
            yield AgeHit(m.start(group), m.end(group), ("years_old", "words", "age_cue", "decade", "sex")[i], 0.9)


# --- shifting -------------------------------------------------------------------------------------------------


def _pivot(two: int) -> int:
    return 2000 + two if two < 30 else 1900 + two


def _holiday_date(h: Holiday, year: int) -> dt.date:
    if h.easter:
        return easter(year) + dt.timedelta(days=h.offset)
    assert h.month is not None
    if h.day is not None:
        return dt.date(year, h.month, h.day)
    assert h.weekday is not None
    assert h.nth is not None
    if h.nth == -1:
        last = dt.date(year, h.month, 1) + relativedelta(months=1, days=-1)
        return last - dt.timedelta(days=(last.weekday() - h.weekday) % 7)
    first = dt.date(year, h.month, 1)
    return first + dt.timedelta(days=(h.weekday - first.weekday()) % 7 + 7 * (h.nth - 1))


_SEASON_MONTH = {"winter": 1, "spring": 4, "summer": 7, "fall": 10, "autumn": 10}


def _season_of(d: dt.date) -> tuple[str, int]:
    name = ("winter", "spring", "summer", "fall")[(d.month % 12) // 3]
    return name, d.year


def _style(original: str, word: str) -> str:
    if original.isupper():
        return word.upper()
    if original.islower():
        return word.lower()
    return word.title() if " " not in word else word


def _month_name(original: str, month: int) -> str:
    bare = original.rstrip(".").replace(" ", "")
    abbreviated = bare.lower() != _MONTH_NAMES[_MONTHS[bare.lower()] - 1]
    full = _MONTH_NAMES[month - 1]
    name = full[:3] if abbreviated else full
    return _style(bare, name) + ("." if original.endswith(".") and abbreviated else "")


def _ordinal(day: int, original: str) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return suffix.upper() if original.isupper() else suffix


def _find_form(text: str) -> tuple[str, re.Match[str]] | None:
    _, _, special, _ = _cue_patterns()
    for form, pattern in (*_DIGIT_FORMS, *_MONTH_FORMS):
        m = pattern.fullmatch(text)
        if m is not None and _valid(m, form):
            return form, m
    m = special.fullmatch(text)
    if m is not None:
        return ("season" if m.group("se") else "holiday"), m
    for form, pattern in (
        ("year", re.compile(rf"(?P<y>{_Y4})")),
        ("year2", re.compile(r"['’](?P<y2>\d{2})")),
        ("month", _MONTH_ALONE_RE),
    ):
        m = pattern.fullmatch(text)
        if m is not None:
            return form, m
    the = re.match(r"the[ \t]+", text, re.IGNORECASE)
    if the is not None:
        inner = _find_form(text[the.end() :])
        if inner is not None:
            return inner
    return None


def year_of_date(text: str) -> int | None:
    """The year stated in a date span's text, if any (for generalising a date to its year)."""
    found = _find_form(text)
    if found is None:
        return None
    g = found[1].groupdict()
    if g.get("y"):
        raw = g["y"].translate(_OCR).replace(" ", "")
        return int(raw) if len(raw) == 4 else _pivot(int(raw))
    if g.get("hy"):
        return int(g["hy"])
    if g.get("y2"):
        return _pivot(int(g["y2"]))
    return None


def shift_date(text: str, days: int, *, day_first: bool = False, reference_year: int = 2000) -> str | None:
    """Re-write a date span shifted by ``days``, in the same form; None if it cannot be read.

    Day-precision dates move by exactly ``days`` (so intervals are kept); month-, season- and year-precision dates
    move by the same offset rounded to their unit, and by at least one unit, so no surrogate equals its original.

    Args:
        text: the date exactly as written (a span found by :func:`find_dates`).
        days: the patient's shift in days (non-zero).
        day_first: numeric dates are day/month/year.
        reference_year: year assumed for dates written without one.

    Returns:
        The shifted date in the original layout, or None.
    """
    found = _find_prefixed(text)
    if found is None:
        return None
    prefix, form, m = found
    g = m.groupdict()
    raw_year = g.get("y") or g.get("hy")
    two_digit = bool(g.get("y2")) or (raw_year is not None and len(raw_year.translate(_OCR)) == 2)
    if raw_year:
        year = int(raw_year.translate(_OCR))
        year = _pivot(year) if two_digit else year
    elif g.get("y2"):
        year = _pivot(int(g["y2"]))
    else:
        year = reference_year
    sign = 1 if days > 0 else -1
    new: dict[str, str] = {}
    if form in {"year", "year2"}:
        moved = dt.date(year, 7, 2) + dt.timedelta(days=days)
        new_year = moved.year if moved.year != year else year + sign
        _put_year(new, g, new_year, two_digit)
    elif form == "season":
        season = g["se"].lower()
        start = dt.date(year, _SEASON_MONTH[season], 15)
        moved = start + dt.timedelta(days=days)
        name, new_year = _season_of(moved)
        if (name, new_year) == _season_of(start):
            name, new_year = _season_of(start + relativedelta(months=3 * sign))
        new["se"] = _style(g["se"], "autumn" if name == "fall" and season == "autumn" else name)
        _put_year(new, g, new_year, two_digit)
    elif form == "holiday":
        _, _, _, holidays = _cue_patterns()
        holiday = holidays[" ".join(g["ho"].lower().split()).replace("’", "'")]
        moved = _holiday_date(holiday, year) + dt.timedelta(days=days)
        new["ho"] = f"{_month_name(g['ho'] if g['ho'].isupper() else 'January', moved.month)} {moved.day}"
        if g.get("hy"):
            new["hy"] = f"{moved.year:04d}"
    else:
        month = _month_number(g["mn"]) if g.get("mn") else _ocr_int(g["m"])
        day = _ocr_int(g["d"]) if g.get("d") else None
        swapped = False
        if form in {"numeric", "md"} and day is not None and (day_first or month > 12) and 1 <= day <= 12:
            month, day, swapped = day, month, True
        if day is not None:
            moved = dt.date(year, month, day) + dt.timedelta(days=days)
        else:  # month precision
            start = dt.date(year, month, 15)
            moved = start + dt.timedelta(days=days)
            if (moved.year, moved.month) == (year, month):
                moved = start + relativedelta(months=sign)
        if g.get("mn"):
            new["mn"] = _month_name(g["mn"], moved.month)
        m_key, d_key = ("d", "m") if swapped else ("m", "d")
        if g.get("m"):
            new[m_key] = _pad(moved.month, g[m_key])
        if day is not None:
            new[d_key] = _pad(moved.day, g[d_key])
            if g.get("o"):
                new["o"] = _ordinal(moved.day, g["o"])
        if raw_year or g.get("y2"):
            _put_year(new, g, moved.year, two_digit)
    return prefix + _rebuild(m, new)


def _find_prefixed(text: str) -> tuple[str, str, re.Match[str]] | None:
    the = re.match(r"the[ \t]+", text, re.IGNORECASE)
    for offset in (0, the.end() if the else None):
        if offset is None:
            continue
        found = _find_form(text[offset:])
        if found is not None:
            return text[:offset], found[0], found[1]
    return None


def _put_year(new: dict[str, str], g: dict[str, str | None], year: int, two_digit: bool) -> None:
    if g.get("y2"):
        new["y2"] = f"{year % 100:02d}"
    elif g.get("y"):
        new["y"] = f"{year % 100:02d}" if two_digit else f"{year:04d}"


def _pad(value: int, original: str) -> str:
    return f"{value:02d}" if len(original) >= 2 else str(value)


def _rebuild(m: re.Match[str], new: dict[str, str]) -> str:
    text = m.string
    out: list[str] = []
    pos = m.start()
    for name, value in sorted(new.items(), key=lambda kv: m.start(kv[0])):
        s, e = m.span(name)
        out.append(text[pos:s])
        out.append(value)
        pos = e
    out.append(text[pos : m.end()])
    return "".join(out)
