"""DICOM header de-identification (PS3.15 Annex E Basic Profile) on pydicom's bundled test files.

Only files present in pydicom's local test_files folder are used: pydicom.data.get_testdata_file would try to
download anything else. Patient data in those files is synthetic test data shipped with pydicom.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pydicom = pytest.importorskip("pydicom")

from pydicom.datadict import get_entry  # noqa: E402
from pydicom.dataelem import DataElement  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.sr.codedict import codes  # noqa: E402

from medlens.core.errors import MissingDependencyError  # noqa: E402
from medlens.safety.deid.dicom import (  # noqa: E402
    DicomDeidError,
    DicomDeidOptions,
    PrivateTagRule,
    ProfileRow,
    deidentify_dataset,
    deidentify_folder,
    load_basic_profile,
)
from medlens.safety.deid.keys import PatientKeys  # noqa: E402

KEYS = PatientKeys(b"0123456789abcdef0123456789abcdef")
OTHER_KEYS = PatientKeys(b"fedcba9876543210fedcba9876543210")
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
PROFILE = load_basic_profile()


def _read(name: str) -> Dataset:
    return pydicom.dcmread(TEST_FILES / name, force=name == "rtstruct.dcm")


def _one(keyword: str, vr: str, value: object, *, patient_id: str = "P1") -> Dataset:
    """A dataset with a Patient ID and one element; invalid values (bad dates) are allowed in, as in real files."""
    ds = Dataset()
    ds.PatientID = patient_id
    tag = pydicom.datadict.tag_for_keyword(keyword)
    ds[tag] = DataElement(tag, vr, value, validation_mode=pydicom.config.IGNORE)
    return ds


def _shifted(yyyymmdd: str, patient_id: str) -> str:
    day = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    new = day + timedelta(days=KEYS.date_shift_days(patient_id))
    return f"{new.year:04d}{new.month:02d}{new.day:02d}"


def _as_part10(ds: Dataset, path: Path) -> None:
    """Give a dataset read without file meta (rtstruct.dcm) the meta of a Part 10 file and write it."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    ds.file_meta = meta
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


# ------------------------------------------------------------------------------------------------ the table


def test_profile_table_has_every_2024b_row():
    assert len(PROFILE.rows) == 620


def test_profile_file_names_its_source_and_licence():
    lexicon = resources.files("medlens.safety.deid").joinpath("lexicon").joinpath("dicom_basic_profile.tsv")
    text = lexicon.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any(line.startswith("# source: DICOM PS3.15 2024b") and "Table E.1-1" in line for line in header)
    assert any(line.startswith("# licence:") for line in header)


def test_profile_keywords_match_the_pydicom_dictionary():
    wrong = []
    for row in PROFILE.rows:
        group, element = row.tag[1:-1].split(",")
        # (50xx,xxxx) is every element of the curve groups; the dictionary names (50xx,3000) Curve Data
        tag = int(group.replace("x", "0") + element.replace("xxxx", "3000"), 16)
        keyword = get_entry(tag)[4]
        if keyword != row.keyword:
            wrong.append((row.tag, row.keyword, keyword))
    assert wrong == []


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("PatientName", "Z"),
        ("PatientID", "Z/D"),
        ("PatientBirthDate", "Z"),
        ("PatientAddress", "X"),
        ("OtherPatientIDsSequence", "X"),
        ("OtherPatientNames", "X"),
        ("InstitutionName", "X/Z/D"),
        ("InstitutionAddress", "X"),
        ("ReferringPhysicianName", "Z"),
        ("PerformingPhysicianName", "X"),
        ("OperatorsName", "X/Z/D"),
        ("StationName", "X/Z/D"),
        ("DeviceSerialNumber", "X/Z/D"),
        ("AccessionNumber", "Z"),
        ("PlacerOrderNumberImagingServiceRequest", "Z"),
        ("RequestAttributesSequence", "X"),
        ("StudyInstanceUID", "U"),
        ("SeriesInstanceUID", "U"),
        ("SOPInstanceUID", "U"),
        ("FrameOfReferenceUID", "U"),
        ("ReferencedSOPInstanceUID", "U"),
        ("ReferencedImageSequence", "X/Z/U*"),
        ("StudyDate", "Z"),
        ("SeriesDate", "X/D"),
        ("ContentDate", "Z/D"),
        ("AcquisitionDateTime", "X/Z/D"),
        ("ImageComments", "X"),
        ("ContentSequence", "D"),
    ],
)
def test_profile_row_matches_table_e_1_1(keyword, action):
    tag = pydicom.datadict.tag_for_keyword(keyword)
    row = PROFILE.lookup(tag)
    assert row is not None
    assert (row.keyword, row.basic) == (keyword, action)


@pytest.mark.parametrize(
    ("tag", "keyword"),
    [(0x60003000, "OverlayData"), (0x601E4000, "OverlayComments"), (0x50020010, "CurveData"), (0x60000010, None)],
)
def test_repeating_groups_are_matched_by_mask(tag, keyword):
    row = PROFILE.lookup(tag)
    assert (row.keyword if row else None) == keyword


def test_profile_row_rejects_an_unknown_action():
    with pytest.raises(ValueError, match="basic"):
        ProfileRow(tag="(0010,0010)", keyword="PatientName", name="Patient's Name", basic="Q")


def test_private_rule_rejects_an_even_group():
    with pytest.raises(ValueError, match="odd"):
        PrivateTagRule(group=0x0010, creator="ACME", element=0x10)


# -------------------------------------------------------------------------------------------- actions per VR


@pytest.mark.parametrize(
    ("keyword", "vr", "value", "expected"),
    [
        # D (X/Z/D, X/D resolve to D): a dummy of the VR
        ("InstitutionName", "LO", "Mercy General", "ANONYMIZED"),
        ("StationName", "SH", "CT-ROOM-3", "ANONYMIZED"),
        ("OperatorsName", "PN", "Doe^Jane", "ANONYMIZED"),
        ("DeviceSerialNumber", "LO", "SN-4711", "ANONYMIZED"),
        ("ProtocolName", "LO", "Chest for Smith", "ANONYMIZED"),
        ("ContrastBolusAgent", "LO", "Omnipaque", "ANONYMIZED"),
        # Z (and X/Z): zero length
        ("AccessionNumber", "SH", "ACC123456", ""),
        ("ReferringPhysicianName", "PN", "Smith^John", ""),
        ("StudyID", "SH", "STUDY42", ""),
        ("PatientSex", "CS", "F", ""),
        ("PatientSexNeutered", "CS", "ALTERED", ""),
        ("RequestedProcedureDescription", "LO", "CT chest for Mr Smith", ""),
        # K under the Retain Modified Dates Option: times and the timezone offset
        ("StudyTime", "TM", "101500", "101500"),
        ("TimezoneOffsetFromUTC", "SH", "-0500", "-0500"),
        # unlisted attributes are kept
        ("Manufacturer", "LO", "ACME Imaging", "ACME Imaging"),
        ("BodyPartExamined", "CS", "CHEST", "CHEST"),
        ("ReferencedSOPClassUID", "UI", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2"),
        # unlisted person names are emptied (beyond the table)
        ("EvaluatorName", "PN", "Brown^Hope", ""),
    ],
)
def test_action_replaces_value(keyword, vr, value, expected):
    ds = _one(keyword, vr, value)
    deidentify_dataset(ds, keys=KEYS)
    assert str(ds[keyword].value) == expected


@pytest.mark.parametrize(
    ("keyword", "vr", "value"),
    [
        ("ImageComments", "LT", "Pt John Smith, call 555-0100"),
        ("PatientAge", "AS", "045Y"),
        ("PatientWeight", "DS", "81.5"),
        ("OtherPatientIDs", "LO", "MRN-998877"),
        ("InstitutionAddress", "ST", "1 Main Street, Springfield"),
        ("PatientTelephoneNumbers", "SH", "555-0100"),
        ("PatientBirthTime", "TM", "083000"),
        ("StudyDescription", "LO", "CT chest"),
        ("AdmissionID", "LO", "ADM-55"),
    ],
)
def test_action_x_removes_element(keyword, vr, value):
    ds = _one(keyword, vr, value)
    deidentify_dataset(ds, keys=KEYS)
    assert keyword not in ds


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "UID"])
def test_action_u_remaps_uid_with_the_key(keyword):
    original = "1.2.826.0.1.3680043.8.498.1234567890"
    ds = _one(keyword, "UI", original)
    deidentify_dataset(ds, keys=KEYS)
    assert ds[keyword].value == KEYS.uid(original)


def test_action_u_remaps_every_value_of_a_multivalued_uid():
    ds = _one("FailedSOPInstanceUIDList", "UI", ["1.2.3.4.5.6", "1.2.3.4.5.7"])
    deidentify_dataset(ds, keys=KEYS)
    assert list(ds.FailedSOPInstanceUIDList) == [KEYS.uid("1.2.3.4.5.6"), KEYS.uid("1.2.3.4.5.7")]


def test_unlisted_instance_uid_is_remapped_and_dicom_root_uid_kept():
    ds = _one("MultiFrameSourceSOPInstanceUID", "UI", "1.2.3.999.1")
    ds.SOPClassesInStudy = ["1.2.840.10008.5.1.4.1.1.2"]
    deidentify_dataset(ds, keys=KEYS)
    assert ds.MultiFrameSourceSOPInstanceUID == KEYS.uid("1.2.3.999.1")
    assert ds.SOPClassesInStudy == "1.2.840.10008.5.1.4.1.1.2"


def test_unknown_public_tag_is_removed():
    ds = _one("Manufacturer", "LO", "ACME")
    ds.add_new(0x00189999, "LO", "unknown to the dictionary")
    deidentify_dataset(ds, keys=KEYS)
    assert 0x00189999 not in ds


@pytest.mark.parametrize(
    ("keyword", "expected_len"),
    [("RequestAttributesSequence", None), ("ReferencedStudySequence", 0), ("AcquisitionContextSequence", 0)],
)
def test_sequence_x_removes_and_x_z_empties(keyword, expected_len):
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds = _one(keyword, "SQ", Sequence([item]))
    deidentify_dataset(ds, keys=KEYS)
    assert (len(ds[keyword].value) if keyword in ds else None) == expected_len


# ---------------------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("keyword", "vr", "value", "expected"),
    [
        ("StudyDate", "DA", "20200115", _shifted("20200115", "P1")),
        ("StudyDate", "DA", "2020.01.15", _shifted("20200115", "P1")),  # legacy ACR-NEMA form, written as YYYYMMDD
        ("StudyDate", "DA", "", ""),
        (
            "DateOfLastCalibration",
            "DA",
            ["20190101", "20200229"],
            [_shifted("20190101", "P1"), _shifted("20200229", "P1")],
        ),
        ("ExpiryDate", "DA", "20251231", _shifted("20251231", "P1")),  # unlisted: shifted too
        ("AcquisitionDateTime", "DT", "20200115103000.123456+0100", _shifted("20200115", "P1") + "103000.123456+0100"),
        ("AcquisitionDateTime", "DT", "20200115", _shifted("20200115", "P1")),
        ("StudyUpdateDateTime", "DT", "20200115", _shifted("20200115", "P1")),  # unlisted DT
    ],
)
def test_date_is_shifted_by_the_patient_shift_keeping_format(keyword, vr, value, expected):
    ds = _one(keyword, vr, value)
    report = deidentify_dataset(ds, keys=KEYS)
    got = ds[keyword].value
    assert (list(got) if isinstance(expected, list) else got) == expected
    assert report.dates_shifted


@pytest.mark.parametrize(("value", "digits"), [("2020", 4), ("202006", 6)])
def test_partial_datetime_keeps_its_precision(value, digits):
    ds = _one("AcquisitionDateTime", "DT", value)
    deidentify_dataset(ds, keys=KEYS)
    assert len(ds.AcquisitionDateTime) == digits
    assert ds.AcquisitionDateTime.isdigit()


def test_invalid_date_is_removed_and_reported():
    ds = _one("ContentDate", "DA", "20201345")
    report = deidentify_dataset(ds, keys=KEYS)
    assert "ContentDate" not in ds
    assert [(n.keyword, n.note) for n in report.notes] == [("ContentDate", "invalid_date_removed")]


@pytest.mark.parametrize(
    ("keyword", "vr", "value", "expected"),
    [
        ("StudyDate", "DA", "20200115", ""),  # Z
        ("SeriesDate", "DA", "20200115", "19000101"),  # X/D -> D
        ("AcquisitionDateTime", "DT", "20200115103000", "19000101000000"),  # X/Z/D -> D
        ("StudyTime", "TM", "101500", ""),  # Z
    ],
)
def test_without_modified_dates_option_dates_follow_the_basic_column(keyword, vr, value, expected):
    ds = _one(keyword, vr, value)
    report = deidentify_dataset(ds, keys=KEYS, options=DicomDeidOptions(retain_modified_dates=False))
    assert ds[keyword].value == expected
    assert not report.dates_shifted
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"


@settings(max_examples=60, deadline=None)
@given(
    first=st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)),
    second=st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)),
    patient_id=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12),
)
def test_shift_keeps_intervals_and_changes_every_date(first, second, patient_id):
    ds = _one("StudyDate", "DA", first.strftime("%Y%m%d"), patient_id=patient_id)
    ds.SeriesDate = second.strftime("%Y%m%d")
    deidentify_dataset(ds, keys=KEYS)
    new_first, new_second = (date.fromisoformat(_iso(ds[k].value)) for k in ("StudyDate", "SeriesDate"))
    assert new_second - new_first == second - first
    assert new_first - first == timedelta(days=KEYS.date_shift_days(patient_id)) != timedelta(0)


def test_birth_date_is_emptied_by_default():
    ds = _read("rtstruct.dcm")
    deidentify_dataset(ds, keys=KEYS)
    assert ds.PatientBirthDate == ""


def test_shift_birth_date_keeps_the_interval_to_the_study():
    ds = _read("rtstruct.dcm")
    before = date.fromisoformat("2009-12-23") - date.fromisoformat("1969-12-31")
    assert (ds.StructureSetDate, ds.PatientBirthDate) == ("20091223", "19691231")
    deidentify_dataset(ds, keys=KEYS, options=DicomDeidOptions(shift_birth_date=True))
    after = date.fromisoformat(_iso(ds.StructureSetDate)) - date.fromisoformat(_iso(ds.PatientBirthDate))
    assert after == before
    assert ds.PatientBirthDate == _shifted("19691231", "tPhantom30sep")
    assert "Patient's Birth Date shifted (beyond Annex E)" in ds.DeidentificationMethod


def _iso(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def test_dates_use_the_shift_of_the_original_patient_id():
    ds = _read("CT_small.dcm")
    original = {k: ds[k].value for k in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")}
    deidentify_dataset(ds, keys=KEYS)
    assert {k: ds[k].value for k in original} == {k: _shifted(v, "1CT1") for k, v in original.items()}


# ------------------------------------------------------------------------------------------ patient identity


def test_patient_id_and_name_get_the_same_keyed_pseudonym():
    first = _one("PatientName", "PN", "Doe^John")
    second = _one("PatientName", "PN", "Doe^J")
    other = _one("PatientName", "PN", "Doe^John", patient_id="P2")
    for ds in (first, second, other):
        deidentify_dataset(ds, keys=KEYS)
    assert first.PatientID == second.PatientID != other.PatientID
    assert first.PatientID.startswith("ANON")
    assert str(first.PatientName) == "ANON^" + first.PatientID[4:]


def test_without_pseudonyms_patient_id_and_name_follow_the_table():
    ds = _one("PatientName", "PN", "Doe^John")
    deidentify_dataset(ds, keys=KEYS, options=DicomDeidOptions(pseudonymize_patient=False))
    assert (ds.PatientID, str(ds.PatientName)) == ("ANONYMIZED", "")  # Z/D -> D (2024b), Z


def test_identity_removed_and_method_codes_are_set():
    ds = _read("CT_small.dcm")
    deidentify_dataset(ds, keys=KEYS)
    assert ds.PatientIdentityRemoved == "YES"
    got = [(i.CodeValue, i.CodingSchemeDesignator, i.CodeMeaning) for i in ds.DeidentificationMethodCodeSequence]
    want = [
        codes.DCM.BasicApplicationConfidentialityProfile,
        codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption,
    ]
    assert got == [(c.value, c.scheme_designator, c.meaning) for c in want]
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_without_date_option_only_the_basic_profile_code_is_claimed():
    ds = _read("CT_small.dcm")
    deidentify_dataset(ds, keys=KEYS, options=DicomDeidOptions(retain_modified_dates=False))
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100"]


def test_file_meta_gets_the_new_sop_instance_uid_and_loses_ae_titles():
    ds = _read("CT_small.dcm")
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    original = ds.SOPInstanceUID
    deidentify_dataset(ds, keys=KEYS)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == KEYS.uid(original)
    assert "SourceApplicationEntityTitle" not in ds.file_meta


# ------------------------------------------------------------------------------------- private, sequences


def test_private_tags_are_removed_with_their_creators():
    ds = _read("CT_small.dcm")
    assert any(e.tag.is_private for e in ds)
    report = deidentify_dataset(ds, keys=KEYS)
    assert not any(e.tag.is_private for e in ds.iterall())
    assert report.actions["private_removed"] > 100


def test_allow_listed_private_tag_is_kept_with_its_creator():
    ds = _read("CT_small.dcm")
    rule = PrivateTagRule(group=0x0019, creator="GEMS_ACQU_01", element=0x03)
    value = ds[0x00191003].value
    deidentify_dataset(ds, keys=KEYS, options=DicomDeidOptions(private_allow=(rule,)))
    assert ds[0x00191003].value == value
    assert ds[0x00190010].value == "GEMS_ACQU_01"
    assert [e.tag for e in ds if e.tag.is_private] == [0x00190010, 0x00191003]


def test_private_tags_inside_sequences_are_removed():
    ds = _read("nested_priv_SQ.dcm")
    assert any(e.tag.is_private for e in ds.iterall())
    deidentify_dataset(ds, keys=KEYS)
    assert not any(e.tag.is_private for e in ds.iterall())


def test_uids_inside_sequences_are_remapped_and_class_uids_kept():
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.3.4.5.6.7"
    ds = _one("ReferencedImageSequence", "SQ", Sequence([item]))
    deidentify_dataset(ds, keys=KEYS)
    ref = ds.ReferencedImageSequence[0]
    assert (ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID) == (
        "1.2.840.10008.5.1.4.1.1.2",
        KEYS.uid("1.2.3.4.5.6.7"),
    )


def test_rtstruct_references_stay_consistent():
    ds = _read("rtstruct.dcm")
    frame = ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
    deidentify_dataset(ds, keys=KEYS)
    new_frame = ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
    assert new_frame == KEYS.uid(frame)
    assert {roi.ReferencedFrameOfReferenceUID for roi in ds.StructureSetROISequence} == {new_frame}


def test_content_sequence_d_replaces_text_and_keeps_structure():
    ds = _read("test-SR.dcm")
    before = [(e.keyword, str(e.value)) for e in ds.ContentSequence[0].iterall() if e.VR in ("CS", "UT", "PN")]
    deidentify_dataset(ds, keys=KEYS)
    after = [(e.keyword, str(e.value)) for e in ds.ContentSequence[0].iterall() if e.VR in ("CS", "UT", "PN")]
    assert [k for k, _ in after] == [k for k, _ in before]
    assert [(k, v) for k, v in after if k in ("ValueType", "RelationshipType")] == [
        (k, v) for k, v in before if k in ("ValueType", "RelationshipType")
    ]
    assert all(v == "ANONYMIZED" for k, v in after if k in ("TextValue", "PersonName"))


def test_overlay_group_is_removed_with_its_data():
    ds = _read("examples_overlay.dcm")
    assert 0x60003000 in ds
    deidentify_dataset(ds, keys=KEYS)
    assert not any(e.tag.group == 0x6000 for e in ds)


# ------------------------------------------------------------------------------------------- burned-in review


def _with(name: str, **attrs: object) -> Dataset:
    ds = _read(name)
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize(
    ("name", "attrs", "reasons"),
    [
        ("CT_small.dcm", {}, ()),
        ("CT_small.dcm", {"BurnedInAnnotation": "NO"}, ()),
        ("CT_small.dcm", {"BurnedInAnnotation": "YES"}, ("burned_in_annotation_yes",)),
        ("CT_small.dcm", {"RecognizableVisualFeatures": "YES"}, ("recognizable_visual_features",)),
        (
            "CT_small.dcm",
            {"ImageType": ["DERIVED", "SECONDARY", "SCREEN SAVE"]},
            ("screen_save_image_type", "burned_in_annotation_missing"),
        ),
        ("ExplVR_BigEnd.dcm", {}, ("ultrasound", "burned_in_annotation_missing")),
        ("ExplVR_BigEnd.dcm", {"BurnedInAnnotation": "NO"}, ("ultrasound",)),
        (
            "SC_rgb_rle.dcm",
            {},
            ("secondary_capture", "capture_modality", "converted_image", "burned_in_annotation_missing"),
        ),
        ("CT_small.dcm", {"EncapsulatedDocument": b"%PDF-1.4"}, ("encapsulated_document",)),
    ],
)
def test_images_that_may_show_identifying_pixels_are_flagged(name, attrs, reasons):
    report = deidentify_dataset(_with(name, **attrs), keys=KEYS)
    assert report.review_reasons == reasons
    assert report.needs_review == bool(reasons)


def test_leftover_copy_of_a_removed_value_flags_residual_identifier():
    ds = _one("InstitutionName", "LO", "Mercy General Hospital")
    ds.PositionReferenceIndicator = "Mercy General Hospital"  # unlisted, kept: a copy the table does not know
    assert deidentify_dataset(ds, keys=KEYS).review_reasons == ("residual_identifier",)


def test_original_inside_a_longer_word_is_not_a_leftover():
    ds = _one("InstitutionName", "LO", "TOSHIBA")
    ds.Manufacturer = "TOSHIBA_MEC"
    assert deidentify_dataset(ds, keys=KEYS).review_reasons == ()


# ---------------------------------------------------------------------------------------------- the folder


@pytest.fixture
def study_folder(tmp_path: Path) -> Path:
    """Bundled files plus: a second instance of CT_small's study referencing the first, rtstruct as Part 10,
    a text file, an unreadable DICOM file and a DICOM file without UIDs."""
    src = tmp_path / "in"
    (src / "nested").mkdir(parents=True)
    for name in ("CT_small.dcm", "MR_small.dcm", "SC_rgb_rle.dcm", "ExplVR_BigEnd.dcm", "test-SR.dcm", "README.txt"):
        shutil.copy(TEST_FILES / name, src / name)
    second = _read("CT_small.dcm")
    first_uid = second.SOPInstanceUID
    second.SOPInstanceUID = first_uid + ".2"
    second.file_meta.MediaStorageSOPInstanceUID = second.SOPInstanceUID
    ref = Dataset()
    ref.ReferencedSOPClassUID = second.SOPClassUID
    ref.ReferencedSOPInstanceUID = first_uid
    second.ReferencedImageSequence = Sequence([ref])
    second.save_as(src / "nested" / "CT_small_2.dcm")
    _as_part10(_read("rtstruct.dcm"), src / "nested" / "rtstruct.dcm")
    raw = (TEST_FILES / "CT_small.dcm").read_bytes()
    bad_vr = b"\x02\x00\x10\x00ZZ\x10\x00" + b"1.2.840.10008.1.2"[:16]
    (src / "corrupt.dcm").write_bytes(raw[:128] + b"DICM" + bad_vr)
    (src / "truncated.dcm").write_bytes(raw[:300])
    return src


def _by_source(report):
    return {r.source: r for r in report.files}


def test_folder_writes_clean_files_named_by_new_uids(study_folder, tmp_path):
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    ct = _by_source(report)["CT_small.dcm"]
    original = _read("CT_small.dcm")
    assert ct.status == "written"
    assert (
        ct.output
        == "/".join(
            [
                KEYS.uid(original.StudyInstanceUID),
                KEYS.uid(original.SeriesInstanceUID),
                KEYS.uid(original.SOPInstanceUID),
            ]
        )
        + ".dcm"
    )
    assert (tmp_path / "out" / ct.output).is_file()


def test_folder_puts_flagged_images_under_review(study_folder, tmp_path):
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    files = _by_source(report)
    for name in ("SC_rgb_rle.dcm", "ExplVR_BigEnd.dcm"):
        assert files[name].status == "review"
        assert files[name].output.startswith("review/")
        assert (tmp_path / "out" / files[name].output).is_file()
    assert report.review == 2


def test_folder_refuses_flagged_images_when_asked(study_folder, tmp_path):
    options = DicomDeidOptions(burned_in="refuse")
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS, options=options)
    sc = _by_source(report)["SC_rgb_rle.dcm"]
    assert (sc.status, sc.output, sc.error.code) == ("refused", None, "ML667")
    assert not (tmp_path / "out" / "review").exists()


def test_folder_skips_non_dicom_and_reports_failures_without_writing(study_folder, tmp_path):
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    files = _by_source(report)
    assert (files["README.txt"].status, files["README.txt"].error.code) == ("skipped", "ML661")
    assert (files["corrupt.dcm"].status, files["corrupt.dcm"].error.code) == ("failed", "ML662")
    assert (files["truncated.dcm"].status, files["truncated.dcm"].error.code) == ("failed", "ML663")
    assert (report.written, report.review, report.skipped, report.failed) == (5, 2, 1, 2)
    written = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(written) == 7
    assert not any(p.suffix == ".tmp" for p in (tmp_path / "out").rglob("*"))


def test_folder_report_is_json_serialisable_without_values(study_folder, tmp_path):
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    text = json.dumps(report.model_dump(mode="json"))
    assert "CompressedSamples" not in text
    assert json.loads(text)["failed"] == 2


_TEXT_LIKE_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC", "AE", "DA", "DT", "UI"})


def test_released_report_does_not_link_outputs_to_inputs(study_folder, tmp_path):
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS).for_release()
    assert {r.source for r in report.files} == {None}
    assert sum(1 for r in report.files if r.output) == 7


def _identifying_originals(ds: Dataset) -> set[bytes]:
    """Original values of profile attributes the profile does not keep, plus every name, date and instance UID."""
    found: set[bytes] = set()
    for elem in ds.iterall():
        if elem.tag.is_private or elem.VR in ("SQ", "OB", "OW", "UN"):
            continue
        row = PROFILE.lookup(elem.tag)
        kept = row is not None and row.modified_dates == "C" and elem.VR in ("TM", "SH")
        listed = row is not None and not kept
        if elem.VR not in _TEXT_LIKE_VRS:
            continue  # numbers and codes ("0.000000", "M") occur in any file by chance
        values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue) else [elem.value]
        for value in values:
            text = str(value).strip() if value is not None else ""
            is_instance_uid = (
                elem.VR == "UI"
                and not text.startswith("1.2.840.10008.")
                and not elem.keyword.endswith(("ClassUID", "SyntaxUID"))
                and elem.keyword != "CodingSchemeUID"  # names a coding scheme, not an instance
            )
            if len(text) >= 4 and (listed or elem.VR in ("PN", "DA", "DT") or is_instance_uid):
                found.add(text.encode("ascii", "ignore"))
    return found


def _kept_text(ds: Dataset) -> list[bytes]:
    """Values of unlisted text attributes, which the profile keeps ("TOSHIBA_MEC" holds "TOSHIBA")."""
    return [
        str(e.value).encode("ascii", "ignore")
        for e in ds.iterall()
        if not e.tag.is_private and PROFILE.lookup(e.tag) is None and e.VR in ("LO", "SH", "CS")
    ]


@pytest.mark.parametrize(
    "name",
    ["CT_small.dcm", "MR_small.dcm", "test-SR.dcm", "SC_rgb_rle.dcm", "ExplVR_BigEnd.dcm", "nested/rtstruct.dcm"],
)
def test_no_original_identifying_value_is_in_the_output_bytes(study_folder, tmp_path, name):
    original = pydicom.dcmread(study_folder / name)
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    result = _by_source(report)[name]
    out = pydicom.dcmread(tmp_path / "out" / result.output)
    # pydicom's implementation UID (file meta) shares pydicom's root with the Instance Creator UID of its test files
    data = (tmp_path / "out" / result.output).read_bytes().replace(out.file_meta.ImplementationClassUID.encode(), b"")
    kept = _kept_text(original)
    leaks = {v for v in _identifying_originals(original) if v in data and not any(v in k for k in kept)}
    assert leaks == set()
    assert not any(e.tag.is_private for e in out.iterall())
    assert out.PatientIdentityRemoved == "YES"


def test_same_study_gets_the_same_new_uids_and_references_follow(study_folder, tmp_path):
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    files = _by_source(report)
    first = pydicom.dcmread(tmp_path / "out" / files["CT_small.dcm"].output)
    second = pydicom.dcmread(tmp_path / "out" / files["nested/CT_small_2.dcm"].output)
    assert first.StudyInstanceUID == second.StudyInstanceUID
    assert first.FrameOfReferenceUID == second.FrameOfReferenceUID
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID


def test_same_key_gives_identical_output_and_another_key_other_uids(study_folder, tmp_path):
    one = deidentify_folder(study_folder, tmp_path / "one", keys=KEYS)
    two = deidentify_folder(study_folder, tmp_path / "two", keys=KEYS)
    three = deidentify_folder(study_folder, tmp_path / "three", keys=OTHER_KEYS)
    outputs = [r.output for r in one.files if r.output]
    assert outputs == [r.output for r in two.files if r.output]
    assert all((tmp_path / "one" / o).read_bytes() == (tmp_path / "two" / o).read_bytes() for o in outputs)
    assert set(outputs).isdisjoint(r.output for r in three.files if r.output)


def test_duplicate_sop_instance_is_not_written_twice(study_folder, tmp_path):
    shutil.copy(study_folder / "CT_small.dcm", study_folder / "nested" / "copy_of_ct.dcm")
    report = deidentify_folder(study_folder, tmp_path / "out", keys=KEYS)
    dup = _by_source(report)["nested/copy_of_ct.dcm"]
    assert (dup.status, dup.error.code) == ("failed", "ML666")


def test_output_folder_inside_input_is_not_read_back(study_folder):
    deidentify_folder(study_folder, study_folder / "out", keys=KEYS)
    again = deidentify_folder(study_folder, study_folder / "out", keys=KEYS)
    assert not any(r.source.startswith("out/") for r in again.files)


def test_output_folder_equal_to_input_is_refused(study_folder):
    with pytest.raises(DicomDeidError) as info:
        deidentify_folder(study_folder, study_folder, keys=KEYS)
    assert info.value.code == "ML666"


def test_missing_input_folder_is_reported(tmp_path):
    with pytest.raises(DicomDeidError) as info:
        deidentify_folder(tmp_path / "absent", tmp_path / "out", keys=KEYS)
    assert info.value.code == "ML668"


def test_missing_pydicom_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(MissingDependencyError) as info:
        deidentify_dataset(Dataset(), keys=KEYS)
    assert info.value.code == "ML501"
    assert "medlens[dicom]" in info.value.message


def test_big_endian_file_round_trips(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(TEST_FILES / "ExplVR_BigEnd.dcm", src)
    report = deidentify_folder(src, tmp_path / "out", keys=KEYS)
    out = pydicom.dcmread(tmp_path / "out" / report.files[0].output)
    assert out.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRBigEndian
    assert out.StudyDate == _shifted("19970424", "")  # no Patient ID: the shared shift of the empty id
