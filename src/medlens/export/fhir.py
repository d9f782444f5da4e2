"""``bundle.json``: one FHIR R4 transaction Bundle per run, from ``notes.extract`` and ``radiology.labels``.

``radiology.labels`` results become a DiagnosticReport and Observations (``medlens.export.fhir_radiology``).

The full mapping (and why each status was chosen) is in ``docs/output-schema.md``; in short, per record:

* the source document: a ``DocumentReference`` (identifier = record id, no text unless ``include_text``), or the
  resource the record was read from (``Document.meta["fhir_reference"]``, e.g. ``DocumentReference/abc``);
* one resource per exported finding: problem -> ``Condition`` (family experiencer -> ``FamilyMemberHistory``),
  medication -> ``MedicationStatement``, allergy -> ``AllergyIntolerance``, vital/lab -> ``Observation``,
  procedure -> ``Procedure``. Hypothetical findings and findings without evidence are not exported;
* every finding resource carries ``meta.security`` AIAST (v3-ObservationValue "Artificial Intelligence asserted")
  and one ``derivation-reference`` extension per evidence span (reference -> the source document, offset and
  length in characters of ``Document.text``);
* a ``Provenance`` whose targets are all of the record's resources, agent (role ``assembler``) -> the medlens
  ``Device`` entry, entity (role ``source``) -> the source document.

Output is deterministic: ``fullUrl``s are ``urn:uuid:`` UUIDv5s of the record id and finding index under a fixed
namespace, and the ``recorded`` time and version can be fixed by options. Entries are streamed to
``bundle.json.partial`` and renamed at ``close()``, so memory stays flat and a killed run leaves no half bundle.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Document, Evidence, RecordResult
from medlens.export.findings import medlens_version, notes_findings
from medlens.notes.schema import Attribute, Finding, MeasurementDetail, MedicationDetail, Quantity

if TYPE_CHECKING:
    from medlens.pathology.synoptic import PathologySynopticResult

__all__ = [
    "AIAST",
    "DERIVATION_REFERENCE",
    "FULL_URL_NAMESPACE",
    "FamilyRelationship",
    "FhirBundleWriter",
    "family_relationship",
    "record_entries",
]

# v3-ObservationValue AIAST, as used by the HL7 "AI Transparency on FHIR" guidance to tag AI-asserted data.
AIAST: dict[str, str] = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "AIAST",
    "display": "Artificial Intelligence asserted",
}
# FHIR Extensions Pack, "Resource Derivation Reference": sub-extensions reference (Reference), path (string),
# offset (integer), length (integer); der-1: length requires offset. Context: any Resource or Element.
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
# uuid5(NAMESPACE_URL, "urn:medlens:fhir-bundle"); fixed forever, so fullUrls are stable across runs and versions.
FULL_URL_NAMESPACE = uuid.UUID("9b967658-1c67-50e1-96f3-1de1eff2e6c6")
_NAMESPACE_BYTES = FULL_URL_NAMESPACE.bytes
RECORD_ID_SYSTEM = "urn:medlens:record-id"
PATIENT_ID_SYSTEM = "urn:medlens:patient-id"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_OBS_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_TIMING_ABBREVIATION = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
# FHIR R4 value set timing-abbreviation (codes of v3-GTSAbbreviation that Timing.code may use).
_TIMING_CODES = frozenset(
    {"BID", "TID", "QID", "AM", "PM", "QD", "QOD", "Q1H", "Q2H", "Q3H", "Q4H", "Q6H", "Q8H", "BED", "WK", "MO"}
)
_INTERPRETATION_DISPLAY = {
    "H": "High",
    "L": "Low",
    "N": "Normal",
    "A": "Abnormal",
    "HH": "Critical high",
    "LL": "Critical low",
}
# LOINC: 85354-9 Blood pressure panel with all children optional; 8480-6 Systolic; 8462-4 Diastolic (FHIR R4
# vital-signs profile "bp").
_BP_PANEL = {"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}
_BP_SYSTOLIC = {"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}
_BP_DIASTOLIC = {"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}
_DOCUMENT_TYPE = {
    "radiology": {"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"},
    "pathology": {"system": LOINC, "code": "11526-1", "display": "Pathology study"},
}
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_FHIR_SOURCE = re.compile(r"(DocumentReference|DiagnosticReport)/[A-Za-z0-9\-.]{1,64}")
_FHIR_DATETIME = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?")
_ISO_DURATION = re.compile(r"P(?:(\d+(?:\.\d+)?)([YMWD])|T(\d+(?:\.\d+)?)([HMS]))")
_DURATION_UNITS = {"Y": "a", "M": "mo", "W": "wk", "D": "d", "TH": "h", "TM": "min", "TS": "s"}


class FamilyRelationship(BaseModel):
    """A row of ``lexicon/family_relationships.yaml``: phrases of a cue -> a v3 RoleCode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phrases: tuple[str, ...] = Field(min_length=1, description="Lower-case phrases that name the relative.")
    code: str = Field(description="HL7 v3 RoleCode.")
    display: str = Field(description="Display of the code.")


class _RelationshipTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(description="Code system URI of the codes.")
    relationships: tuple[FamilyRelationship, ...] = Field(description="The rows.")


@functools.cache
def _relationships() -> tuple[str, re.Pattern[str], re.Pattern[str], dict[str, FamilyRelationship]]:
    table = load_yaml_lexicon("medlens.export", "family_relationships.yaml", _RelationshipTable)
    by_phrase = {p.lower(): row for row in table.relationships for p in row.phrases}

    def pattern(rows: list[str]) -> re.Pattern[str]:
        alternation = "|".join(re.escape(p) for p in sorted(rows, key=len, reverse=True))
        return re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE)

    generic = [p for p, row in by_phrase.items() if row.code == "FAMMEMB"]
    specific = [p for p, row in by_phrase.items() if row.code != "FAMMEMB"]
    return table.system, pattern(specific), pattern(generic), by_phrase


def family_relationship(cue_texts: list[str]) -> dict[str, str] | None:
    """The v3 RoleCode coding for the first relative named in ``cue_texts`` (FAMMEMB if only "family"), or None."""
    system, specific, generic, by_phrase = _relationships()
    for pattern in (specific, generic):
        for text in cue_texts:
            match = pattern.search(text)
            if match:
                row = by_phrase[match.group(0).lower()]
                return {"system": system, "code": row.code, "display": row.display}
    return None


# --- small FHIR datatypes -----------------------------------------------------------------------------------------


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _simple_quantity(value: float, q: Quantity, comparator: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _number(value)}
    if comparator:
        out["comparator"] = comparator
    if q.unit:
        out["unit"] = q.unit
    if q.ucum:
        out["system"] = UCUM
        out["code"] = q.ucum
    return out


def _quantity(q: Quantity | None) -> dict[str, Any] | None:
    if q is None or q.value is None:
        return None
    return _simple_quantity(q.value, q, q.comparator)


def _range(q: Quantity | None) -> dict[str, Any] | None:
    if q is None or q.low is None or q.high is None:
        return None
    return {"low": _simple_quantity(q.low, q), "high": _simple_quantity(q.high, q)}


def _concept(finding: Finding) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if finding.code is not None:
        coding = {"system": finding.code.system, "code": finding.code.code}
        if finding.code.display:
            coding["display"] = finding.code.display
        concept["coding"] = [coding]
    concept["text"] = finding.text
    return concept


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _attribute_concept(attribute: Attribute) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if attribute.code is not None:
        concept = _coded(attribute.code.system, attribute.code.code, attribute.code.display)
    concept["text"] = attribute.value or attribute.text
    return concept


def _fhir_datetime(attribute: Attribute | None) -> str | None:
    value = attribute.value if attribute is not None else None
    return value if value is not None and _FHIR_DATETIME.fullmatch(value) else None


def _instant(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.isoformat()


# --- one resource per finding -------------------------------------------------------------------------------------


class _Context:
    """What every resource of one record refers to."""

    def __init__(self, subject: dict[str, Any], source: str) -> None:
        self.subject = subject
        self.source = source

    def base(self, resource_type: str, finding: Finding) -> dict[str, Any]:
        return {
            "resourceType": resource_type,
            "meta": {"security": [dict(AIAST)]},
            "extension": [self.derivation(e) for e in finding.evidence],
        }

    def derivation(self, evidence: Evidence) -> dict[str, Any]:
        return {
            "url": DERIVATION_REFERENCE,
            "extension": [
                {"url": "reference", "valueReference": {"reference": self.source}},
                {"url": "offset", "valueInteger": evidence.start},
                {"url": "length", "valueInteger": evidence.end - evidence.start},
            ],
        }


def _condition(finding: Finding, ctx: _Context) -> dict[str, Any] | None:
    a = finding.assertion
    if a.family:
        return _family_member_history(finding, ctx)
    resource = ctx.base("Condition", finding)
    # condition-clinical "active" only for a current, affirmed problem: a historical mention may be resolved.
    if not (a.negated or a.uncertain or a.historical):
        resource["clinicalStatus"] = _coded(_CONDITION_CLINICAL, "active", "Active")
    # condition-ver-status: refuted = ruled out; provisional = a candidate still under consideration; an affirmed
    # mention found by software is "unconfirmed" (no clinician has verified the extraction).
    if a.negated:
        status = ("refuted", "Refuted")
    elif a.uncertain:
        status = ("provisional", "Provisional")
    else:
        status = ("unconfirmed", "Unconfirmed")
    resource["verificationStatus"] = _coded(_CONDITION_VER, *status)
    resource["code"] = _concept(finding)
    resource["subject"] = ctx.subject
    onset = _fhir_datetime(finding.date)
    if onset:
        resource["onsetDateTime"] = onset
    return resource


def _family_member_history(finding: Finding, ctx: _Context) -> dict[str, Any] | None:
    a = finding.assertion
    if a.negated or a.uncertain:
        return None  # R4 FamilyMemberHistory.condition can state neither absence nor doubt
    relationship = family_relationship([c.text for c in a.cues if c.status == "family"])
    if relationship is None:
        return None  # the relative is not named in the cue; never guess one
    resource = ctx.base("FamilyMemberHistory", finding)
    resource["status"] = "partial"
    resource["patient"] = ctx.subject
    resource["relationship"] = {"coding": [relationship], "text": relationship["display"]}
    resource["condition"] = [{"code": _concept(finding)}]
    return resource


def _medication_statement(finding: Finding, ctx: _Context) -> dict[str, Any] | None:
    a = finding.assertion
    if a.family:
        return None
    resource = ctx.base("MedicationStatement", finding)
    if a.negated:
        resource["status"] = "not-taken"
    elif a.uncertain:
        resource["status"] = "unknown"
    elif a.historical:
        resource["status"] = "completed"
    else:
        resource["status"] = "active"
    resource["medicationCodeableConcept"] = _concept(finding)
    resource["subject"] = ctx.subject
    effective = _fhir_datetime(finding.date)
    if effective:
        resource["effectiveDateTime"] = effective
    if finding.medication is not None:
        dosage = _dosage(finding.medication)
        if dosage:
            resource["dosage"] = [dosage]
    return resource


def _dosage(detail: MedicationDetail) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    written = [p.text for p in (detail.dose, detail.route, detail.frequency, detail.duration, detail.prn) if p]
    if written:
        dosage["text"] = " ".join(written)
    timing: dict[str, Any] = {}
    if detail.frequency is not None:
        value = (detail.frequency.value or "").upper()
        if value in _TIMING_CODES:
            timing["code"] = _coded(_TIMING_ABBREVIATION, value)
        else:
            timing["code"] = {"text": detail.frequency.value or detail.frequency.text}
    if detail.duration is not None and detail.duration.value:
        match = _ISO_DURATION.fullmatch(detail.duration.value)
        if match:
            amount = float(match.group(1) or match.group(3))
            unit = _DURATION_UNITS[match.group(2) or "T" + match.group(4)]
            timing["repeat"] = {
                "boundsDuration": {"value": _number(amount), "unit": unit, "system": UCUM, "code": unit}
            }
    if timing:
        dosage["timing"] = timing
    if detail.prn is not None:
        if detail.prn.code is not None:
            dosage["asNeededCodeableConcept"] = _attribute_concept(detail.prn)
        else:
            dosage["asNeededBoolean"] = True
    if detail.route is not None:
        dosage["route"] = _attribute_concept(detail.route)
    dose = detail.dose
    if dose is not None:
        if dose.value is not None and dose.comparator is None:  # Dosage uses SimpleQuantity: no comparator
            dosage["doseAndRate"] = [{"doseQuantity": _simple_quantity(dose.value, dose)}]
        elif (dose_range := _range(dose)) is not None:
            dosage["doseAndRate"] = [{"doseRange": dose_range}]
    return dosage


def _allergy_intolerance(finding: Finding, ctx: _Context) -> dict[str, Any] | None:
    a = finding.assertion
    if a.family:
        return None
    resource = ctx.base("AllergyIntolerance", finding)
    # ait-1: clinicalStatus SHALL be present unless entered-in-error. A refuted allergy ("NKDA") puts the patient at
    # no risk: "inactive"; any other mention keeps "active" (allergies stated as history are usually still held).
    if a.negated:
        resource["clinicalStatus"] = _coded(_ALLERGY_CLINICAL, "inactive", "Inactive")
        resource["verificationStatus"] = _coded(_ALLERGY_VER, "refuted", "Refuted")
    else:
        resource["clinicalStatus"] = _coded(_ALLERGY_CLINICAL, "active", "Active")
        resource["verificationStatus"] = _coded(_ALLERGY_VER, "unconfirmed", "Unconfirmed")
    resource["type"] = "allergy"
    if finding.allergy is not None and finding.allergy.category is not None:
        resource["category"] = [finding.allergy.category]
    resource["code"] = _concept(finding)
    resource["patient"] = ctx.subject
    if finding.allergy is not None and finding.allergy.reactions and not a.negated:
        resource["reaction"] = [{"manifestation": [_attribute_concept(r) for r in finding.allergy.reactions]}]
    return resource


def _observation(finding: Finding, ctx: _Context) -> dict[str, Any] | None:
    a = finding.assertion
    m = finding.measurement
    if a.negated or a.family or m is None:
        return None
    resource = ctx.base("Observation", finding)
    # "preliminary": read from free text by software and not verified; "final" would claim a verified result.
    resource["status"] = "preliminary"
    category = ("vital-signs", "Vital Signs") if finding.type == "vital" else ("laboratory", "Laboratory")
    resource["category"] = [_coded(_OBS_CATEGORY, *category)]
    resource["subject"] = ctx.subject
    effective = _fhir_datetime(finding.date)
    if effective:
        resource["effectiveDateTime"] = effective
    if m.value2 is not None:
        components = _blood_pressure(m)
        if not components:
            return None
        code = _concept(finding)
        codings = code.get("coding", [])
        if _BP_PANEL["code"] not in [c.get("code") for c in codings]:
            codings = [dict(_BP_PANEL), *codings]
        resource["code"] = {"coding": codings, "text": code["text"]}
        resource["component"] = components
    else:
        value = _value(m)
        if value is None:
            return None
        resource["code"] = _concept(finding)
        resource.update(value)
    if m.interpretation is not None:
        resource["interpretation"] = [
            _coded(_OBS_INTERPRETATION, m.interpretation, _INTERPRETATION_DISPLAY[m.interpretation])
        ]
    return resource


def _value(m: MeasurementDetail) -> dict[str, Any] | None:
    quantity = _quantity(m.value)
    if quantity is not None:
        return {"valueQuantity": quantity}
    value_range = _range(m.value)
    if value_range is not None:
        return {"valueRange": value_range}
    if m.text_value:
        return {"valueString": m.text_value}
    return None


def _blood_pressure(m: MeasurementDetail) -> list[dict[str, Any]]:
    components = []
    for coding, q in ((_BP_SYSTOLIC, m.value), (_BP_DIASTOLIC, m.value2)):
        quantity = _quantity(q)
        if quantity is not None:
            components.append({"code": {"coding": [dict(coding)]}, "valueQuantity": quantity})
    return components


def _procedure(finding: Finding, ctx: _Context) -> dict[str, Any] | None:
    a = finding.assertion
    if a.family:
        return None
    resource = ctx.base("Procedure", finding)
    resource["status"] = "not-done" if a.negated else "unknown" if a.uncertain else "completed"
    resource["code"] = _concept(finding)
    resource["subject"] = ctx.subject
    performed = _fhir_datetime(finding.date)
    if performed:
        resource["performedDateTime"] = performed
    return resource


_BUILDERS: dict[str, Callable[[Finding, _Context], dict[str, Any] | None]] = {
    "problem": _condition,
    "medication": _medication_statement,
    "allergy": _allergy_intolerance,
    "vital": _observation,
    "lab": _observation,
    "procedure": _procedure,
}


# --- per record ---------------------------------------------------------------------------------------------------


def _full_url(*parts: str) -> str:
    """``urn:uuid:`` + ``uuid5(FULL_URL_NAMESPACE, parts joined by U+001F)``, computed directly (3x faster)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # RFC 4122 version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _entry(full_url: str, resource: dict[str, Any], **request: str) -> dict[str, Any]:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }


def _patient_reference(patient_id: str | None, patient_system: str) -> dict[str, Any]:
    if patient_id is None:
        # Condition.subject and friends are 1..1; the input named no patient and medlens never invents one.
        return {"display": "patient not identified in the input"}
    if _FHIR_ID.fullmatch(patient_id):
        return {"reference": f"Patient/{patient_id}"}
    # Not a valid FHIR id: a logical reference by identifier instead of a literal one.
    return {"type": "Patient", "identifier": {"system": patient_system, "value": patient_id}}


def _document_reference(
    document: Document, *, include_text: bool, identifier_system: str, patient_system: str
) -> dict[str, Any]:
    data = document.text.encode("utf-8")
    attachment: dict[str, Any] = {"contentType": "text/plain; charset=utf-8"}
    if include_text:
        attachment["data"] = base64.b64encode(data).decode("ascii")
    attachment["size"] = len(data)
    attachment["hash"] = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")  # R4: SHA-1, base64
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": identifier_system, "value": document.id}],
        "status": "current",
    }
    if document.kind in _DOCUMENT_TYPE:
        resource["type"] = {"coding": [dict(_DOCUMENT_TYPE[document.kind])]}
    if document.patient_id is not None:
        resource["subject"] = _patient_reference(document.patient_id, patient_system)
    date = document.date
    if isinstance(date, dt.datetime) and date.tzinfo is not None:
        resource["date"] = date.isoformat()  # an instant needs a time zone
    resource["content"] = [{"attachment": attachment}]
    if date is not None:
        # A FHIR dateTime with a time needs a time zone; without one, only the day is certain.
        if isinstance(date, dt.datetime) and date.tzinfo is None:
            date = date.date()
        resource["context"] = {"period": {"start": date.isoformat()}}
    return resource


def _synoptic(result: RecordResult) -> PathologySynopticResult | None:
    """The ``pathology.synoptic`` result of ``result`` (None when the task did not run or failed)."""
    from medlens.pathology.synoptic import SYNOPTIC_TASK, PathologySynopticResult

    task: object = result.tasks.get(SYNOPTIC_TASK)
    if isinstance(task, PathologySynopticResult):
        return task
    if isinstance(task, Mapping):
        return PathologySynopticResult.model_validate(task)
    return None


def record_entries(
    document: Document,
    result: RecordResult,
    *,
    device_url: str,
    recorded: str,
    include_text: bool = False,
    identifier_system: str = RECORD_ID_SYSTEM,
    patient_system: str = PATIENT_ID_SYSTEM,
) -> list[dict[str, Any]]:
    """Bundle entries for one record, in order: DocumentReference, findings, radiology report, Provenance.

    Findings: one resource per exported ``notes.extract`` finding; radiology report: the ``radiology.labels``
    DiagnosticReport and its Observations (``medlens.export.fhir_radiology``); pathology: the ``pathology.synoptic``
    DiagnosticReport and its Observations (``medlens.pathology.synoptic.synoptic_resources``). The
    DocumentReference is left out when the record came from FHIR (``meta["fhir_reference"]``); the list is empty when
    nothing is exported.
    """
    # Imported here: fhir_radiology builds on this module's constants, so it imports this module.
    from medlens.export.fhir_radiology import radiology_labels, radiology_resources

    findings = notes_findings(result)
    labels = radiology_labels(result)
    synoptic = _synoptic(result)
    if not findings and labels is None and synoptic is None:
        return []
    fhir_source = document.meta.get("fhir_reference")
    own_document = not (isinstance(fhir_source, str) and _FHIR_SOURCE.fullmatch(fhir_source))
    source = _full_url(document.id, "document") if own_document else str(fhir_source)
    ctx = _Context(_patient_reference(document.patient_id, patient_system), source)
    entries: list[dict[str, Any]] = []
    for i, finding in enumerate(findings):
        if finding.assertion.hypothetical or not finding.evidence:
            continue
        resource = _BUILDERS[finding.type](finding, ctx)
        if resource is not None:
            entries.append(_entry(_full_url(document.id, str(i)), resource))
    if labels is not None:
        for url, resource in radiology_resources(
            labels, document, ctx, full_url=_full_url, identifier_system=identifier_system
        ):
            entries.append(_entry(url, resource))
    if synoptic is not None:
        from medlens.pathology.synoptic import synoptic_resources

        for url, resource in synoptic_resources(
            synoptic, document, ctx, full_url=_full_url, identifier_system=identifier_system
        ):
            entries.append(_entry(url, resource))
    if not entries:
        return []
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": e["fullUrl"]} for e in entries],
        "recorded": recorded,
        "agent": [
            {
                "type": _coded(_PARTICIPANT_TYPE, "assembler", "Assembler"),
                "who": {"reference": device_url},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": source}}],
    }
    head = []
    if own_document:
        resource = _document_reference(
            document, include_text=include_text, identifier_system=identifier_system, patient_system=patient_system
        )
        condition = f"identifier={quote(identifier_system, safe=':/')}|{quote(document.id, safe='')}"
        head.append(_entry(source, resource, ifNoneExist=condition))
    return [*head, *entries, _entry(_full_url(document.id, "provenance"), provenance)]


class FhirBundleWriter:
    """Write ``<out_dir>/bundle.json``: one FHIR R4 transaction Bundle for the whole run.

    Args:
        out_dir: Output folder (created if missing).
        include_text: Put the note text (base64) in each generated DocumentReference. Off by default: the bundle
            then holds no note text, only offsets, a size and a SHA-1 hash of it.
        recorded: Time stamped on the Bundle and every Provenance (default: now, UTC). Fix it for reproducible
            output.
        version: medlens version written on the Device (default: the installed version).
        identifier_system: System of the DocumentReference identifier holding the record id.
        patient_system: System of the Patient identifier used when a patient id is not a valid FHIR id.
        filename: File name inside ``out_dir``.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        include_text: bool = False,
        recorded: dt.datetime | None = None,
        version: str | None = None,
        identifier_system: str = RECORD_ID_SYSTEM,
        patient_system: str = PATIENT_ID_SYSTEM,
        filename: str = "bundle.json",
    ) -> None:
        self.filename = filename
        self.path = Path(out_dir) / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(filename + ".partial")
        self.include_text = include_text
        self.identifier_system = identifier_system
        self.patient_system = patient_system
        self.recorded = _instant(recorded or dt.datetime.now(dt.UTC))
        self.version = medlens_version(version)
        self.device_url = _full_url("device", "medlens", self.version)
        self.entries = 0
        self._fh: IO[str] | None = open(self._partial, "w", encoding="utf-8")  # noqa: SIM115
        head = {"resourceType": "Bundle", "type": "transaction", "timestamp": self.recorded}
        self._fh.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "entry": [\n')
        device = {
            "resourceType": "Device",
            "deviceName": [{"name": "medlens", "type": "manufacturer-name"}],
            "type": {"text": "clinical natural language processing software"},
            "version": [{"value": self.version}],
        }
        self._write_entry(_entry(self.device_url, device))

    def _write_entry(self, entry: dict[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"{self.filename} is closed")
        self._fh.write(("" if self.entries == 0 else ",\n") + json.dumps(entry, ensure_ascii=False))
        self.entries += 1

    def write(self, document: Document, result: RecordResult) -> None:
        """Add the entries of one record."""
        for entry in record_entries(
            document,
            result,
            device_url=self.device_url,
            recorded=self.recorded,
            include_text=self.include_text,
            identifier_system=self.identifier_system,
            patient_system=self.patient_system,
        ):
            self._write_entry(entry)

    def close(self) -> None:
        """Finish the Bundle and move it into place (idempotent)."""
        if self._fh is None:
            return
        self._fh.write("\n]}\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        os.replace(self._partial, self.path)

    def __enter__(self) -> FhirBundleWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
