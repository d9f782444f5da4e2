import pytest

from medlens.core.errors import ConfigError
from medlens.safety.deid.keys import MAX_DATE_SHIFT_DAYS, PatientKeys

KEYS = PatientKeys(b"0123456789abcdef0123456789abcdef")


def test_date_shift_is_per_patient_nonzero_and_bounded():
    shifts = {KEYS.date_shift_days(f"p{i}") for i in range(500)}
    assert 0 not in shifts
    assert all(-MAX_DATE_SHIFT_DAYS <= s <= MAX_DATE_SHIFT_DAYS for s in shifts)
    assert len(shifts) > 100
    assert KEYS.date_shift_days("p1") == KEYS.date_shift_days("p1")


def test_other_secret_gives_other_values():
    other = PatientKeys(b"fedcba9876543210fedcba9876543210")
    assert [other.date_shift_days(f"p{i}") for i in range(20)] != [KEYS.date_shift_days(f"p{i}") for i in range(20)]


def test_uid_remap_is_consistent_and_valid():
    uid = KEYS.uid("1.2.840.113619.2.55.3.604688119")
    assert uid == KEYS.uid("1.2.840.113619.2.55.3.604688119")
    assert uid.startswith("2.25.")
    assert len(uid) <= 64
    assert uid != KEYS.uid("1.2.3")


def test_short_secret_is_refused():
    with pytest.raises(ConfigError) as info:
        PatientKeys(b"short")
    assert info.value.code == "ML206"
