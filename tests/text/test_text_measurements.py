"""Quantities: numbers, ranges, comparators, units -> UCUM, and what is deliberately not a quantity."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from medlens.text.measurements import (
    UnitLexicon,
    find_quantities,
    load_unit_lexicon,
    match_quantity,
    match_unit,
    parse_number,
    phrase_pattern,
    ucum_code,
)


def spans(text: str, **kwargs: object) -> list[tuple[str, float | None, float | None, float | None, str | None]]:
    return [(text[q.start : q.end], q.value, q.low, q.high, q.comparator) for q in find_quantities(text, **kwargs)]


# (text, [(quote, value, low, high, comparator)])
NUMBERS = [
    ("Give 12 tablets.", [("12", 12.0, None, None, None)]),
    ("Hgb 12.5 today", [("12.5", 12.5, None, None, None)]),
    ("take .5 mg", [(".5 mg", 0.5, None, None, None)]),
    ("platelets 380,000, sodium 139", [("380,000", 380000.0, None, None, None), ("139", 139.0, None, None, None)]),
    ("1,200 mL out", [("1,200 mL", 1200.0, None, None, None)]),
    ("base excess -3 today", [("-3", -3.0, None, None, None)]),
    ("take 1/2 tablet", [("1/2", 0.5, None, None, None)]),
    ("3/4 of the dose", [("3/4", 0.75, None, None, None)]),
]
RANGES = [
    ("5-10 mg", [("5-10 mg", None, 5.0, 10.0, None)]),
    ("5 mg - 10 mg", [("5 mg - 10 mg", None, 5.0, 10.0, None)]),
    ("5 to 10 mg", [("5 to 10 mg", None, 5.0, 10.0, None)]),
    ("between 5 and 10 mL", [("between 5 and 10 mL", None, 5.0, 10.0, None)]),
    ("95–98% on room air", [("95–98%", None, 95.0, 98.0, None)]),
    ("heart rate 75-85 beats per minute", [("75-85 beats per minute", None, 75.0, 85.0, None)]),
]
COMPARATORS = [
    ("<5", [("<5", 5.0, None, None, "<")]),
    ("troponin < 0.01 ng/mL", [("< 0.01 ng/mL", 0.01, None, None, "<")]),
    (">= 90 %", [(">= 90 %", 90.0, None, None, ">=")]),
    ("≤ 2 cm", [("≤ 2 cm", 2.0, None, None, "<=")]),
    ("less than 5 mm", [("less than 5 mm", 5.0, None, None, "<")]),
    ("greater than 60", [("greater than 60", 60.0, None, None, ">")]),
    ("greater than or equal to 3 cm", [("greater than or equal to 3 cm", 3.0, None, None, ">=")]),
    ("less than or equal to 4", [("less than or equal to 4", 4.0, None, None, "<=")]),
    ("at least 2 cm", [("at least 2 cm", 2.0, None, None, ">=")]),
    ("no more than 4 tablets", [("no more than 4", 4.0, None, None, "<=")]),
]
NOT_QUANTITIES = [
    "T2 weighted images",
    "cough x2 days",
    "in her 80s",
    "the 2nd visit",
    "2+ pitting edema",
    "seen at 10:30",
    "BP 120/80",
    "strength 5/5",
    "pain 0/10",
    "seen 3/4/21",
    "on 2021-03-04",
    "seen on 03/04/2021",
    "CA 19-9",
    "version 1.2.3",
    "his weight.2. Next item",
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS + RANGES + COMPARATORS)
def test_quantity_values_and_offsets(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize("text", NOT_QUANTITIES)
def test_not_a_quantity(text):
    assert find_quantities(text) == []


def test_number_glued_to_word_is_not_read_but_next_one_is():
    assert spans("CO2 22") == [("22", 22.0, None, None, None)]


def test_numbers_inside_dates_are_skipped():
    text = "On March 4, 2021 she took 5 mg."
    assert spans(text) == [("5 mg", 5.0, None, None, None)]


def test_numbers_inside_dates_are_kept_without_date_skipping():
    assert [q for q, *_ in spans("On March 4, 2021", skip_dates=False)] == ["4", "2021"]


def test_range_low_above_high_is_not_a_range():
    assert match_quantity("19-9 U/mL", 0) is None


# (text, unit as written, UCUM)
UNITS = [
    ("5 mg", "mg", "mg"),
    ("5 mcg", "mcg", "ug"),
    ("5 ug", "ug", "ug"),
    ("5 µg", "µg", "ug"),
    ("5 μg", "μg", "ug"),
    ("2 g", "g", "g"),
    ("70 kg", "kg", "kg"),
    ("150 lb", "lb", "[lb_av]"),
    ("150 lbs", "lbs", "[lb_av]"),
    ("150 pounds", "pounds", "[lb_av]"),
    ("5 mL", "mL", "mL"),
    ("5 ml", "ml", "mL"),
    ("5 cc", "cc", "mL"),
    ("2 L", "L", "L"),
    ("120 mmHg", "mmHg", "mm[Hg]"),
    ("120 mm Hg", "mm Hg", "mm[Hg]"),
    ("80 bpm", "bpm", "/min"),
    ("80 beats per minute", "beats per minute", "/min"),
    ("16 breaths/min", "breaths/min", "/min"),
    ("98%", "%", "%"),
    ("98.6 degrees F", "degrees F", "[degF]"),
    ("98.6°F", "°F", "[degF]"),
    ("98.6 ° F", "° F", "[degF]"),
    ("37 °C", "°C", "Cel"),
    ("37 degrees Celsius", "degrees Celsius", "Cel"),
    ("140 mEq/L", "mEq/L", "meq/L"),
    ("5 mmol/L", "mmol/L", "mmol/L"),
    ("250 mg/dL", "mg/dL", "mg/dL"),
    ("12 g/dL", "g/dL", "g/dL"),
    ("12.3 K/uL", "K/uL", "10*3/uL"),
    ("12.3 x10^3/uL", "x10^3/uL", "10*3/uL"),
    ("12.3 x 10^3/uL", "x 10^3/uL", "10*3/uL"),
    ("12.3 10*3/uL", "10*3/uL", "10*3/uL"),
    ("10 units", "units", "[iU]"),
    ("10 IU", "IU", "[iU]"),
    ("40 U/L", "U/L", "U/L"),
    ("2 ng/mL", "ng/mL", "ng/mL"),
    ("300 pg/mL", "pg/mL", "pg/mL"),
    ("3 cm", "cm", "cm"),
    ("3 mm", "mm", "mm"),
    ("64 inches", "inches", "[in_i]"),
    ("5 ft", "ft", "[ft_i]"),
    ("24 kg/m2", "kg/m2", "kg/m2"),
    ("45 mL/min/1.73m2", "mL/min/1.73m2", "mL/min/{1.73_m2}"),
    ("45 mL/min/1.73 m2", "mL/min/1.73 m2", "mL/min/{1.73_m2}"),
    ("10 mg/kg/day", "mg/kg/day", "mg/kg/d"),
    ("5 mcg/kg/min", "mcg/kg/min", "ug/kg/min"),
    ("100 mL/hr", "mL/hr", "mL/h"),
    ("15 min", "min", "min"),
    ("3 days", "days", "d"),
    ("2 weeks", "weeks", "wk"),
    ("30 mm/hr", "mm/hr", "mm/h"),
    ("10-mg tablet", "mg", "mg"),
]


@pytest.mark.parametrize(("text", "unit", "ucum"), UNITS)
def test_unit_as_written_and_ucum(text, unit, ucum):
    (q,) = find_quantities(text)
    assert (q.unit, q.ucum) == (unit, ucum)
    assert q.unit_start is not None
    assert q.unit_end is not None
    assert text[q.unit_start : q.unit_end] == unit
    assert q.end == q.unit_end


@pytest.mark.parametrize(
    ("text", "contexts", "unit", "ucum"),
    [
        ("98.6 F", (), None, None),
        ("98.6 F", ("temperature",), "F", "[degF]"),
        ("37 C", ("temperature",), "C", "Cel"),
        ("14 F Foley", (), None, None),
        ("72 in", (), None, None),
        ("72 in", ("height",), "in", "[in_i]"),
        ("98.6 degrees", ("temperature",), "degrees", None),
        ("30 degrees", (), "degrees", "deg"),
    ],
)
def test_context_bound_units(text, contexts, unit, ucum):
    q = find_quantities(text, contexts=contexts)[0]
    assert (q.unit, q.ucum) == (unit, ucum)


def test_lowercase_f_is_never_fahrenheit():
    assert find_quantities("98.6 f", contexts=("temperature",))[0].unit is None


def test_minutes_after_a_number_are_a_duration_not_part_of_a_lab_unit():
    (q,) = find_quantities("wait 5 min")
    assert (q.value, q.ucum) == (5.0, "min")


def test_unit_running_into_a_longer_word_is_not_a_unit():
    (q,) = find_quantities("5 mgx")
    assert (q.value, q.unit) == (5.0, None)


def test_number_glued_to_a_word_that_is_no_unit_is_not_a_quantity():
    assert find_quantities("5mgx") == []


def test_word_after_space_is_not_a_unit():
    (q,) = find_quantities("5 patients")
    assert (q.value, q.unit) == (5.0, None)


@pytest.mark.parametrize(
    ("unit", "ucum"),
    [("mcg", "ug"), ("mmHg", "mm[Hg]"), ("mEq/L", "meq/L"), ("°F", "[degF]"), ("cc", "mL"), ("bogus", None)],
)
def test_ucum_code_of_a_unit_alone(unit, ucum):
    assert ucum_code(unit) == ucum


def test_ucum_code_needs_the_whole_string_to_be_a_unit():
    assert ucum_code("mg daily") is None


def test_match_unit_reads_denominators():
    m = match_unit("5 mg/kg/day", 1)
    assert m is not None
    assert (m.text, m.ucum) == ("mg/kg/day", "mg/kg/d")


def test_match_quantity_needs_a_number_at_the_position():
    assert match_quantity("BP 120", 0) is None
    q = match_quantity("BP 120", 3)
    assert q is not None
    assert q.value == 120.0


@pytest.mark.parametrize(("raw", "value"), [("1,200", 1200.0), (".5", 0.5), ("−3", -3.0), ("12.50", 12.5)])
def test_parse_number(raw, value):
    assert parse_number(raw) == value


def test_phrase_pattern_prefers_the_longest_phrase():
    rx = re.compile(phrase_pattern(["hemoglobin", "hemoglobin a1c", "hgb"]), re.IGNORECASE)
    m = rx.match("Hemoglobin A1c 7.2")
    assert m is not None
    assert m.group(0) == "Hemoglobin A1c"


def test_phrase_pattern_of_nothing_never_matches():
    assert re.search(phrase_pattern([]), "anything") is None


def test_unit_lexicon_names_its_source():
    lexicon = load_unit_lexicon()
    assert "UCUM" in lexicon.source
    assert "2.1" in lexicon.source


def test_unit_lexicon_rejects_a_spelling_with_two_codes():
    data = {
        "source": "s",
        "licence": "l",
        "version": 1,
        "units": [{"ucum": "mg", "synonyms": ["mg"]}, {"ucum": "g", "synonyms": ["MG"]}],
    }
    with pytest.raises(ValidationError):
        UnitLexicon.model_validate(data)


def test_unit_lexicon_rejects_unknown_keys():
    data = {"source": "s", "licence": "l", "version": 1, "units": [{"ucum": "mg", "synonyms": ["mg"], "x": 1}]}
    with pytest.raises(ValidationError):
        UnitLexicon.model_validate(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.,-/<> abcmgLkFC%°:+xT", max_size=40))
def test_quantities_are_ordered_disjoint_and_inside_the_text(text):
    found = find_quantities(text, contexts=("temperature", "height"))
    last = 0
    for q in found:
        assert last <= q.start < q.end <= len(text)
        if q.unit is not None:
            assert q.unit_start is not None
            assert q.unit_end is not None
            assert text[q.unit_start : q.unit_end] == q.unit
            assert q.start <= q.unit_start < q.unit_end <= q.end
        assert (q.value is None) == (q.low is not None and q.high is not None)
        last = q.end
