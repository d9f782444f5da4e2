"""Dates: absolute forms, US vs day-first order, relative dates resolved against the note date, and non-dates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medlens.text.dates import find_dates

REF = dt.date(2021, 3, 10)


def one(text: str, **kwargs: object) -> tuple[str, str | None, str, str | None, str | None]:
    (d,) = find_dates(text, **kwargs)
    assert text[d.start : d.end] == d.text
    return d.text, d.value, d.precision, d.relative, d.anchor


# (text, quote, value, precision)
ABSOLUTE = [
    ("Seen 03/04/2021 in clinic", "03/04/2021", "2021-03-04", "day"),
    ("Seen 3/4/21 in clinic", "3/4/21", "2021-03-04", "day"),
    ("Seen 03-04-2021 in clinic", "03-04-2021", "2021-03-04", "day"),
    ("Seen 03.04.2021 in clinic", "03.04.2021", "2021-03-04", "day"),
    ("Seen 2021-03-04 in clinic", "2021-03-04", "2021-03-04", "day"),
    ("Seen 2021/03/04 in clinic", "2021/03/04", "2021-03-04", "day"),
    ("Seen March 4, 2021 in clinic", "March 4, 2021", "2021-03-04", "day"),
    ("Seen Mar. 4th 2021 in clinic", "Mar. 4th 2021", "2021-03-04", "day"),
    ("Seen 4 March 2021 in clinic", "4 March 2021", "2021-03-04", "day"),
    ("Seen 4th of March, 2021 in clinic", "4th of March, 2021", "2021-03-04", "day"),
    ("CABG IN MAY 2006 AT OSH", "MAY 2006", "2006-05", "month"),
    ("Seen Mar 2021 in clinic", "Mar 2021", "2021-03", "month"),
    ("Seen March of 2021 in clinic", "March of 2021", "2021-03", "month"),
    ("Seen 03/2021 in clinic", "03/2021", "2021-03", "month"),
    ("Diagnosed in 2019.", "2019", "2019", "year"),
    ("Sober since 2019.", "2019", "2019", "year"),
    ("Smoked until 1995, then quit.", "1995", "1995", "year"),
    ("Seen in the year 2010.", "2010", "2010", "year"),
]


@pytest.mark.parametrize(("text", "quote", "value", "precision"), ABSOLUTE)
def test_absolute_dates(text, quote, value, precision):
    assert one(text) == (quote, value, precision, None, None)


def test_numeric_dates_are_month_first_by_default():
    assert one("on 04/03/2021")[1] == "2021-04-03"


def test_numeric_dates_day_first_on_request():
    assert one("on 04/03/2021", day_first=True)[1] == "2021-03-04"


def test_iso_dates_ignore_day_first():
    assert one("on 2021-03-04", day_first=True)[1] == "2021-03-04"


@pytest.mark.parametrize(
    ("text", "reference", "value"),
    [
        ("on 3/4/21", None, "2021-03-04"),
        ("on 3/4/95", None, "1995-03-04"),
        ("on 3/4/29", None, "2029-03-04"),
        ("on 3/4/30", None, "1930-03-04"),
        ("on 3/4/22", dt.date(2021, 6, 1), "2022-03-04"),
        ("on 3/4/25", dt.date(2021, 6, 1), "1925-03-04"),
    ],
)
def test_two_digit_years(text, reference, value):
    assert one(text, reference=reference)[1] == value


def test_month_and_day_without_year_has_no_value():
    assert one("Seen March 4 for follow-up") == ("March 4", None, "day", None, None)


@pytest.mark.parametrize(
    "text",
    [
        "BP 120/80",
        "strength 5/5",
        "seen 13/45/2020",
        "seen 02/30/2021",
        "she may 2 be seen",
        "1 in 2000 patients",
        "Weighed 2019 grams",
        "march 4, 2021 lowercase is a verb",
        "version 3.4.21",
        "CA 19-9",
        "room 2019",
    ],
)
def test_not_a_date(text):
    assert find_dates(text) == []


# (text, quote, value with REF, precision, relative)
RELATIVE = [
    ("Seen today.", "today", "2021-03-10", "day", "P0D"),
    ("Fever yesterday.", "yesterday", "2021-03-09", "day", "-P1D"),
    ("Pain last night.", "last night", "2021-03-09", "day", "-P1D"),
    ("Return tomorrow.", "tomorrow", "2021-03-11", "day", "P1D"),
    ("Fell 3 days ago.", "3 days ago", "2021-03-07", "day", "-P3D"),
    ("Fell two weeks earlier.", "two weeks earlier", "2021-02-24", "day", "-P2W"),
    ("Seen a year ago.", "a year ago", "2020", "year", "-P1Y"),
    ("Seen 2 months back.", "2 months back", "2021-01", "month", "-P2M"),
    ("Started 2 weeks prior, then stopped.", "2 weeks prior", "2021-02-24", "day", "-P2W"),
    ("Recheck 3 days from now.", "3 days from now", "2021-03-13", "day", "P3D"),
    ("Seen last month.", "last month", "2021-02", "month", "-P1M"),
    ("Seen last year.", "last year", "2020", "year", "-P1Y"),
    ("Cough x3 days.", "x3 days", "2021-03-07", "day", "-P3D"),
    ("Diabetes x2 years.", "x2 years", "2019", "year", "-P2Y"),
    ("Cough for the past 3 days.", "for the past 3 days", "2021-03-07", "day", "-P3D"),
    ("Worse over the last 2 weeks.", "over the last 2 weeks", "2021-02-24", "day", "-P2W"),
    ("Cipro x five days.", "x five days", "2021-03-05", "day", "-P5D"),
    ("No falls in the last month.", "in the last month", "2021-02", "month", "-P1M"),
]


@pytest.mark.parametrize(("text", "quote", "value", "precision", "relative"), RELATIVE)
def test_relative_dates_resolve_against_the_note_date(text, quote, value, precision, relative):
    assert one(text, reference=REF) == (quote, value, precision, relative, "note")


@pytest.mark.parametrize(("text", "quote", "value", "precision", "relative"), RELATIVE)
def test_relative_dates_without_reference_keep_only_the_offset(text, quote, value, precision, relative):
    assert one(text) == (quote, None, precision, relative, "note")


def test_prior_to_an_event_is_anchored_on_the_event():
    assert one("Symptoms began 2 weeks prior to admission.", reference=REF) == (
        "2 weeks prior",
        None,
        "day",
        "-P2W",
        "event",
    )


def test_later_is_anchored_on_the_event_before_it():
    assert one("He improved 3 days later.", reference=REF)[3:] == ("P3D", "event")


@pytest.mark.parametrize(
    ("text", "quote"), [("Now POD #2.", "POD #2"), ("On postoperative day 3.", "postoperative day 3")]
)
def test_postoperative_day_is_anchored_on_the_procedure(text, quote):
    d = one(text, reference=REF)
    assert d[0] == quote
    assert d[1] is None
    assert d[4] == "procedure"
    assert d[3] == f"P{quote[-1]}D"


def test_hours_resolve_only_against_a_datetime():
    assert one("Onset 2 hours ago.", reference=REF)[1] is None
    assert one("Onset 2 hours ago.", reference=dt.datetime(2021, 3, 10, 1, 0))[1] == "2021-03-09"


def test_dates_in_a_window_only():
    text = "03/04/2021 and 04/05/2021"
    found = find_dates(text, 5)
    assert [d.text for d in found] == ["04/05/2021"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789/-., MarchMay daysagox", max_size=40))
def test_dates_are_ordered_and_quote_the_text(text):
    last = 0
    for d in find_dates(text, reference=REF):
        assert last <= d.start < d.end <= len(text)
        assert text[d.start : d.end] == d.text
        last = d.end
