"""Dates in clinical text: absolute dates, and relative ones resolved against the note's date.

Absolute forms (``value`` is an ISO 8601 date at the stated precision: ``2021-03-04``, ``2021-03`` or ``2021``):

* numeric ``03/04/2021``, ``3/4/21``, ``03-04-2021``, ``03.04.2021`` (four-digit year): **month first by default
  (US order)**; pass ``day_first=True`` for day/month/year. Two-digit years: ``00``-``29`` -> 20xx, ``30``-``99`` ->
  19xx without a reference; with one, the latest century not more than a year after the reference date;
* ISO ``2021-03-04`` (also ``2021/03/04``);
* ``March 4, 2021``, ``Mar. 4th 2021``, ``4 March 2021``, ``4th of March, 2021`` (month names capitalised or in
  capitals, so the verb "may" and "march" are not months);
* month precision: ``March 2021``, ``Mar 2021``, ``March of 2021``, ``03/2021``;
* a bare year only after a cue: ``in 2019``, ``since 2019``, ``from``, ``until``, ``through``, ``during``, ``by``,
  ``circa``, ``around``, ``before``, ``after`` (the span is the year alone; ``1 in 2000`` is not a date);
* ``March 4`` without a year: a day-precision match whose ``value`` is None (the year is not stated).

Relative forms (``relative`` is a signed ISO 8601 duration from the anchor, ``-P3D`` = three days before):

* ``today``, ``tonight``, ``this morning`` (``P0D``), ``yesterday``, ``last night`` (``-P1D``), ``tomorrow``
  (``P1D``);
* ``3 days ago``, ``two weeks earlier``, ``a year previously``, ``2 months back``, ``3 days from now``;
  ``2 weeks prior`` / ``before`` / ``later`` followed by more words (``prior to admission``) is anchored on that
  event (``anchor="event"``) and never resolved;
* ``last week``, ``last month``, ``last year``;
* ``x2 years``, ``x five days``, ``for the past 3 days``, ``over the last 2 weeks``, ``in the last month`` (one
  month): a duration up to now, given as the offset of its start (``-P2Y``);
* ``postoperative day 2`` / ``POD #2``: ``P2D`` after the procedure (``anchor="procedure"``, never resolved).

With ``reference`` (the note's date) note-anchored relative dates get a ``value``; without it ``value`` is None.
Hour offsets resolve only when ``reference`` is a ``datetime``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from dateutil.relativedelta import relativedelta

__all__ = ["DateAnchor", "DateMatch", "Precision", "find_dates"]

Precision = Literal["day", "month", "year"]
DateAnchor = Literal["note", "event", "procedure"]


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in text.

    Attributes:
        start: offset of the date.
        end: offset just after it.
        text: the date as written (``text[start:end]``).
        value: ISO 8601 date at ``precision`` (``2021-03-04``, ``2021-03``, ``2021``), or None when not resolvable.
        precision: ``"day"``, ``"month"`` or ``"year"``.
        relative: signed ISO 8601 duration from the anchor for relative dates (``-P3D``), else None.
        anchor: what a relative date counts from (``"note"``, ``"event"``, ``"procedure"``); None if absolute.
    """

    start: int
    end: int
    text: str
    value: str | None
    precision: Precision
    relative: str | None
    anchor: DateAnchor | None = None


_MONTHS: dict[str, int] = {}
for _i, _names in enumerate(
    (
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sept", "sep"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _i

# Capitalised or upper-case only: "may" and "march" in lower case are verbs.
_MONTH = (
    r"(?<![A-Za-z])(?:"
    + "|".join(sorted({f(n) for n in _MONTHS for f in (str.title, str.upper)}, key=lambda s: (-len(s), s)))
    + r")(?![A-Za-z])\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_Y4 = r"(?:19|20)\d{2}"
_NUM_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_COUNT = r"(?:\d{1,3}|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)) + ")"
_UNIT = r"(?:hours?|hrs?|days?|weeks?|wks?|months?|mos?|years?|yrs?)"

# Each form is matched only where a fast pre-filter (a digit run, a month name, a keyword of the lower-cased text)
# says one may begin: one combined alternation tried at every offset costs ~2 ms for a 4 KB note, this ~0.1 ms.
_DIGIT_START_RE = re.compile(r"\d(?<![\w/.\-]\d)")  # a number not glued to a word or another number
_DIGIT_FORMS_RE = re.compile(
    "|".join(
        (
            # ISO 2021-03-04 / 2021/03/04
            rf"(?P<iso_y>{_Y4})(?P<iso_sep>[-/])(?P<iso_m>\d{{1,2}})(?P=iso_sep)(?P<iso_d>\d{{1,2}})(?![\w/\-]|\.\d)",
            # numeric 03/04/2021, 3-4-21, 03.04.2021
            r"(?P<n_a>\d{1,2})(?P<n_sep>[/\-.])(?P<n_b>\d{1,2})(?P=n_sep)(?P<n_y>\d{4}|\d{2})(?![\w/\-]|\.\d)",
            # 4 March 2021, 4th of March, 2021
            rf"(?P<dmy_d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<dmy_m>{_MONTH}),?\s+(?P<dmy_y>{_Y4})(?!\d)",
            # 03/2021
            rf"(?P<nm_m>\d{{1,2}})/(?P<nm_y>{_Y4})(?![\w/\-]|\.\d)",
        )
    )
)
_MONTH_START_RE = re.compile(
    "|".join(sorted({f(n) for n in _MONTHS for f in (str.title, str.upper)}, key=lambda s: (-len(s), s)))
)
_MONTH_FORMS_RE = re.compile(
    "|".join(
        (
            # March 4, 2021
            rf"(?P<mdy_m>{_MONTH})\s+(?P<mdy_d>\d{{1,2}}){_ORD}(?:,\s*|\s+)(?:of\s+)?(?P<mdy_y>{_Y4})(?!\d)",
            # March 2021, March of 2021
            rf"(?P<my_m>{_MONTH}),?\s+(?:of\s+)?(?P<my_y>{_Y4})(?!\d)",
            # March 4 (no year)
            rf"(?P<md_m>{_MONTH})\s+(?P<md_d>\d{{1,2}}){_ORD}(?![\w:/]|\.\d|,?\s*\d)",
        )
    )
)
# Keywords are found in the lower-cased text (literal scan), the forms then matched in the text itself.
_KEYWORD_RE = re.compile(  # trie-shaped, each branch led by one literal: the scan stays in C
    r"t(?:o(?:day|night|morrow)|his (?:morning|afternoon|evening))|yesterday|last|po(?:d|st)"
    r"|x ?(?:\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"|f(?:or the (?:past|last))|o(?:ver the (?:past|last))|i(?:n the (?:past|last))|w(?:ithin the (?:past|last))"
    r"|d(?:uring the (?:past|last))"
)
_KEYWORD_FORMS_RE = re.compile(
    "|".join(
        (
            # postoperative day 2, POD #2
            r"(?:post[- ]?op(?:erative)?\.?\s+day|pod)\s*#?\s*(?P<pod_n>\d{1,2})(?!\d)",
            # x2 years, x five days
            rf"x\s?(?P<x_n>{_COUNT})\s*(?P<x_u>{_UNIT})(?!\w)",
            # for the past 3 days, over the last month (no count: one)
            rf"(?P<x_w>for|over|in|within|during)\s+the\s+(?:past|last)\s+(?:(?P<x_c>{_COUNT})\s*)?"
            rf"(?P<x_cu>{_UNIT})(?!\w)",
            # today, yesterday...
            r"(?P<word>today|tonight|yesterday|tomorrow|this\s+morning|this\s+afternoon|this\s+evening|last\s+night)"
            r"(?!\w)",
            # last week / month / year
            r"last\s+(?P<last_u>week|month|year)(?!\w)",
        )
    ),
    re.IGNORECASE,
)
# "3 days ago", "two weeks prior (to admission)": found from the direction word, read from the count.
_DIRECTION_RE = re.compile(r"ago|earlier|p(?:reviously|rior)|b(?:ack|efore)|later|from now")
_COUNT_BEFORE_RE = re.compile(rf"(?<![\w.]){_COUNT}[ \t-]*{_UNIT}\s+$", re.IGNORECASE)
_AGO_RE = re.compile(
    rf"(?P<ago_n>{_COUNT})[ \t-]*(?P<ago_u>{_UNIT})\s+(?P<ago_dir>ago|earlier|previously|back|prior|before|later|"
    r"from\s+now)(?!\w)",
    re.IGNORECASE,
)
# "in 2019", "since 2019": found from the year, read from the cue.
_CUE_BEFORE_RE = re.compile(
    r"(?<![\w.])(?:in|since|from|until|till|through|during|by|circa|around|before|after)"
    r"\s+(?:the\s+year\s+|(?:early|late|mid)[\s-]+)?$",
    re.IGNORECASE,
)
_YEAR_CUE_RE = re.compile(
    r"(?P<y_cue>in|since|from|until|till|through|during|by|circa|around|before|after)"
    rf"\s+(?:the\s+year\s+|(?:early|late|mid)[\s-]+)?(?P<y_y>{_Y4})(?![\w/\-]|\.\d)",
    re.IGNORECASE,
)
_YEAR_AHEAD_RE = re.compile(rf"{_Y4}(?![\w/\-]|\.\d)")
_EVENT_FOLLOWS_RE = re.compile(r"[ \t]+(?:to[ \t]+)?[A-Za-z]")


def _iso(d: dt.date, precision: Precision) -> str:
    if precision == "year":
        return f"{d.year:04d}"
    if precision == "month":
        return f"{d.year:04d}-{d.month:02d}"
    return d.isoformat()


def _full_year(two_digits: int, reference: dt.date | None) -> int:
    if reference is None:
        return 2000 + two_digits if two_digits < 30 else 1900 + two_digits
    year = 2000 + two_digits
    return year if year <= reference.year + 1 else year - 100


def _month(name: str) -> int:
    return _MONTHS[name.rstrip(".").lower()]


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _count(raw: str) -> int:
    return int(raw) if raw.isdigit() else _NUM_WORDS[raw.lower()]


def _offset(n: int, unit: str) -> tuple[str, relativedelta, Precision]:
    """ISO duration body, the offset and the precision for ``n`` ``unit``s."""
    u = unit.lower()
    if u.startswith("h"):
        return f"PT{n}H", relativedelta(hours=n), "day"
    if u.startswith("d"):
        return f"P{n}D", relativedelta(days=n), "day"
    if u.startswith("w"):
        return f"P{n}W", relativedelta(weeks=n), "day"
    if u.startswith("m"):
        return f"P{n}M", relativedelta(months=n), "month"
    return f"P{n}Y", relativedelta(years=n), "year"


def _relative(
    m: re.Match[str], start: int, end: int, n: int, unit: str, sign: int, reference: dt.date | None
) -> DateMatch:
    duration, delta, precision = _offset(n, unit)
    value = None
    if reference is not None and not (duration.startswith("PT") and not isinstance(reference, dt.datetime)):
        moved = reference + delta if sign > 0 else reference - delta
        value = _iso(moved if not isinstance(moved, dt.datetime) else moved.date(), precision)
    rel = duration if sign > 0 else "-" + duration
    return DateMatch(start, end, m.string[start:end], value, precision, rel, "note")


def _absolute(m: re.Match[str], start: int, end: int, d: dt.date | None, precision: Precision) -> DateMatch | None:
    if d is None:
        return None
    return DateMatch(start, end, m.string[start:end], _iso(d, precision), precision, None)


def _convert(m: re.Match[str], reference: dt.date | None, day_first: bool) -> DateMatch | None:
    groups = m.groupdict()

    def g(name: str) -> str:
        return groups.get(name) or ""

    s, e = m.span()
    if g("iso_y"):
        return _absolute(m, s, e, _safe_date(int(g("iso_y")), int(g("iso_m")), int(g("iso_d"))), "day")
    if g("n_a"):
        year_raw = g("n_y")
        if g("n_sep") == "." and len(year_raw) == 2:
            return None  # 3.4.21 reads as a version number as often as a date
        year = int(year_raw) if len(year_raw) == 4 else _full_year(int(year_raw), reference)
        a, b = int(g("n_a")), int(g("n_b"))
        month, day = (b, a) if day_first else (a, b)
        return _absolute(m, s, e, _safe_date(year, month, day), "day")
    if g("mdy_m"):
        return _absolute(m, s, e, _safe_date(int(g("mdy_y")), _month(g("mdy_m")), int(g("mdy_d"))), "day")
    if g("dmy_m"):
        return _absolute(m, s, e, _safe_date(int(g("dmy_y")), _month(g("dmy_m")), int(g("dmy_d"))), "day")
    if g("my_m"):
        return _absolute(m, s, e, _safe_date(int(g("my_y")), _month(g("my_m")), 1), "month")
    if g("md_m"):
        if _safe_date(2000, _month(g("md_m")), int(g("md_d"))) is None:  # 2000 is a leap year: Feb 29 passes
            return None
        return DateMatch(s, e, m.string[s:e], None, "day", None)
    if g("nm_m"):
        return _absolute(m, s, e, _safe_date(int(g("nm_y")), int(g("nm_m")), 1), "month")
    if g("pod_n"):
        return DateMatch(s, e, m.string[s:e], None, "day", f"P{int(g('pod_n'))}D", "procedure")
    if g("ago_n"):
        direction = " ".join(g("ago_dir").lower().split())
        n = _count(g("ago_n"))
        if direction == "later" or (direction in {"prior", "before"} and _EVENT_FOLLOWS_RE.match(m.string, e)):
            duration, _, precision = _offset(n, g("ago_u"))
            rel = duration if direction == "later" else "-" + duration
            return DateMatch(s, e, m.string[s:e], None, precision, rel, "event")
        return _relative(m, s, e, n, g("ago_u"), 1 if direction == "from now" else -1, reference)
    if g("x_n"):
        return _relative(m, s, e, _count(g("x_n")), g("x_u"), -1, reference)
    if g("x_w"):
        return _relative(m, s, e, _count(g("x_c")) if g("x_c") else 1, g("x_cu"), -1, reference)
    if g("last_u"):
        return _relative(m, s, e, 1, g("last_u"), -1, reference)
    if g("word"):
        word = " ".join(g("word").lower().split())
        shift = {"yesterday": -1, "last night": -1, "tomorrow": 1}.get(word, 0)
        value = None
        if reference is not None:
            moved = reference + dt.timedelta(days=shift)
            value = (moved.date() if isinstance(moved, dt.datetime) else moved).isoformat()
        rel = "P0D" if shift == 0 else ("-P1D" if shift < 0 else "P1D")
        return DateMatch(s, e, m.string[s:e], value, "day", rel, "note")
    if g("y_y"):
        prev = m.string[max(0, s - 12) : s]
        if g("y_cue").lower() == "in" and re.search(r"\d[ \t]*$", prev):
            return None  # "1 in 2000": an incidence, not a year
        ys, ye = m.span("y_y")
        return DateMatch(ys, ye, m.string[ys:ye], g("y_y"), "year", None)
    return None  # pragma: no cover - every alternative is handled above


def find_dates(
    text: str,
    start: int = 0,
    end: int | None = None,
    *,
    reference: dt.date | None = None,
    day_first: bool = False,
) -> list[DateMatch]:
    """All dates in ``text[start:end]``, in order, non-overlapping (offsets index ``text``).

    Args:
        text: the text.
        start: first offset to search.
        end: offset to stop at (default: end of text).
        reference: the note's date (or datetime), used to resolve relative dates.
        day_first: read numeric dates as day/month/year instead of the US month/day/year.

    Returns:
        The dates, ordered by start offset.
    """
    stop = len(text) if end is None else min(end, len(text))
    candidates = [d for m in _candidates(text, start, stop) if (d := _convert(m, reference, day_first)) is not None]
    candidates.sort(key=lambda d: (d.start, -d.end))
    found: list[DateMatch] = []
    for d in candidates:
        if not found or d.start >= found[-1].end:
            found.append(d)
    return found


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)  # "İ" lowers to two code points


def _candidates(text: str, start: int, stop: int) -> list[re.Match[str]]:
    """Matches of every form, found from the pre-filters' positions (they may overlap)."""
    found: list[re.Match[str]] = []
    for hit in _DIGIT_START_RE.finditer(text, start, stop):
        p = hit.start()
        m = _DIGIT_FORMS_RE.match(text, p, stop)
        if m is not None:
            found.append(m)
        if _YEAR_AHEAD_RE.match(text, p, stop):
            cue = _CUE_BEFORE_RE.search(text, max(start, p - 24), p)
            if cue is not None and (y := _YEAR_CUE_RE.match(text, cue.start(), stop)) is not None:
                found.append(y)
    for hit in _MONTH_START_RE.finditer(text, start, stop):
        p = hit.start()
        if p > 0 and text[p - 1].isalpha():
            continue
        m = _MONTH_FORMS_RE.match(text, p, stop)
        if m is not None:
            found.append(m)
    low = _lower_same_length(text)
    for hit in _KEYWORD_RE.finditer(low, start, stop):
        p = hit.start()
        if p > 0 and low[p - 1].isalnum():
            continue
        m = _KEYWORD_FORMS_RE.match(text, p, stop)
        if m is not None:
            found.append(m)
    for hit in _DIRECTION_RE.finditer(low, start, stop):
        p = hit.start()
        if p > 0 and low[p - 1].isalnum():
            continue
        back = _COUNT_BEFORE_RE.search(text, max(start, p - 32), p)
        if back is not None and (m := _AGO_RE.match(text, back.start(), stop)) is not None:
            found.append(m)
    return found
