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
* ``x2 years``, ``for the past 3 days``, ``over the last 2 weeks``: a duration up to now, given as the offset of its
  start (``-P2Y``);
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

__all__ = ["DateMatch", "DateAnchor", "Precision", "find_dates"]

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

_DATE_RE = re.compile(
    "|".join(
        (
            # ISO 2021-03-04 / 2021/03/04
            rf"(?<![\w/.\-])(?P<iso_y>{_Y4})(?P<iso_sep>[-/])(?P<iso_m>\d{{1,2}})(?P=iso_sep)(?P<iso_d>\d{{1,2}})"
            r"(?![\w/\-]|\.\d)",
            # numeric 03/04/2021, 3-4-21, 03.04.2021
            r"(?<![\w/.\-])(?P<n_a>\d{1,2})(?P<n_sep>[/\-.])(?P<n_b>\d{1,2})(?P=n_sep)(?P<n_y>\d{4}|\d{2})"
            r"(?![\w/\-]|\.\d)",
            # March 4, 2021
            rf"(?P<mdy_m>{_MONTH})\s+(?P<mdy_d>\d{{1,2}}){_ORD}(?:,\s*|\s+)(?:of\s+)?(?P<mdy_y>{_Y4})(?!\d)",
            # 4 March 2021, 4th of March, 2021
            rf"(?<![\w/.\-])(?P<dmy_d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<dmy_m>{_MONTH}),?\s+(?P<dmy_y>{_Y4})(?!\d)",
            # March 2021, March of 2021
            rf"(?P<my_m>{_MONTH}),?\s+(?:of\s+)?(?P<my_y>{_Y4})(?!\d)",
            # March 4 (no year)
            rf"(?P<md_m>{_MONTH})\s+(?P<md_d>\d{{1,2}}){_ORD}(?![\w:/]|\.\d|,?\s*\d)",
            # 03/2021
            rf"(?<![\w/.\-])(?P<nm_m>\d{{1,2}})/(?P<nm_y>{_Y4})(?![\w/\-]|\.\d)",
            # postoperative day 2, POD #2
            r"(?i:(?<!\w)(?:post[- ]?op(?:erative)?\.?\s+day|pod)\s*#?\s*(?P<pod_n>\d{1,2}))(?!\d)",
            # 3 days ago / two weeks prior (to admission)
            rf"(?i:(?<![\w.])(?P<ago_n>{_COUNT})[ \t-]*(?P<ago_u>{_UNIT})\s+"
            r"(?P<ago_dir>ago|earlier|previously|back|prior|before|later|from\s+now))(?!\w)",
            # x2 years, for the past 3 days
            rf"(?i:(?<!\w)(?:x\s?|(?:for|over|in)\s+the\s+(?:past|last)\s+)(?P<x_n>\d{{1,3}}|{_COUNT})\s*"
            rf"(?P<x_u>{_UNIT}))(?!\w)",
            # last week / month / year
            r"(?i:(?<!\w)last\s+(?P<last_u>week|month|year))(?!\w)",
            # today, yesterday...
            r"(?i:(?<!\w)(?P<word>today|tonight|yesterday|tomorrow|this\s+morning|this\s+afternoon|this\s+evening"
            r"|last\s+night))(?!\w)",
            # in 2019, since 2019
            r"(?i:(?<![\w.])(?P<y_cue>in|since|from|until|till|through|during|by|circa|around|before|after)"
            r"\s+(?:the\s+year\s+|(?:early|late|mid)[\s-]+)?)"
            rf"(?P<y_y>{_Y4})(?![\w/\-]|\.\d)",
        )
    )
)
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


def _absolute(
    m: re.Match[str], start: int, end: int, d: dt.date | None, precision: Precision
) -> DateMatch | None:
    if d is None:
        return None
    return DateMatch(start, end, m.string[start:end], _iso(d, precision), precision, None)


def _convert(m: re.Match[str], reference: dt.date | None, day_first: bool) -> DateMatch | None:  # noqa: C901
    g = m.group
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
        if direction in {"prior", "before", "later"}:
            if direction == "later" or _EVENT_FOLLOWS_RE.match(m.string, e):
                duration, _, precision = _offset(n, g("ago_u"))
                rel = duration if direction == "later" else "-" + duration
                return DateMatch(s, e, m.string[s:e], None, precision, rel, "event")
        return _relative(m, s, e, n, g("ago_u"), 1 if direction == "from now" else -1, reference)
    if g("x_n"):
        return _relative(m, s, e, _count(g("x_n")), g("x_u"), -1, reference)
    if g("last_u"):
        return _relative(m, s, e, 1, g("last_u"), -1, reference)
    if g("word"):
        word = " ".join(g("word").lower().split())
        shift = {"yesterday": -1, "last night": -1, "tomorrow": 1}.get(word, 0)
        value = None
        if reference is not None:
            day = reference + dt.timedelta(days=shift)
            value = (day.date() if isinstance(day, dt.datetime) else day).isoformat()
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
    found: list[DateMatch] = []
    for m in _DATE_RE.finditer(text, start, stop):
        d = _convert(m, reference, day_first)
        if d is not None:
            found.append(d)
    return found
