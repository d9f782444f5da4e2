"""FHIR R4 reader: DocumentReference and DiagnosticReport resources, alone, in a Bundle or as NDJSON lines.

Resources are validated with ``fhir.resources`` (R4B models, which cover R4 for these two resources) before any
field is read. What becomes of each resource:

* **DocumentReference** — text from the first ``content[].attachment`` that is ``text/plain`` (or has no content
  type): ``data`` (base64, decoded with the ``charset`` of ``contentType``, UTF-8 by default) or a ``url`` naming a
  local file relative to the input file (it must stay inside the input file's folder; remote URLs are never
  fetched). Date from ``date``, else ``context.period.start``. Kind from ``type``/``category`` codings.
* **DiagnosticReport** — text from the first usable ``presentedForm`` attachment, else ``conclusion``. Date from
  ``effectiveDateTime``, ``effectivePeriod.start`` or ``issued``. Kind from ``category``/``code`` codings.
* Kinds: see ``lexicon/fhir_document_kinds.yaml`` (LOINC 18748-4 -> radiology, 11526-1 -> pathology; HL7 v2-0074
  RAD, CT, NMR, NMS, RUS, OUS, VUS, XRC -> radiology; PAT, SP, CP -> pathology); anything else is ``note``.
* Patient id from ``subject``: ``Patient/<id>``, an absolute URL ending in ``Patient/<id>``, or the ``fullUrl`` of a
  Patient entry in the same Bundle (its ``id``). Partial FHIR dates (year or year-month) are left unset.
* ``Document.meta["fhir_reference"] = "<ResourceType>/<id>"`` when the resource has an id, so writers can point
  back at it; ``Document.id`` is the resource id (else its first identifier value).
* A Bundle or NDJSON file is a collection: other resource types in it (Patient, Practitioner...) are skipped
  silently, and resources with status ``entered-in-error`` are skipped; a collection with no document resource at
  all gives one ML105. A single top-level resource of another type gives ML105 naming the accepted types.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import functools
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import InputError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Document
from medlens.io.readers import (
    DEFAULT_MAX_BYTES,
    EncodingErrors,
    decode_utf8,
    parse_iso_date,
    read_file_bytes,
    read_file_text,
)

__all__ = ["ACCEPTED_RESOURCE_TYPES", "DocumentKindCode", "document_kind_codes", "read_fhir"]

log = logging.getLogger(__name__)

ACCEPTED_RESOURCE_TYPES: tuple[str, ...] = ("DocumentReference", "DiagnosticReport")
_SKIPPED_STATUS = "entered-in-error"
_PATIENT_URL = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
_MAX_ERRORS_SHOWN = 3

Result = Document | InputError


class DocumentKindCode(BaseModel):
    """One coding that decides a record's kind (a row of ``lexicon/fhir_document_kinds.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(description="Code system URI.")
    code: str = Field(description="The code.")
    display: str = Field(description="Display of the code in its terminology.")
    kind: Literal["radiology", "pathology"] = Field(description="Document kind the coding implies.")


class _KindTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    codes: tuple[DocumentKindCode, ...] = Field(description="The codings, in order of preference.")


@functools.cache
def document_kind_codes() -> tuple[DocumentKindCode, ...]:
    """The codings that make a FHIR document a radiology or pathology record."""
    return load_yaml_lexicon("medlens.io", "fhir_document_kinds.yaml", _KindTable).codes


@functools.cache
def _kind_of_coding() -> dict[tuple[str, str], str]:
    return {(c.system, c.code): c.kind for c in document_kind_codes()}


@functools.cache
def _models() -> dict[str, Any]:
    # Imported on first use: fhir.resources takes a noticeable time to import and most runs read no FHIR.
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport
    from fhir.resources.R4B.documentreference import DocumentReference

    return {"DocumentReference": DocumentReference, "DiagnosticReport": DiagnosticReport}


class _Where:
    """Where a resource came from: file, line (NDJSON) or Bundle entry index, for sources and errors."""

    def __init__(self, file: Path, *, line: int | None = None, entry: int | None = None) -> None:
        self.file = file
        self.line = line
        self.entry = entry

    @property
    def source(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.entry is not None:
            return f"{self.file}#entry[{self.entry}]"
        return str(self.file)

    def error(self, message: str, code: str) -> InputError:
        prefix = f"Bundle entry {self.entry}: " if self.entry is not None else ""
        return InputError(prefix + message, code=code, source=str(self.file), line=self.line)


def read_fhir(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding_errors: EncodingErrors = "strict",
) -> Iterator[Result]:
    """Read a FHIR R4 JSON file (one resource or a Bundle) or NDJSON file (one resource per line).

    Args:
        path: ``.json`` (one resource), ``.ndjson``/``.jsonl`` (one per line); other names are sniffed.
        max_bytes: Larger files (and attachment files) give ML107.
        encoding_errors: See ``medlens.io.readers.decode_utf8``.

    Yields:
        Documents, or InputErrors: ML101-ML103, ML104 (missing field, no usable text, remote URL), ML105 (wrong
        resource type), ML106 (fails FHIR validation), ML107, ML108.
    """
    file = Path(path)
    source = str(file)
    text = read_file_text(file, max_bytes=max_bytes, encoding_errors=encoding_errors)
    if isinstance(text, InputError):
        yield text
        return
    options = {"max_bytes": max_bytes, "encoding_errors": encoding_errors}
    if file.suffix.lower() not in (".ndjson", ".jsonl"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if file.suffix.lower() == ".json" or "\n" not in text.strip():
                yield InputError(
                    f"invalid JSON at column {exc.colno} ({exc.msg})", code="ML103", source=source, line=exc.lineno
                )
                return
        else:
            yield from _read_top_level(obj, _Where(file), options)
            return
    yield from _read_ndjson(file, text, options)


def _read_top_level(obj: Any, where: _Where, options: Mapping[str, Any]) -> Iterator[Result]:
    if not isinstance(obj, dict):
        yield where.error(f"file holds a JSON {type(obj).__name__}, expected a FHIR resource object", "ML103")
        return
    resource_type = obj.get("resourceType")
    if resource_type == "Bundle":
        yield from _read_bundle(obj, where, options)
    elif resource_type in ACCEPTED_RESOURCE_TYPES:
        yield from _read_resource(obj, where, {}, options)
    elif not isinstance(resource_type, str):
        yield where.error("field 'resourceType' is missing; this is not a FHIR resource", "ML104")
    else:
        yield where.error(
            f"resource type {resource_type!r} holds no document; medlens reads "
            f"{', '.join(ACCEPTED_RESOURCE_TYPES)} or a Bundle of them",
            "ML105",
        )


_AI_ASSERTED = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "AIAST")


def _ai_asserted(resource: Mapping[str, Any]) -> bool:
    """True when the resource carries the AIAST security label (machine-asserted content)."""
    meta = resource.get("meta")
    labels = meta.get("security") if isinstance(meta, dict) else None
    if not isinstance(labels, list):
        return False
    return any(isinstance(c, dict) and (c.get("system"), c.get("code")) == _AI_ASSERTED for c in labels)


def _read_bundle(bundle: dict[str, Any], where: _Where, options: Mapping[str, Any]) -> Iterator[Result]:
    entries = bundle.get("entry")
    if entries is None or entries == []:
        yield where.error("Bundle has no entries", "ML102")
        return
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        yield where.error("Bundle field 'entry' must be a list of objects (FHIR validation)", "ML106")
        return
    patients: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource")
        full_url = entry.get("fullUrl")
        if (
            isinstance(resource, dict)
            and resource.get("resourceType") == "Patient"
            and isinstance(full_url, str)
            and isinstance(resource.get("id"), str)
        ):
            patients[full_url] = resource["id"]
    seen: list[str] = []
    found = 0
    for i, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        resource_type = resource.get("resourceType")
        if resource_type in ACCEPTED_RESOURCE_TYPES and _ai_asserted(resource):
            continue  # a report that medlens (or another AI) drafted is a result, not a source document
        if resource_type in ACCEPTED_RESOURCE_TYPES:
            found += 1
            yield from _read_resource(resource, _Where(where.file, entry=i), patients, options)
        elif isinstance(resource_type, str) and resource_type not in seen:
            seen.append(resource_type)
    if not found:
        yield where.error(_no_documents(seen), "ML105")


def _read_ndjson(file: Path, text: str, options: Mapping[str, Any]) -> Iterator[Result]:
    seen: list[str] = []
    found = 0
    errors = 0
    # Split on "\n" only: str.splitlines would also split on U+2028 inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = _Where(file, line=number)
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors += 1
            yield where.error(f"invalid JSON at column {exc.colno} ({exc.msg})", "ML103")
            continue
        resource_type = obj.get("resourceType") if isinstance(obj, dict) else None
        if resource_type in ACCEPTED_RESOURCE_TYPES:
            found += 1
            yield from _read_resource(obj, where, {}, options)
        elif not isinstance(resource_type, str):
            errors += 1
            yield where.error("line is not a FHIR resource (no 'resourceType')", "ML104")
        elif resource_type not in seen:
            seen.append(resource_type)
    if not found and not errors:
        yield InputError(_no_documents(seen), code="ML105", source=str(file))


def _no_documents(seen: list[str]) -> str:
    types = ", ".join(seen) or "none"
    return f"no {' or '.join(ACCEPTED_RESOURCE_TYPES)} found (resource types present: {types})"


def _validation_summary(exc: ValidationError) -> str:
    # Locations and messages only: pydantic's input_value could hold document text.
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(resource)'}: {e['msg']}" for e in exc.errors()]
    more = f" (+{len(parts) - _MAX_ERRORS_SHOWN} more)" if len(parts) > _MAX_ERRORS_SHOWN else ""
    return "; ".join(parts[:_MAX_ERRORS_SHOWN]) + more


def _read_resource(
    resource: dict[str, Any], where: _Where, patients: Mapping[str, str], options: Mapping[str, Any]
) -> Iterator[Result]:
    resource_type: str = resource["resourceType"]
    model = _models()[resource_type]
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        yield where.error(f"invalid {resource_type}: {_validation_summary(exc)}", "ML106")
        return
    bad_codes = _unbound_codes(model, resource)
    if bad_codes:
        yield where.error(f"invalid {resource_type}: {bad_codes}", "ML106")
        return
    if resource.get("status") == _SKIPPED_STATUS:
        log.info("%s: skipped a %s with status %s", where.source, resource_type, _SKIPPED_STATUS)
        return
    resource_id = resource.get("id")
    record_id = resource_id or _first_identifier(resource)
    if not record_id:
        yield where.error(
            f"{resource_type} has neither 'id' nor 'identifier.value'; medlens needs a record id", "ML104"
        )
        return
    label = f"{resource_type}/{record_id}"
    if resource_type == "DocumentReference":
        attachments = [c.get("attachment", {}) for c in resource.get("content", [])]
        codings = _codings(resource.get("type"), *resource.get("category", []))
        date = _parse_fhir_date(resource.get("date")) or _parse_fhir_date(
            resource.get("context", {}).get("period", {}).get("start")
        )
        fallback = None
    else:
        attachments = list(resource.get("presentedForm", []))
        codings = _codings(*resource.get("category", []), resource.get("code"))
        date = (
            _parse_fhir_date(resource.get("effectiveDateTime"))
            or _parse_fhir_date(resource.get("effectivePeriod", {}).get("start"))
            or _parse_fhir_date(resource.get("issued"))
        )
        fallback = resource.get("conclusion")
    text = _attachment_text(attachments, where, label, options)
    if isinstance(text, InputError):
        if fallback is None:
            yield text
            return
        text = fallback
    if not text.strip():
        yield where.error(f"{label} has empty text", "ML102")
        return
    kinds = _kind_of_coding()
    kind = next((kinds[c] for c in codings if c in kinds), "note")
    meta: dict[str, Any] = {"fhir_reference": f"{resource_type}/{resource_id}"} if resource_id else {}
    yield Document(
        id=record_id,
        text=text,
        kind=kind,
        patient_id=_patient_id(resource.get("subject"), patients),
        date=date,
        source=where.source,
        meta=meta,
    )


def _unbound_codes(model: Any, resource: Mapping[str, Any]) -> str | None:
    """Top-level ``code`` fields outside their required value set (fhir.resources records but does not check them)."""
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        allowed = extra.get("enum_values") if isinstance(extra, dict) else None
        value = resource.get(name)
        if isinstance(allowed, list) and "+" not in allowed and isinstance(value, str) and value not in allowed:
            return f"{name}: {value[:30]!r} is not one of {', '.join(map(str, allowed))}"
    return None


def _first_identifier(resource: Mapping[str, Any]) -> str | None:
    for identifier in resource.get("identifier", []):
        value = identifier.get("value")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _codings(*concepts: Any) -> list[tuple[str, str]]:
    return [
        (c.get("system", ""), c.get("code", ""))
        for concept in concepts
        if isinstance(concept, dict)
        for c in concept.get("coding", [])
    ]


def _parse_fhir_date(value: Any) -> dt.date | dt.datetime | None:
    if not isinstance(value, str) or len(value) < len("2024-01-01"):
        return None  # absent, or a partial date (year / year-month) that a date cannot hold
    return parse_iso_date(value)


def _patient_id(subject: Any, patients: Mapping[str, str]) -> str | None:
    if not isinstance(subject, dict):
        return None
    reference = subject.get("reference")
    if not isinstance(reference, str):
        return None
    if reference in patients:
        return patients[reference]
    match = _PATIENT_URL.search(reference)
    return match.group(1) if match else None


def _attachment_text(
    attachments: list[dict[str, Any]], where: _Where, label: str, options: Mapping[str, Any]
) -> str | InputError:
    """Text of the first usable attachment, or the error saying why none could be used."""
    skipped: list[str] = []
    first_error: InputError | None = None
    for attachment in attachments:
        content_type = attachment.get("contentType") or "text/plain"
        mime, _, params = content_type.partition(";")
        if mime.strip().lower() != "text/plain":
            skipped.append(mime.strip())
            continue
        charset_match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_\-.:]+)", params, flags=re.IGNORECASE)
        charset = charset_match.group(1) if charset_match else "utf-8"
        if "data" in attachment:
            try:
                # FHIR base64Binary may hold white space between the 4-character groups.
                raw: bytes | InputError = base64.b64decode("".join(attachment["data"].split()), validate=True)
            except (binascii.Error, ValueError, TypeError, AttributeError):
                raw = where.error(f"{label}: attachment 'data' is not valid base64", "ML104")
        elif "url" in attachment:
            raw = _local_attachment(attachment["url"], where, label, options)
        else:
            raw = where.error(f"{label}: attachment has neither 'data' nor 'url'", "ML104")
        text = raw if isinstance(raw, InputError) else _decode(raw, charset, where, label, options)
        if not isinstance(text, InputError):
            return text
        first_error = first_error or text
    if first_error is not None:
        return first_error
    seen = f" (content types present: {', '.join(skipped)})" if skipped else ""
    return where.error(f"{label} has no text/plain attachment{seen}; medlens reads plain text only", "ML104")


def _decode(raw: bytes, charset: str, where: _Where, label: str, options: Mapping[str, Any]) -> str | InputError:
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        return where.error(f"{label}: unknown charset {charset[:40]!r} in attachment contentType", "ML104")
    if codec.name == "utf-8":
        decoded = decode_utf8(raw, source=str(where.file), line=where.line, encoding_errors=options["encoding_errors"])
        if isinstance(decoded, InputError):
            return where.error(f"{label}: attachment {decoded.message}", "ML101")
        return decoded
    try:
        return raw.decode(codec.name, errors=options["encoding_errors"])
    except UnicodeDecodeError as exc:
        return where.error(f"{label}: attachment bytes are not valid {codec.name} at byte offset {exc.start}", "ML101")


def _local_attachment(url: Any, where: _Where, label: str, options: Mapping[str, Any]) -> bytes | InputError:
    if not isinstance(url, str):
        return where.error(f"{label}: attachment 'url' is not a string", "ML104")
    parts = urlsplit(url)
    if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
        return where.error(
            f"{label}: attachment url has scheme {parts.scheme!r}; medlens never fetches remote URLs "
            "(put the text in 'data' or a local file next to the input)",
            "ML104",
        )
    folder = where.file.parent.resolve()
    target = (folder / unquote(parts.path)).resolve()
    if not target.is_relative_to(folder):
        return where.error(f"{label}: attachment url points outside the input file's folder", "ML104")
    data = read_file_bytes(target, max_bytes=options["max_bytes"])
    if isinstance(data, InputError):
        return where.error(f"{label}: attachment file {data.message}", data.code)
    return data
