"""Invariants of de-identification (hypothesis)."""

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlens.safety.deid import Deidentifier, PatientKeys

KEYS = PatientKeys(b"0123456789abcdef0123456789abcdef")
DEID = Deidentifier(keys=KEYS)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIRST = ["John", "Mary", "Jennifer", "Robert", "Hope", "Will", "Grace", "Thomas", "Linda", "Carlos"]
LAST = ["Smith", "Brown", "Alvarez", "Nguyen", "Zylstra", "Young", "Okafor", "Kowalski", "Price", "Grant"]
dates = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2030, 12, 31))
date_formats = st.sampled_from(["%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d %B %Y", "%b %d, %Y", "%m-%d-%Y"])


@st.composite
def notes(draw: st.DrawFn) -> str:
    first, last = draw(st.sampled_from(FIRST)), draw(st.sampled_from(LAST))
    day = draw(dates)
    fmt = draw(date_formats)
    phone = "".join(str(draw(st.integers(2, 9))) for _ in range(3)) + "-555-" + f"{draw(st.integers(0, 9999)):04d}"
    mrn = f"{draw(st.integers(10_000_000, 99_999_999))}"
    text = (
        f"Patient: {first} {last}\nMRN: {mrn}\nSeen on {day.strftime(fmt)} by Dr. {draw(st.sampled_from(LAST))}. "
        f"Call {phone} with questions. Email {first.lower()}.{last.lower()}@gmail.com"
    )
    return text.upper() if draw(st.booleans()) else text


@SETTINGS
@given(notes(), st.sampled_from(["redact", "mask", "surrogate"]), st.text(min_size=1, max_size=8))
def test_no_detected_original_survives(text, mode, patient):
    spans = DEID.detect(text)
    out = DEID.transform(text, spans, mode=mode, patient_id=patient).text
    for span in spans:
        original = text[span.start : span.end]
        if span.type == "AGE" or len(original) < 4:
            continue
        assert original not in out


@SETTINGS
@given(notes(), st.text(min_size=1, max_size=8))
def test_no_surrogate_equals_its_original(text, patient):
    spans = DEID.detect(text)
    out = DEID.transform(text, spans, mode="surrogate", patient_id=patient)
    for r in out.replacements:
        assert out.text[r.new_start : r.new_end] != text[r.start : r.end]


@SETTINGS
@given(dates, st.integers(1, 400), date_formats, st.text(min_size=1, max_size=8))
def test_date_intervals_within_a_patient_are_kept(day, gap, fmt, patient):
    later = day + dt.timedelta(days=gap)
    if later.year > 2099:
        return
    gen = DEID.surrogates
    a = gen.surrogate(day.strftime(fmt), "DATE", patient, reference_year=2000)
    b = gen.surrogate(later.strftime(fmt), "DATE", patient, reference_year=2000)
    assert (_parse(b, fmt) - _parse(a, fmt)).days == gap


def _parse(text: str, fmt: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, fmt).date()
    except ValueError:  # "May" is its own abbreviation: a shifted "May 1" may come back as "June 30"
        return dt.datetime.strptime(text, fmt.replace("%b", "%B")).date()


@SETTINGS
@given(notes(), st.text(min_size=1, max_size=8))
def test_same_key_gives_same_output(text, patient):
    other = Deidentifier(keys=PatientKeys(b"0123456789abcdef0123456789abcdef"))
    first = DEID.transform(text, DEID.detect(text), mode="surrogate", patient_id=patient).text
    second = other.transform(text, other.detect(text), mode="surrogate", patient_id=patient).text
    assert first == second


def test_different_patients_get_different_shifts():
    shifts = {KEYS.date_shift_days(f"patient-{i}") for i in range(200)}
    assert len(shifts) > 150


@SETTINGS
@given(notes())
def test_spans_fit_the_text_and_do_not_overlap(text):
    spans = DEID.detect(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
