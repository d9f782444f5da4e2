"""Transformation: redact, mask and surrogate outputs; documents; fail closed."""

import datetime as dt

import pytest

from medlens.core.types import Document
from medlens.safety.deid import DeidConfig, Deidentifier, DeidError, PatientKeys, PhiSpan

KEYS = PatientKeys(b"0123456789abcdef0123456789abcdef")
DEID = Deidentifier(keys=KEYS)
TEXT = "Patient: Hope Brown  MRN: 00456123  DOB: 03/04/1931  Phone 617-555-0134"


def _surrogate(original: str, phi_type: str, patient: str = "p1", year: int = 2000) -> str:
    return DEID.surrogates.surrogate(original, phi_type, patient, reference_year=year)  # type: ignore[arg-type]


def test_redact_replaces_each_span_with_its_type():
    out = DEID.transform(TEXT, DEID.detect(TEXT), mode="redact")
    assert out.text == "Patient: [NAME]  MRN: [MRN]  DOB: [DATE]  Phone [PHONE]"


def test_mask_keeps_length_and_layout():
    out = DEID.transform(TEXT, DEID.detect(TEXT), mode="mask")
    assert len(out.text) == len(TEXT)
    assert "DOB: **/**/****" in out.text
    assert "Phone ***-***-****" in out.text
    assert "**** *****" in out.text


def test_replacements_map_old_offsets_to_new_offsets():
    out = DEID.transform(TEXT, DEID.detect(TEXT), mode="redact")
    for r in out.replacements:
        assert out.text[r.new_start : r.new_end] == f"[{r.type}]"
        assert TEXT[r.start : r.end] not in out.text


def test_surrogate_keeps_date_format_and_shifts_by_patient_offset():
    shift = KEYS.date_shift_days("p1")
    expected = dt.date(2021, 3, 4) + dt.timedelta(days=shift)
    assert _surrogate("03/04/2021", "DATE") == expected.strftime("%m/%d/%Y")
    assert _surrogate("2021-03-04T10:00", "DATE") == expected.isoformat() + "T10:00"
    assert _surrogate("March 4, 2021", "DATE") == f"{expected:%B} {expected.day}, {expected.year}"


@pytest.mark.parametrize(
    ("original", "pattern"),
    [
        ("3/4", r"^\d{1,2}/\d{1,2}$"),
        ("March 4", r"^[A-Z][a-z]+ \d{1,2}$"),
        ("MARCH 4, 2021", r"^[A-Z]+ \d{1,2}, \d{4}$"),
        ("Jan 5th", r"^[A-Z][a-z]{2} \d{1,2}(st|nd|rd|th)$"),
        ("04-Mar-2021", r"^\d{2}-[A-Z][a-z]{2}-\d{4}$"),
        ("12/31/99", r"^\d{2}/\d{2}/\d{2}$"),
        ("Spring 2019", r"^(Winter|Spring|Summer|Fall) \d{4}$"),
        ("2019", r"^\d{4}$"),
    ],
)
def test_surrogate_date_keeps_its_form(original, pattern):
    import re

    new = _surrogate(original, "DATE")
    assert re.match(pattern, new), new
    assert new != original


def test_surrogate_age_over_89_is_aggregated():
    assert _surrogate("92", "AGE") == "90+"


@pytest.mark.parametrize(
    ("original", "layout"),
    [
        ("617-555-0134", "ddd-ddd-dddd"),
        ("(217) 555-0143", "(ddd) ddd-dddd"),
        ("123-45-6789", "ddd-dd-dddd"),
        ("00456123", "dddddddd"),
        ("XJH449120331", "LLLddddddddd"),
    ],
)
def test_surrogate_identifier_keeps_digit_layout(original, layout):
    new = _surrogate(original, "PHONE" if "(" in original or original.count("-") == 2 else "MRN")
    shape = "".join("d" if c.isdigit() else "L" if c.isalpha() else c for c in new)
    assert shape == layout
    assert new != original


def test_surrogate_zip_follows_the_three_digit_rule():
    assert _surrogate("62704", "ZIP") == "62700"
    assert _surrogate("62704-1234", "ZIP") == "62700-0000"
    assert _surrogate("03601", "ZIP") == "00000"  # 036: 20,000 or fewer people (HHS, 2000 Census)


def test_surrogate_name_is_realistic_and_keeps_case():
    new = _surrogate("Hope Brown", "NAME")
    assert new != "Hope Brown"
    assert len(new.split()) == 2
    assert new.istitle()
    assert _surrogate("HOPE BROWN", "NAME") == new.upper()


def test_surrogate_name_is_consistent_for_the_patient():
    assert _surrogate("Brown", "NAME").upper() == _surrogate("BROWN", "NAME")
    assert _surrogate("Hope Brown", "NAME").split()[1] == _surrogate("Dr. Brown", "NAME").split()[1]


def test_surrogate_email_url_ip_use_reserved_ranges():
    assert _surrogate("hope.brown@gmail.com", "EMAIL").endswith(("example.com", "example.net", "example.org"))
    assert "example" in _surrogate("https://portal.mercyhealth.org/login", "URL")
    assert _surrogate("192.168.10.24", "IP").startswith(("192.0.2.", "198.51.100.", "203.0.113."))


def test_surrogate_facility_keeps_its_kind():
    assert _surrogate("St. Mary's Hospital", "FACILITY").endswith(" Hospital")
    assert _surrogate("Mercy Medical Center", "FACILITY").endswith(" Medical Center")


def test_date_shift_off_reduces_dates_to_their_year():
    deid = Deidentifier(DeidConfig(date_shift=False), keys=KEYS)
    out = deid.transform("DOB: 03/04/1931, seen 3/4", deid.detect("DOB: 03/04/1931, seen 3/4"), mode="surrogate")
    assert out.text == "DOB: 1931, seen [DATE]"


def test_deidentify_returns_new_document_with_meta():
    doc = Document(
        id="r1",
        text=TEXT,
        patient_id="MRN00456123",
        date=dt.date(2021, 3, 15),
        source="notes/hope_brown.txt",
        meta={"specialty": "cardiology", "name": "Hope Brown"},
    )
    deid = Deidentifier(DeidConfig(keep_meta=["specialty"]), keys=KEYS)
    result = deid.deidentify(doc, mode="surrogate")
    out = result.document
    assert out.id == "r1"
    assert "Hope" not in out.text
    assert "00456123" not in out.text
    assert out.meta == {
        "specialty": "cardiology",
        "deid": {
            "mode": "surrogate",
            "version": "medlens.deid.text.v1",
            "counts": {"DATE": 1, "MRN": 1, "NAME": 1, "PHONE": 1},
        },
    }
    assert out.source is None
    assert out.patient_id is not None
    assert "00456123" not in out.patient_id
    assert out.date == dt.date(2021, 3, 15) + dt.timedelta(days=KEYS.date_shift_days("MRN00456123"))
    assert len(result.spans) == len(result.replacements) == 4


def test_deidentify_redact_drops_the_date():
    doc = Document(id="r1", text=TEXT, date=dt.date(2021, 3, 15))
    assert DEID.deidentify(doc, mode="redact").document.date is None


def test_spans_outside_the_text_fail_closed():
    span = PhiSpan(start=5, end=50, type="NAME", detector="test", confidence=1.0)
    with pytest.raises(DeidError) as info:
        DEID.transform("short text", [span], mode="redact")
    assert info.value.code == "ML602"


def test_overlapping_spans_fail_closed():
    spans = [
        PhiSpan(start=0, end=5, type="NAME", detector="test", confidence=1.0),
        PhiSpan(start=3, end=8, type="NAME", detector="test", confidence=1.0),
    ]
    with pytest.raises(DeidError) as info:
        DEID.transform("0123456789", spans, mode="redact")
    assert info.value.code == "ML602"


def test_detection_failure_fails_closed_without_text(monkeypatch):
    def boom(text: str) -> list[PhiSpan]:
        raise RuntimeError(text)

    deid = Deidentifier(keys=KEYS)
    monkeypatch.setattr(deid.detector, "detect", boom)
    with pytest.raises(DeidError) as info:
        deid.deidentify(Document(id="r9", text="Hope Brown secret"), mode="redact")
    assert info.value.code == "ML601"
    assert "Hope" not in str(info.value)
    assert info.value.__cause__ is None


def test_unknown_mode_is_refused():
    with pytest.raises(DeidError) as info:
        DEID.transform("x", [], mode="shred")  # type: ignore[arg-type]
    assert info.value.code == "ML602"
