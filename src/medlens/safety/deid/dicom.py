"""DICOM header de-identification: DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile.

The action of every attribute comes from ``lexicon/dicom_basic_profile.tsv`` (Table E.1-1, 2024b, "Basic Prof."
column); this module applies it to every data element, recursively inside sequences:

* ``X`` remove; ``Z`` zero length; ``D`` a dummy value of the VR (``ANONYMIZED``, ``0``, ``19000101``...);
  ``U`` a new UID from :meth:`PatientKeys.uid` (same original -> same new UID in every file and run with the same
  key, so references such as Referenced SOP Instance UID inside sequences keep pointing at the right instance).
* Combined codes resolve to the action that keeps IOD conformance whatever the attribute's Type (this module has no
  per-IOD Type tables): ``Z/D`` -> D, ``X/Z`` -> Z, ``X/D`` -> D, ``X/Z/D`` -> D, ``X/Z/U*`` -> keep the sequence and
  remap the instance UIDs inside. A dummy carries no information, so this is as private as removal.
* ``D`` on a sequence keeps its items but replaces, inside them, every text value (AE, AS, LO, LT, PN, SH, ST, UC,
  UR, UT) by a dummy and empties binary values; codes (CS), numbers and tags stay so the structure stays readable.
* Retain Longitudinal Temporal Information with Modified Dates Option (Annex E, E.3.6; on by default): attributes
  marked ``C`` for the option keep their information with modified dates: DA values and the date part of DT values
  are shifted by the patient's keyed shift (:meth:`PatientKeys.date_shift_days` of the ORIGINAL Patient ID, the same
  shift the text de-identifier uses, so a patient's notes and images stay aligned); times (TM) and the time part of
  DT are kept, because a whole-day shift does not change them; Timezone Offset From UTC is kept. Format is kept
  (DT precision and offset; multiple values; empty values stay empty; the legacy ACR-NEMA ``YYYY.MM.DD`` is written
  as the valid ``YYYYMMDD``); a value that is not a valid date is removed and reported. With the option off,
  dates get the action of the Basic column (dummy ``19000101``, empty or removed).
* Patient's Birth Date is ``Z`` in Table E.1-1, also with the option: it is emptied unless ``shift_birth_date`` is
  set (a medlens option beyond Annex E, for studies that need age; it is written into
  De-identification Method).
* Patient ID and Patient's Name (``Z`` / ``Z/D``) get a keyed pseudonym (``ANON<12 hex>`` and ``ANON^<12 hex>``,
  HMAC of the original Patient ID) instead of an empty value, so a patient's series stay grouped
  (``pseudonymize_patient``); a dataset without Patient ID gets an empty Patient's Name.
* Private attributes (odd groups, Table E.1-1 "Private attributes": X) are removed, with their Private Creator
  elements, unless allow-listed by (group, creator, element) in :class:`DicomDeidOptions`.
* Beyond the table (``clean_unlisted``, on by default): dates of attributes not in the table are shifted too, person
  names are emptied, instance UIDs outside the DICOM root ``1.2.840.10008`` are remapped (class, transfer syntax and
  coding scheme UIDs are kept), public tags unknown to the data dictionary are removed, and a whole overlay group
  60xx is removed with its Overlay Data (Overlay Data alone would leave an inconsistent Overlay Plane module).
* Then Patient Identity Removed = ``YES``, De-identification Method, De-identification Method Code Sequence (CID
  7050: DCM 113100 "Basic Application Confidentiality Profile", plus 113107 "Retain Longitudinal Temporal
  Information Modified Dates Option" when dates were shifted), Longitudinal Temporal Information Modified, the file
  meta Media Storage SOP Instance UID set to the new SOP Instance UID, the source/sending AE titles removed from the
  file meta and the 128-byte preamble zeroed.

Pixel data is never changed. Images that may show text or faces in their pixels are listed for review: Burned In
Annotation ``YES``, secondary capture, ultrasound, visible-light photographs and video, capture modalities (SC, OT,
XC, ES, DOC), "SCREEN SAVE" image types, converted images (Conversion Type present), one of those without Burned In
Annotation, Recognizable Visual Features ``YES``, encapsulated documents (PDF, CDA...), and any output whose text
still contains an original identifying value. :func:`deidentify_folder` writes them under ``review/`` apart from the
clean outputs, or refuses to write them (``burned_in="refuse"``); it never mixes them silently.

Error codes (:class:`DicomDeidError`): ML661 not a DICOM file (skipped), ML662 DICOM file unreadable, ML663 required
UID missing, ML664 de-identification failed, ML665 output could not be written, ML666 output would overwrite an input
or another output, ML667 refused because it needs review, ML668 input folder not found. A file that fails is not
written (fail closed); the others continue. Messages name files, never attribute values.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medlens.core.errors import MedlensError, MissingDependencyError
from medlens.safety.deid.dicom_profile import CONFORMANT_ACTION, BasicProfile, ProfileRow, load_basic_profile
from medlens.safety.deid.keys import PatientKeys

if TYPE_CHECKING:
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset

__all__ = [
    "BasicProfile",
    "DicomDeidError",
    "DicomDeidNote",
    "DicomDeidOptions",
    "DicomDeidReport",
    "DicomFileError",
    "DicomFileResult",
    "FolderReport",
    "PrivateTagRule",
    "ProfileRow",
    "ReviewReason",
    "deidentify_dataset",
    "deidentify_folder",
    "load_basic_profile",
]

_LOG = logging.getLogger(__name__)
_FROZEN = ConfigDict(frozen=True, extra="forbid")
ReviewReason = Literal[
    "burned_in_annotation_yes", "burned_in_annotation_missing", "recognizable_visual_features", "secondary_capture",
    "ultrasound", "visible_light_photograph", "capture_modality", "screen_save_image_type", "converted_image",
    "encapsulated_document", "residual_identifier",
]  # fmt: skip
FileStatus = Literal["written", "review", "refused", "skipped", "failed"]

_DICOM_ROOT = "1.2.840.10008."
# PS3.6 Annex A (UID registry): Secondary Capture Image Storage and the four Multi-frame SC classes (.7.1-.7.4);
# Ultrasound Image (.6.1), Enhanced US Volume (.6.2), Photoacoustic (.6.3), Ultrasound Multi-frame (.3.1) and the
# two retired ultrasound classes (.6, .3); VL endoscopic/microscopic/photographic/whole-slide images and video (77.1).
_SOP = "1.2.840.10008.5.1.4.1.1."
_SECONDARY_CAPTURE = frozenset(_SOP + s for s in ("7", "7.1", "7.2", "7.3", "7.4"))
_ULTRASOUND = frozenset(_SOP + s for s in ("6.1", "6.2", "6.3", "3.1", "6", "3"))
_VISIBLE_LIGHT_PREFIX = _SOP + "77.1"
# PS3.3 C.7.3.1.1.1 Modality defined terms whose images are captures of screens, cameras or documents (US apart).
_CAPTURE_MODALITIES = frozenset({"SC", "OT", "XC", "ES", "DOC"})
_SCREEN_IMAGE_TYPES = frozenset({"SCREEN SAVE", "SCREENSAVE", "SCREENSHOT", "SCREEN CAPTURE", "DOSE_INFO"})
_CAPTURE_REASONS = frozenset({
    "secondary_capture", "ultrasound", "visible_light_photograph", "capture_modality", "screen_save_image_type",
    "converted_image",
})  # fmt: skip
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float Pixel Data, Double Float Pixel Data

_TEXT_VRS = frozenset({"AE", "AS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_NUMERIC_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})
_DUMMY_TEXT = "ANONYMIZED"
_DUMMY: dict[str, Any] = {
    "AS": "000Y", "DA": "19000101", "DT": "19000101000000", "TM": "000000", "DS": "0", "IS": "0", "AT": 0,
    "CS": _DUMMY_TEXT, **dict.fromkeys(_TEXT_VRS - {"AS"}, _DUMMY_TEXT), **dict.fromkeys(_NUMERIC_VRS, 0),
}  # fmt: skip
# Unlisted UIDs naming a class, syntax or coding resource rather than an instance: never remapped.
_NON_INSTANCE_UID_SUFFIXES = ("ClassUID", "SyntaxUID")
_NON_INSTANCE_UID_KEYWORDS = frozenset(
    {"CodingSchemeUID", "ContextUID", "MappingResourceUID", "ContextGroupExtensionCreatorUID"}
)
_FILE_META_REMOVED = (
    "SourceApplicationEntityTitle", "SendingApplicationEntityTitle", "ReceivingApplicationEntityTitle",
    "SourcePresentationAddress", "SendingPresentationAddress", "ReceivingPresentationAddress",
    "PrivateInformationCreatorUID", "PrivateInformation",
)  # fmt: skip
_REQUIRED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
_RESIDUAL_MIN_LENGTH = 6  # shorter originals ("M", "1", "CT") occur by chance in unrelated values
_RESIDUAL_VRS = frozenset({"PN", "UI", "LO", "SH", "LT", "ST", "UT", "UC", "AE"})

_DA = re.compile(r"^(\d{4})(\.?)(\d{2})\2(\d{2})$")
_DT = re.compile(
    r"^(?P<y>\d{4})(?:(?P<m>\d{2})(?:(?P<d>\d{2})(?P<time>\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?)?)?"
    r"(?P<tz>[+-]\d{4})?$"
)

# CID 7050 "De-identification Method" codes (PS3.16), scheme DCM.
_CODE_BASIC = ("113100", "Basic Application Confidentiality Profile")
_CODE_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")


class DicomDeidError(MedlensError):
    """A DICOM file could not be de-identified or written; codes ML661-ML668 (see the module docstring)."""

    code = "ML660"


# ---------------------------------------------------------------------------------------------- options, reports


class PrivateTagRule(BaseModel):
    """A private data element to keep: its group, the Private Creator of its block and its element offset."""

    model_config = _FROZEN

    group: int = Field(ge=0x0009, le=0xFFFF, description="Odd group number, e.g. 0x0019.")
    creator: str = Field(min_length=1, description="Private Creator value reserving the block, e.g. 'GEMS_ACQU_01'.")
    element: int = Field(ge=0x00, le=0xFF, description="Offset in the block: the low byte of the element number.")

    @field_validator("group")
    @classmethod
    def _odd_group(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("private groups are odd")
        return value


class DicomDeidOptions(BaseModel):
    """How to de-identify; defaults are the Basic Profile with the Retain Modified Dates Option."""

    model_config = _FROZEN

    retain_modified_dates: bool = Field(
        default=True,
        description="Annex E 'Retain Longitudinal Temporal Information with Modified Dates Option': shift dates by "
        "the patient's keyed shift instead of removing them.",
    )
    shift_birth_date: bool = Field(
        default=False,
        description="Shift Patient's Birth Date instead of emptying it (beyond Annex E, which always empties it).",
    )
    pseudonymize_patient: bool = Field(
        default=True, description="Patient ID and Patient's Name get a keyed pseudonym instead of an empty value."
    )
    clean_unlisted: bool = Field(
        default=True,
        description="Also shift unlisted dates, empty unlisted person names, remap unlisted instance UIDs and "
        "remove public tags unknown to the data dictionary.",
    )
    private_allow: tuple[PrivateTagRule, ...] = Field(
        default=(), description="Private data elements kept; every other private element is removed."
    )
    burned_in: Literal["review", "refuse"] = Field(
        default="review",
        description="Images that need review: write them under review/ ('review') or do not write them ('refuse').",
    )


class DicomDeidNote(BaseModel):
    """Something a reviewer should know about one data element (never its value)."""

    model_config = _FROZEN

    tag: str = Field(description="(GGGG,EEEE) of the data element.")
    keyword: str = Field(description="Its DICOM keyword ('' if unknown).")
    note: Literal["invalid_date_removed"] = Field(description="What happened.")


class DicomDeidReport(BaseModel):
    """What de-identification did to one dataset. Contains no original value and not the date shift."""

    model_config = _FROZEN

    sop_class_uid: str = Field(description="SOP Class UID (kept: it names the kind of object, not the patient).")
    modality: str | None = Field(description="Modality, if present.")
    study_instance_uid: str | None = Field(description="New Study Instance UID.")
    series_instance_uid: str | None = Field(description="New Series Instance UID.")
    sop_instance_uid: str | None = Field(description="New SOP Instance UID.")
    dates_shifted: bool = Field(description="Dates were shifted (Retain Modified Dates Option).")
    actions: dict[str, int] = Field(
        description="Data elements per action: D, Z, X, U, K (kept by the table), shift, pseudonym, "
        "private_removed, private_kept, unlisted_* (beyond the table)."
    )
    notes: tuple[DicomDeidNote, ...] = Field(default=(), description="Elements a reviewer should know about.")
    review_reasons: tuple[ReviewReason, ...] = Field(
        default=(), description="Why the pixels or text may still identify the patient; empty if none."
    )
    warnings: int = Field(default=0, description="Warnings pydicom raised about invalid input values (counted only).")

    @property
    def needs_review(self) -> bool:
        """True if a person must look at the output before it is released."""
        return bool(self.review_reasons)


class DicomFileError(BaseModel):
    """Why a file was skipped, refused or failed."""

    model_config = _FROZEN

    code: str = Field(description="Stable error code, ML661-ML668.")
    message: str = Field(description="What happened (never an attribute value).")


class DicomFileResult(BaseModel):
    """The outcome for one input file."""

    model_config = _FROZEN

    source: str | None = Field(description="Input path relative to the input folder (POSIX); None once released.")
    output: str | None = Field(default=None, description="Output path relative to the output folder, if written.")
    status: FileStatus = Field(description="written, review (written under review/), refused, skipped or failed.")
    report: DicomDeidReport | None = Field(default=None, description="De-identification report, if it ran.")
    error: DicomFileError | None = Field(default=None, description="Why the file was not written cleanly.")
    warnings: int = Field(default=0, description="Warnings pydicom raised while reading, cleaning or writing it.")


class FolderReport(BaseModel):
    """Outcome of :func:`deidentify_folder`; ``model_dump(mode="json")`` is JSON-serialisable.

    It links input paths (often named after patients or accession numbers) to outputs, so it can re-identify: keep
    it apart from the outputs, like the text mapping. :meth:`for_release` is the copy that may travel with them.
    """

    model_config = _FROZEN

    files: tuple[DicomFileResult, ...] = Field(description="One result per input file, sorted by path.")
    written: int = Field(description="Clean outputs written.")
    review: int = Field(description="Outputs written under review/ for a person to check.")
    refused: int = Field(description="Files that need review and were not written (burned_in='refuse').")
    skipped: int = Field(description="Files that are not DICOM.")
    failed: int = Field(description="DICOM files that failed and were not written.")
    options: DicomDeidOptions = Field(description="Options used.")

    def for_release(self) -> FolderReport:
        """The same report without input paths, so it no longer links outputs to the original files."""
        return self.model_copy(update={"files": tuple(f.model_copy(update={"source": None}) for f in self.files)})


# ------------------------------------------------------------------------------------------------- the dataset


def _require_pydicom() -> None:
    try:
        import pydicom  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            'DICOM de-identification needs pydicom; install it with: pip install "medlens[dicom]"', code="ML501"
        ) from exc


def _values(elem: DataElement) -> list[Any]:
    from pydicom.multival import MultiValue

    value = elem.value
    if value is None:
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _base_vr(vr: str) -> str:
    return vr.split(" or ")[0]  # ambiguous VRs such as "US or SS", "OB or OW"


def _shift_da(text: str, days: int) -> str | None:
    value = text.strip()
    if not value:
        return text
    if "-" in value:  # a query range: shift both ends
        ends = value.split("-")
        if len(ends) != 2:
            return None
        shifted = [_shift_da(end, days) if end else "" for end in ends]
        return None if None in shifted else "-".join(s or "" for s in shifted)
    match = _DA.match(value)
    if match is None:
        return None
    try:
        new = date(int(match[1]), int(match[3]), int(match[4])) + timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{new.year:04d}{new.month:02d}{new.day:02d}"  # the legacy ACR-NEMA "YYYY.MM.DD" is written as YYYYMMDD


def _shift_dt(text: str, days: int) -> str | None:
    value = text.strip()
    if not value:
        return text
    match = _DT.match(value)
    if match is None:
        return None
    # A DT with only a year or a month is shifted from the first day of that period and written at its precision.
    try:
        new = date(int(match["y"]), int(match["m"] or 1), int(match["d"] or 1)) + timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    if match["d"]:
        head = f"{new.year:04d}{new.month:02d}{new.day:02d}"
    elif match["m"]:
        head = f"{new.year:04d}{new.month:02d}"
    else:
        head = f"{new.year:04d}"
    return head + (match["time"] or "") + (match["tz"] or "")


class _Run:
    """One dataset's de-identification: the profile walk, counts and notes."""

    def __init__(self, keys: PatientKeys, options: DicomDeidOptions, patient_id: str) -> None:
        self.keys = keys
        self.options = options
        self.profile = load_basic_profile()
        self.patient_id = patient_id
        self.shift = keys.date_shift_days(patient_id or None) if options.retain_modified_dates else None
        self.counts: Counter[str] = Counter()
        self.notes: list[DicomDeidNote] = []
        self.originals: set[str] = set()  # identifying values replaced or removed, for the residual check

    # -- walk ---------------------------------------------------------------------------------------------------

    def clean(self, ds: Dataset, *, dummy: bool) -> None:
        kept_blocks: set[tuple[int, int]] = set()
        creators: list[int] = []
        overlay_groups: set[int] = set()
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private:
                if tag.is_private_creator:
                    creators.append(tag)
                elif self._private_allowed(ds, tag):
                    kept_blocks.add((tag.group, tag.element >> 8))
                    self.counts["private_kept"] += 1
                else:
                    del ds[tag]
                    self.counts["private_removed"] += 1
                continue
            if tag.element == 0x0000:  # group length: retired, and wrong once elements are removed
                del ds[tag]
                continue
            row = self.profile.lookup(tag)
            action = self._action(elem, row, dummy=dummy)
            if action == "X" and row is not None and row.keyword == "OverlayData":
                overlay_groups.add(tag.group)
            self._apply(ds, elem, action, listed=row is not None, dummy=dummy)
        for creator in creators:
            if (creator >> 16, creator & 0xFFFF) not in kept_blocks:
                del ds[creator]
                self.counts["private_removed"] += 1
        if overlay_groups and self.options.clean_unlisted:
            for elem in list(ds):
                if elem.tag.group in overlay_groups:
                    del ds[elem.tag]
                    self.counts["unlisted_X"] += 1

    def _private_allowed(self, ds: Dataset, tag: Any) -> bool:
        if not self.options.private_allow:
            return False
        creator = ds.get((tag.group << 16) | (tag.element >> 8))
        if creator is None:
            return False
        name = _text(creator.value)
        return any(
            rule.group == tag.group and rule.creator == name and rule.element == tag.element & 0xFF
            for rule in self.options.private_allow
        )

    def _action(self, elem: DataElement, row: ProfileRow | None, *, dummy: bool) -> str:
        vr = _base_vr(elem.VR)
        options = self.options
        if row is None:
            return self._unlisted_action(elem, vr, dummy=dummy)
        if row.keyword in ("PatientID", "PatientName") and options.pseudonymize_patient:
            return "pseudonym"
        if row.keyword == "PatientBirthDate" and options.shift_birth_date and self.shift is not None:
            return "shift"
        if self.shift is not None and row.modified_dates == "C":
            if vr in ("DA", "DT"):
                return "shift"
            if vr == "TM" or row.keyword == "TimezoneOffsetFromUTC":
                return "K"
            # any other VR (a binary timestamp) cannot be shifted: the Basic action applies
        action = CONFORMANT_ACTION[row.basic]
        if vr == "SQ":
            return {"X": "X", "Z": "Z", "D": "SQ_D"}.get(action, "SQ_D" if dummy else "SQ")
        if action == "U*":
            return "U" if vr == "UI" else "Z"
        if action == "U" and vr != "UI":
            return "D"
        if action == "K" and dummy:
            return self._unlisted_action(elem, vr, dummy=True)
        return action

    def _unlisted_action(self, elem: DataElement, vr: str, *, dummy: bool) -> str:
        if vr == "SQ":
            return "SQ_D" if dummy else "SQ"
        if not (self.options.clean_unlisted or dummy):
            return "K"
        if not elem.keyword:
            return "X"  # a public tag no data dictionary knows: nothing says it is safe
        if vr in ("DA", "DT"):
            return "shift" if self.shift is not None else "D"
        if vr == "UI":
            return "K" if _names_non_instance_uid(elem) else "U_instance"
        if vr == "PN":
            return "D" if dummy else "Z"
        if dummy:
            if vr == "TM":
                return "K" if self.shift is not None else "D"
            if vr in _TEXT_VRS:
                return "D"
            if vr in _BINARY_VRS:
                return "Z"
        return "K"

    # -- actions ------------------------------------------------------------------------------------------------

    def _apply(self, ds: Dataset, elem: DataElement, action: str, *, listed: bool, dummy: bool) -> None:
        from pydicom.dataelem import empty_value_for_VR

        if action in ("SQ", "SQ_D"):
            for item in elem.value:
                self.clean(item, dummy=action == "SQ_D")
            if action == "SQ_D":
                self.counts["D" if listed else "unlisted_D"] += 1
            return
        if action == "K":
            if listed:
                self.counts["K"] += 1
            return
        self._collect(elem, dummy=dummy)
        self.counts[action if listed else f"unlisted_{action}"] += 1
        vr = _base_vr(elem.VR)
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = empty_value_for_VR(vr)
        elif action == "D":
            elem.value = self._dummy(elem, vr)
        elif action in ("U", "U_instance"):
            only_instances = action == "U_instance"
            new = [
                v if not v or (only_instances and v.startswith(_DICOM_ROOT)) else self.keys.uid(v)
                for v in (_text(v) for v in _values(elem))
            ]
            elem.value = new if len(new) > 1 else (new[0] if new else empty_value_for_VR(vr))
        elif action == "shift":
            self._shift(ds, elem, vr)
        elif action == "pseudonym":
            elem.value = self._pseudonym(elem)
        else:  # pragma: no cover - every action above is exhaustive
            raise DicomDeidError(f"internal: unknown action {action!r}", code="ML664")

    def _dummy(self, elem: DataElement, vr: str) -> Any:
        if vr == "UI":
            return self.keys.uid(_text(elem.value) or "dummy")
        if vr in _BINARY_VRS:
            return b""
        return _DUMMY.get(vr, _DUMMY_TEXT)

    def _shift(self, ds: Dataset, elem: DataElement, vr: str) -> None:
        shift = self.shift if self.shift is not None else 0
        shifter = _shift_da if vr == "DA" else _shift_dt
        shifted = [shifter(_text(v), shift) for v in _values(elem)]
        if any(s is None for s in shifted):
            self.notes.append(DicomDeidNote(tag=_tag_text(elem.tag), keyword=elem.keyword, note="invalid_date_removed"))
            del ds[elem.tag]
            return
        if len(shifted) > 1:
            elem.value = shifted
        elif shifted:
            elem.value = shifted[0]

    def _pseudonym(self, elem: DataElement) -> str:
        original = _text(elem.value) if elem.keyword == "PatientID" else self.patient_id
        if not original:
            return ""
        code = self.keys.digest("dicom-patient-pseudonym", original).hex()[:12].upper()
        return f"ANON{code}" if elem.keyword == "PatientID" else f"ANON^{code}"

    def _collect(self, elem: DataElement, *, dummy: bool) -> None:
        """Remember identifying originals so the output can be checked for leftovers.

        Names and instance UIDs everywhere; other text only where the table itself acts on it (inside a D sequence
        codes and labels recur legitimately elsewhere in the dataset).
        """
        vr = _base_vr(elem.VR)
        if vr == "SQ":
            for item in elem.value:
                for inner in item.iterall():
                    if _base_vr(inner.VR) in ("PN", "UI"):
                        self._collect(inner, dummy=True)
            return
        if vr not in _RESIDUAL_VRS or (dummy and vr not in ("PN", "UI")) or _names_non_instance_uid(elem):
            return
        for value in _values(elem):
            text = _text(value)
            if len(text) >= _RESIDUAL_MIN_LENGTH and not text.startswith(_DICOM_ROOT) and text != _DUMMY_TEXT:
                self.originals.add(text)

    def residual_found(self, ds: Dataset) -> bool:
        if not self.originals:
            return False
        # whole values or whole words only: "TOSHIBA" in "TOSHIBA_MEC" is a manufacturer, not a leak
        alternatives = "|".join(re.escape(o) for o in sorted(self.originals, key=len, reverse=True))
        pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        for elem in ds.iterall():
            if _base_vr(elem.VR) in _RESIDUAL_VRS and any(pattern.search(_text(v)) for v in _values(elem)):
                return True
        return False


def _names_non_instance_uid(elem: DataElement) -> bool:
    keyword = elem.keyword
    return keyword.endswith(_NON_INSTANCE_UID_SUFFIXES) or keyword in _NON_INSTANCE_UID_KEYWORDS


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _review_reasons(ds: Dataset) -> list[ReviewReason]:
    """Why the pixel data (or an embedded document) may show identifying text or a face."""
    reasons: list[ReviewReason] = []
    sop_class = _text(ds.get("SOPClassUID"))
    modality = _text(ds.get("Modality")).upper()
    if any(tag in ds for tag in _PIXEL_TAGS):
        burned_in = _text(ds.get("BurnedInAnnotation")).upper()
        if burned_in == "YES":
            reasons.append("burned_in_annotation_yes")
        if _text(ds.get("RecognizableVisualFeatures")).upper() == "YES":
            reasons.append("recognizable_visual_features")
        if sop_class in _SECONDARY_CAPTURE:
            reasons.append("secondary_capture")
        if sop_class in _ULTRASOUND or modality in ("US", "IVUS"):
            reasons.append("ultrasound")
        if sop_class.startswith(_VISIBLE_LIGHT_PREFIX):
            reasons.append("visible_light_photograph")
        if modality in _CAPTURE_MODALITIES:
            reasons.append("capture_modality")
        image_type = {_text(v).upper() for v in _values(ds["ImageType"])} if "ImageType" in ds else set()
        if image_type & _SCREEN_IMAGE_TYPES:
            reasons.append("screen_save_image_type")
        if _text(ds.get("ConversionType")):
            reasons.append("converted_image")
        if burned_in == "" and set(reasons) & _CAPTURE_REASONS:
            reasons.append("burned_in_annotation_missing")
    if "EncapsulatedDocument" in ds:
        reasons.append("encapsulated_document")
    return reasons


def _mark_deidentified(ds: Dataset, options: DicomDeidOptions, *, shifted: bool) -> None:
    from pydicom.dataset import Dataset as PydicomDataset

    methods = ["DICOM PS3.15 Annex E Basic Profile (medlens v1)"]
    codes = [_CODE_BASIC]
    if shifted:
        methods.append("Retain Longitudinal Temporal Info Modified Dates")
        codes.append(_CODE_MODIFIED_DATES)
        if options.shift_birth_date:
            methods.append("Patient's Birth Date shifted (beyond Annex E)")
    if options.pseudonymize_patient:
        methods.append("Patient ID and Name: keyed pseudonym")
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = methods
    items = [PydicomDataset() for _ in codes]
    for item, (value, meaning) in zip(items, codes, strict=True):
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    ds.DeidentificationMethodCodeSequence = items
    ds.LongitudinalTemporalInformationModified = "MODIFIED" if shifted else "REMOVED"


def _clean_file_meta(ds: Dataset) -> None:
    from pydicom import __version_info__
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for keyword in _FILE_META_REMOVED:
            if keyword in meta:
                delattr(meta, keyword)
        # PS3.10 7.1: the implementation that writes the file is now pydicom (the source's may name its site)
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = f"PYDICOM {'.'.join(__version_info__)}"
        if _text(ds.get("SOPInstanceUID")):
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if getattr(ds, "preamble", None) is not None:
        ds.preamble = b"\x00" * 128


def deidentify_dataset(ds: Dataset, *, keys: PatientKeys, options: DicomDeidOptions | None = None) -> DicomDeidReport:
    """De-identify a pydicom dataset IN PLACE (pass ``copy.deepcopy(ds)`` to keep the original).

    Args:
        ds: The dataset, with its ``file_meta`` if it has one.
        keys: Keyed choices; the same secret gives the same UIDs, pseudonyms and date shift in every run.
        options: What to retain; the default is the Basic Profile with modified dates.

    Returns:
        What was done, and why the output still needs review (if it does). Without the date shift or any value.

    Raises:
        MissingDependencyError: ML501 if pydicom is not installed.
        ConfigError: ML205 if the packaged profile table is broken.
    """
    _require_pydicom()
    options = options or DicomDeidOptions()
    # pydicom warns about invalid input values as it converts them; they are counted, never shown (they quote values)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reasons = _review_reasons(ds)
        sop_class = _text(ds.get("SOPClassUID"))
        modality = _text(ds.get("Modality")) or None
        run = _Run(keys, options, _text(ds.get("PatientID")))
        run.clean(ds, dummy=False)
        _mark_deidentified(ds, options, shifted=run.shift is not None)
        _clean_file_meta(ds)
        if run.residual_found(ds):
            reasons.append("residual_identifier")
    return DicomDeidReport(
        sop_class_uid=sop_class,
        modality=modality,
        study_instance_uid=_text(ds.get("StudyInstanceUID")) or None,
        series_instance_uid=_text(ds.get("SeriesInstanceUID")) or None,
        sop_instance_uid=_text(ds.get("SOPInstanceUID")) or None,
        dates_shifted=run.shift is not None,
        actions=dict(sorted((k, v) for k, v in run.counts.items() if v)),
        notes=tuple(run.notes),
        review_reasons=tuple(reasons),
        warnings=len(caught),
    )


# -------------------------------------------------------------------------------------------------- the folder


def deidentify_folder(
    in_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    keys: PatientKeys,
    options: DicomDeidOptions | None = None,
) -> FolderReport:
    """De-identify every DICOM file under ``in_dir`` into ``out_dir``.

    Outputs are named from the new UIDs, ``<study>/<series>/<sop>.dcm``; outputs that need review go under
    ``review/<study>/<series>/<sop>.dcm`` (or are not written with ``burned_in="refuse"``). Files that are not DICOM
    (read with ``force=False``) are skipped and listed; a DICOM file that fails is listed with its code and not
    written; the others continue. Inputs are never overwritten; files already under ``out_dir`` are not read.

    Args:
        in_dir: Folder read recursively.
        out_dir: Folder written (created if needed); must not be ``in_dir``.
        keys: Keyed choices (UIDs, pseudonyms, date shifts), the same as for the patients' text.
        options: What to retain.

    Returns:
        One result per file plus counts; JSON-serialisable with ``model_dump(mode="json")``.

    Raises:
        DicomDeidError: ML668 if ``in_dir`` is not a folder, ML666 if ``out_dir`` is ``in_dir``.
        MissingDependencyError: ML501 if pydicom is not installed.
    """
    _require_pydicom()
    options = options or DicomDeidOptions()
    load_basic_profile()  # a broken table fails once, here, not once per file
    in_root = Path(in_dir).resolve()
    out_root = Path(out_dir).resolve()
    if not in_root.is_dir():
        raise DicomDeidError(f"input folder not found: {in_dir}; give a folder of DICOM files", code="ML668")
    if out_root == in_root:
        raise DicomDeidError("the output folder is the input folder; choose another output folder", code="ML666")
    sources = sorted(p for p in in_root.rglob("*") if p.is_file() and not p.resolve().is_relative_to(out_root))
    inputs = {p.resolve() for p in sources}
    taken: set[Path] = set()
    results = [_deidentify_file(src, in_root, out_root, inputs, taken, keys, options) for src in sources]
    counts: Counter[str] = Counter(r.status for r in results)
    _LOG.info(
        "dicom de-identification: %d written, %d for review, %d refused, %d skipped, %d failed",
        counts["written"], counts["review"], counts["refused"], counts["skipped"], counts["failed"],
    )  # fmt: skip
    statuses = ("written", "review", "refused", "skipped", "failed")
    return FolderReport(files=tuple(results), options=options, **{s: counts[s] for s in statuses})


def _deidentify_file(
    src: Path,
    in_root: Path,
    out_root: Path,
    inputs: set[Path],
    taken: set[Path],
    keys: PatientKeys,
    options: DicomDeidOptions,
) -> DicomFileResult:
    from pydicom import dcmread, dcmwrite
    from pydicom.errors import InvalidDicomError

    source = src.relative_to(in_root).as_posix()

    def failed(code: str, message: str, status: FileStatus = "failed", **extra: Any) -> DicomFileResult:
        return DicomFileResult(source=source, status=status, error=DicomFileError(code=code, message=message), **extra)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = dcmread(src, force=False)
        except InvalidDicomError:
            return failed("ML661", "not a DICOM file (no DICM prefix); skipped", status="skipped")
        except Exception as exc:  # any reader failure: fail closed, keep going
            return failed("ML662", f"cannot read the DICOM file ({type(exc).__name__})")
        missing = [k for k in _REQUIRED_UIDS if not _uid(ds, k)]
        if missing:
            return failed("ML663", f"required UID missing or empty: {', '.join(missing)}")
        try:
            report = deidentify_dataset(ds, keys=keys, options=options)
        except MedlensError as exc:
            return failed(exc.code, exc.message)
        except Exception as exc:  # fail closed on any unexpected value
            return failed("ML664", f"de-identification failed ({type(exc).__name__}); file not written")
        n_warnings = len(caught) + report.warnings
        if report.needs_review and options.burned_in == "refuse":
            return failed(
                "ML667", "needs review (" + ", ".join(report.review_reasons) + "); not written (burned_in=refuse)",
                status="refused", report=report, warnings=n_warnings,
            )  # fmt: skip
        parts = [_uid(ds, "StudyInstanceUID"), _uid(ds, "SeriesInstanceUID"), _uid(ds, "SOPInstanceUID") + ".dcm"]
        relative = Path("review", *parts) if report.needs_review else Path(*parts)
        target = out_root / relative
        if target.resolve() in inputs or target in taken:
            return failed(
                "ML666", "output would overwrite an input or another output (duplicate SOP Instance UID)",
                report=report, warnings=n_warnings,
            )  # fmt: skip
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            os.close(handle)
            try:
                dcmwrite(tmp_name, ds, enforce_file_format=True)
                os.replace(tmp_name, target)
            finally:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
        except Exception as exc:  # the file is not written; keep going
            return failed("ML665", f"cannot write the output ({type(exc).__name__})", report=report)
        taken.add(target)
        return DicomFileResult(
            source=source,
            output=relative.as_posix(),
            status="review" if report.needs_review else "written",
            report=report,
            warnings=len(caught) + report.warnings,
        )


def _uid(ds: Dataset, keyword: str) -> str:
    return _text(ds.get(keyword))
