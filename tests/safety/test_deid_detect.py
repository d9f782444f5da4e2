"""Detection tables: (text, expected (substring, type)) per PHI type, ALL-CAPS, OCR noise, traps."""

import itertools

import pytest

from medlens.safety.deid import DeidConfig, Deidentifier, DenyTerm, ExtraPattern, PatientKeys

KEYS = PatientKeys(b"0123456789abcdef0123456789abcdef")
DEID = Deidentifier(keys=KEYS)


def _found(text: str, deid: Deidentifier = DEID) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.type) for s in deid.detect(text)]


def _offsets(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


@pytest.mark.parametrize(
    ("text", "needle", "phi_type"),
    [
        # names: context
        ("Patient: Hope Brown, seen today.", "Hope Brown", "NAME"),
        # names in no lexicon, after a patient or name label
        ("Patient: Zyxwvut Quillfeather was seen.", "Zyxwvut Quillfeather", "NAME"),
        ("Patient: Quillfeather, Zyxwvut", "Quillfeather, Zyxwvut", "NAME"),
        ("PATIENT: QUILLFEATHER, ZYXWVUT\nDOB: 01/02/1950", "QUILLFEATHER, ZYXWVUT", "NAME"),
        ("PATIENT NAME: QUILLFEATHER, ZYXWVUT Q", "QUILLFEATHER, ZYXWVUT Q", "NAME"),
        ("Seen by Dr. Will Grant in clinic.", "Will Grant", "NAME"),
        ("Electronically signed by: Jennifer Q. Alvarez, MD", "Jennifer Q. Alvarez", "NAME"),
        ("Discussed with his wife, Mary, at bedside.", "Mary", "NAME"),
        ("d/w Zylstra at bedside", "Zylstra", "NAME"),
        ("cc: Smith, John", "Smith, John", "NAME"),
        ("Attending | Rosa Delgado-Pinto", "Rosa Delgado-Pinto", "NAME"),
        ("Her daughter Hope was present.", "Hope", "NAME"),
        # names: lexicon
        ("The patient, Thomas Anderson, was admitted.", "Thomas Anderson", "NAME"),
        ("Thank you for seeing my patient, J. Young, today.", "J. Young", "NAME"),
        # names: ALL-CAPS
        ("PATIENT: JOHN SMITH\nHISTORY: NONE.", "JOHN SMITH", "NAME"),
        ("MRS. WHITE LIVES WITH HER DAUGHTER GRACE.", "GRACE", "NAME"),
        # dates
        ("DOB: 03-04-1950", "03-04-1950", "DATE"),
        ("Admitted 2021-03-04T10:00 via ED", "2021-03-04T10:00", "DATE"),
        ("Seen Jan 5th for review", "Jan 5th", "DATE"),
        ("Follow up on 5 January.", "5 January", "DATE"),
        ("Return on the 2nd of March.", "2nd of March", "DATE"),
        ("Last seen in Spring 2019.", "Spring 2019", "DATE"),
        ("Symptoms since Christmas 2020.", "Christmas 2020", "DATE"),
        ("Seen on 3/4 and again later.", "3/4", "DATE"),
        ("Seen March 4, 2021 at 10:00 AM.", "March 4, 2021 at 10:00 AM", "DATE"),
        ("Result 04-Mar-2021 final", "04-Mar-2021", "DATE"),
        ("SEEN ON MARCH 4, 2021.", "MARCH 4, 2021", "DATE"),
        ("Quit smoking in 2019.", "2019", "DATE"),
        # ages over 89
        ("A 92-year-old woman", "92", "AGE"),
        ("aged 95 at admission", "95", "AGE"),
        # contact
        ("Phone (217) 555-0143 today", "(217) 555-0143", "PHONE"),
        ("Call 617-555-0134 ext. 221 if worse", "617-555-0134 ext. 221", "PHONE"),
        ("fax: 217.555.0199", "217.555.0199", "FAX"),
        ("Contact 376 704 7351.", "376 704 7351", "PHONE"),
        ("Email hope.brown@gmail.com please", "hope.brown@gmail.com", "EMAIL"),
        ("Portal https://portal.mercyhealth.org/login now", "https://portal.mercyhealth.org/login", "URL"),
        ("Host 192.168.10.24 down", "192.168.10.24", "IP"),
        ("Host fe80::1ff:fe23:4567:890a down", "fe80::1ff:fe23:4567:890a", "IP"),
        # identifiers
        ("SSN 123-45-6789.", "123-45-6789", "SSN"),
        ("MRN: 00456123", "00456123", "MRN"),
        ("Med Rec #: X5707633", "X5707633", "MRN"),
        ("Acc# S21-004512.", "S21-004512", "ACCESSION"),
        ("Billing account 8271-272-03", "8271-272-03", "ACCOUNT"),
        ("Member ID: XJH449120331", "XJH449120331", "HEALTH_PLAN"),
        ("DEA# AB1234563", "AB1234563", "LICENSE"),
        ("Insulin pump S/N 5363139400", "5363139400", "DEVICE_ID"),
        ("Ambulance unit plate HH 81691.", "HH 81691", "VEHICLE_ID"),
        ("VIN 1HGCM82633A004352 noted", "1HGCM82633A004352", "VEHICLE_ID"),
        # geography and facilities
        ("Lives at 123 Main Street, Apt 4, with wife", "123 Main Street, Apt 4", "ADDRESS"),
        ("Springfield, IL 62704", "Springfield", "LOCATION"),
        ("Springfield, IL 62704", "62704", "ZIP"),
        ("Follow up on May. 2nd, 2019.", "May. 2nd, 2019", "DATE"),
        ("12 Larch Grove Apt. 21\nHope, AR 71801", "Hope", "LOCATION"),
        ("Address: 7 Elm Court, Lake Dil1on, OK 99680", "Lake Dil1on", "LOCATION"),
        ("North Danielt own, MN 56615\nTel 555-0134", "North Danielt own", "LOCATION"),
        ("Lake Barryshire, OR 55 6l2\nTel 555-0134", "55 6l2", "ZIP"),
        ("Bates Clinic\n9 8638 Stephanie Hil1\nPittsburgh, PA 15219\n", "9 8638 Stephanie Hil1", "ADDRESS"),
        (
            "Lives nearby at 2574 Go1den Circ1e Apt. 360, Jenniferview, VA 8 1221.",
            "2574 Go1den Circ1e Apt. 360",
            "ADDRESS",
        ),
        ("| City:          | Hope             | ZIP:  | 71801 |", "Hope", "LOCATION"),
        ("She lives in Hope with her sister.", "Hope", "LOCATION"),
        ("She lives in Port Tony with her niece.", "Port Tony", "LOCATION"),
        ("Works as a teacher in Eugene. Drives.", "Eugene", "LOCATION"),
        ("Nurse will visit 12 Elm Oval Apt. 188, Burlington. Her niece helps.", "Burlington", "LOCATION"),
        ("She lives in Scranton with her son.", "Scranton", "LOCATION"),
        ("Resident of Cook County since birth", "Cook County", "LOCATION"),
        ("Seen at St. Mary's Hospital last week", "St. Mary's Hospital", "FACILITY"),
        ("Transferred from Mercy Medical Center.", "Mercy Medical Center", "FACILITY"),
        ("ADMITTED TO UNIVERSITY HOSPITAL OF CATHERINETON TODAY", "UNIVERSITY HOSPITAL OF CATHERINETON", "FACILITY"),
        # OCR noise
        ("DOB: O3/O4/2O21", "O3/O4/2O21", "DATE"),
        ("Collected: 20l2-11-18T12:53:00", "20l2-11-18T12:53:00", "DATE"),
        ("Phone 680.21O.4604 cell", "680.21O.4604", "PHONE"),
        ("Fax 542 90 5 9541 ext. 1772", "542 90 5 9541", "FAX"),
        ("Hospital, Fax 5 796667859 | Portal", "5 796667859", "FAX"),
        ("Springfield, IN l2952", "l2952", "ZIP"),
        ("Seen on 15 February 201 3.", "15 February 201 3", "DATE"),
        ("Discharged: 04/27/20 20", "04/27/20 20", "DATE"),
        ("Collected 2 024-05-13.", "2 024-05-13", "DATE"),
        ("CT dated 2O2l0703.", "2O2l0703", "DATE"),
        ("Called on 2024 0725 at 10:00", "2024 0725", "DATE"),
        ("Follow up on Febru ary 5, 2020.", "Febru ary 5, 2020", "DATE"),
        ("Called on November 2lst with concerns", "November 2lst", "DATE"),
        ("Last seen here on l6 May.", "l6 May", "DATE"),
        ("Fax: (61 7) 555-0134", "(61 7) 555-0134", "FAX"),
        ("Fax +1 617-55 5-0134 today", "+1 617-55 5-0134", "FAX"),
        ("Sent to hopebr own@gmail.com today", "hopebr own@gmail.com", "EMAIL"),
        ("Email hope.brown@gma il.com please", "hope.brown@gma il.com", "EMAIL"),
        ("EMAIL HOPE.BROWN@GMAIL.C0M NOW", "HOPE.BROWN@GMAIL.C0M", "EMAIL"),
        (
            "Portal: https://porta l.mercyhealth.org/patient/12 3456 (last",
            "https://porta l.mercyhealth.org/patient/12 3456",
            "URL",
        ),
        ("See http://www.example.com/news/archi ve.htm today", "http://www.example.com/news/archi ve.htm", "URL"),
        ("Host 19 2.168.10.24 down", "19 2.168.10.24", "IP"),
        ("Host 10.l0 0.12.24 down", "10.l0 0.12.24", "IP"),
        ("Host fe80:0:0:0:1ff:fe23:4567:89la down", "fe80:0:0:0:1ff:fe23:4567:89la", "IP"),
        # tables
        ("| Patient:       | Black, Brian L           | MRN:  | 1234567 |", "Black, Brian L", "NAME"),
        ("| City:          | Orlando          | ZIP:           | 51341       |", "51341", "ZIP"),
    ],
)
def test_when_identifier_written_then_found_with_type(text, needle, phi_type):
    assert (needle, phi_type) in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "History of Parkinson disease and Hodgkin lymphoma.",
        "Foley catheter placed; Bell's palsy resolved.",
        "There is hope for recovery. Will follow up in clinic.",
        "Stool is brown. She may need surgery.",
        "BP 120/80, 2/6 murmur, strength 5/5 bilaterally.",
        "Metformin 500 mg PO BID for 20 years.",
        "A 45-year-old man in room 12.",
        "Anesthesia: General endotracheal.",
        "Wolff-Parkinson-White pattern on ECG.",
        "Neck: Supple. Lungs: clear to auscultation.",
        "Discussed. May. 5 patients were seen.",
        "She lives in Assisted Living now.",
        "Version 1 2.3.4 installed.",
        "Patient: Alert and oriented.",
        "PATIENT: AFEBRILE, ALERT AND ORIENTED.",
        "SAMPLE NAME: CBC, DIFF",
    ],
)
def test_when_no_identifier_then_nothing_found(text):
    assert _found(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See https://www.example.org/help and/or call.", [("https://www.example.org/help", "URL")]),
        ("Email ann@x.org and hope.brown@gmail.com", [("ann@x.org", "EMAIL"), ("hope.brown@gmail.com", "EMAIL")]),
    ],
)
def test_when_ocr_tolerant_pattern_meets_prose_then_prose_is_left_alone(text, expected):
    assert _found(text) == expected


def test_spans_are_sorted_and_do_not_overlap():
    text = "Patient: Hope Brown  MRN: 00456123  DOB: 03/04/1931  Phone 617-555-0134  Dr. Will Grant"
    spans = DEID.detect(text)
    assert spans
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_span_carries_detector_and_confidence_not_text():
    span = DEID.detect("MRN: 00456123")[0]
    assert span.detector.startswith("medlens.deid.mrn.")
    assert span.detector.endswith(".v1")
    assert 0.0 < span.confidence <= 1.0
    assert "00456123" not in span.model_dump_json()


def test_offsets_index_the_text():
    text = "Seen by Dr. Will Grant on 03/04/2021."
    spans = DEID.detect(text)
    assert [(s.start, s.end) for s in spans] == [_offsets(text, "Will Grant"), _offsets(text, "03/04/2021")]


def test_common_word_name_needs_context():
    assert _found("Will follow up next week.") == []
    assert ("Will", "NAME") in _found("Discussed with Will at bedside.")


def test_name_found_once_is_found_again_in_the_text():
    text = "Patient: Hope Brown\nHope reports chest pain."
    found = _found(text)
    assert found.count(("Hope", "NAME")) == 1


def test_allow_list_drops_a_term():
    deid = Deidentifier(DeidConfig(allow=["Zylstra"]), keys=KEYS)
    assert _found("d/w Zylstra at bedside", deid) == []


def test_deny_list_adds_site_terms():
    deid = Deidentifier(DeidConfig(deny=[DenyTerm(term="Ward 7 East", type="FACILITY")]), keys=KEYS)
    assert ("ward 7 east", "FACILITY") in _found("moved to ward 7 east today", deid)


def test_extra_pattern_adds_site_identifier():
    deid = Deidentifier(DeidConfig(extra_patterns=[ExtraPattern(type="MRN", regex=r"\bQZ\d{4}\b")]), keys=KEYS)
    assert ("QZ1234", "MRN") in _found("see QZ1234", deid)


def test_types_setting_limits_detection():
    deid = Deidentifier(DeidConfig(types=["DATE"]), keys=KEYS)
    assert _found("Dr. Will Grant saw her on 03/04/2021.", deid) == [("03/04/2021", "DATE")]


def test_keep_year_leaves_bare_years():
    deid = Deidentifier(DeidConfig(keep_year=True), keys=KEYS)
    assert _found("Quit smoking in 2019.", deid) == []


def test_min_confidence_drops_weak_spans():
    strict = Deidentifier(DeidConfig(min_confidence=0.99), keys=KEYS)
    assert _found("Jennifer reports improvement.", strict) == []


def test_invalid_extra_pattern_is_refused():
    with pytest.raises(ValueError, match="regular expression"):
        ExtraPattern(type="ID", regex="(")


def test_spaced_digits_without_a_phone_cue_are_not_phones():
    from medlens.safety.deid import Deidentifier

    text = "Dispense 5 796667859 units"
    assert [s.type for s in Deidentifier().detect(text) if s.type in ("PHONE", "FAX")] == []
