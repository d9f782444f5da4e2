r"""HL7 v2 reader: ORU^R01 results and MDM documents from interface engines -> Document records.

A file (``.hl7``/``.er7``) holds one message or many: MLLP-framed (``\x0b ... \x1c\x0d``), in FHS/BHS batches, or
plain messages one after another (blank lines between them allowed), with ``\r``, ``\n`` or ``\r\n`` segment
separators. What becomes of each message (see docs/inputs-hl7.md for the full table):

* **ORU^R01** (and ORU with another or no trigger event): one Document per OBR, i.e. per report. Its text is, in
  order, the OBX-5 values of the OBX segments of value type TX, FT, ST, CE, CWE or CNE (or with OBX-2 empty) and the
  NTE-3 comments inside that OBR's group; one line per repetition and per segment, HL7 escape sequences unescaped
  (``\.br\`` -> newline, ``\F\`` -> ``|`` ...), an ADD segment appended to the value it continues. OBX of other
  value types (NM, ED, ...) and OBX whose result status (OBX-11, HL7 Table 0085) is D (deleted) or W (wrong) add no
  text. Segments keep the order sent, except that when every OBX of the report carries a distinct numeric set id
  (OBX-1), the OBX (each with the NTE after it) are put in OBX-1 order.
* **MDM^T02/T04/T06/T08/T10**: one Document from TXA + the OBX/NTE text after it (same rules).
* ids: ``<OBR-3 filler order number, else OBR-2 placer>@<MSH-10 control id>`` (MDM: ``<TXA-12>@<MSH-10>``), so a
  corrected report re-sent with the same accession stays a separate record. patient_id = PID-3 first identifier
  (as given). date = OBR-7 (MDM: TXA-4, else TXA-6); an HL7 DTM of year or year-month precision gives no date.
  kind from OBR-24 (HL7 Table 0074), else OBR-4 LOINC code; MDM from TXA-2 (Table 0270): see
  ``lexicon/hl7_v2_tables.yaml``. ``Document.meta`` keeps accession, order numbers, control id, OBR-4, OBR-25.
* Character set: bytes are decoded per message by MSH-18 (Table 0211: ``UNICODE UTF-8``, ``8859/1``...); when
  MSH-18 is empty or ``ASCII`` they must be UTF-8 (a superset of ASCII), else ML101 names the byte offset.

Errors are yielded, never raised, one per bad message (its ``line`` is the 1-based line of its MSH segment in the
file; a line is ended by ``\r``, ``\n`` or ``\r\n``), and never quote message content: ML101 undecodable bytes or
unsupported MSH-18, ML102 no report text / no message at all, ML104 malformed structure (no MSH, bad delimiters,
missing MSH-9, OBR or TXA, segment before OBR, MLLP frame or batch cut short, continuation message), ML105 a
message type that is not ORU or MDM.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import importlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medlens.core.errors import InputError, MissingDependencyError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Document, DocumentKind
from medlens.io.hl7_encoding import Delimiters, RawMessage, parse_delimiters, split_messages, unescape_hl7
from medlens.io.readers import DEFAULT_MAX_BYTES, EncodingErrors, read_file_bytes

__all__ = [
    "HL7_EXTENSIONS",
    "Hl7CharacterSet",
    "Hl7KindCode",
    "Hl7Tables",
    "hl7_tables",
    "parse_hl7_messages",
    "read_hl7",
]

log = logging.getLogger(__name__)

HL7_EXTENSIONS: tuple[str, ...] = (".hl7", ".er7")
"""File extensions that hold HL7 v2 messages in ER7 (pipe-delimited) encoding."""

Result = Document | InputError
_Kind = Literal["radiology", "pathology"]

_TEXT_TYPES = frozenset({"TX", "FT", "ST", ""})
_CODED_TYPES = frozenset({"CE", "CWE", "CNE"})
_SKIPPED_RESULT_STATUS = frozenset({"D", "W"})  # HL7 Table 0085: D = deletes the OBX record, W = post original as wrong
_MDM_CONTENT_EVENTS = frozenset({"T02", "T04", "T06", "T08", "T10"})  # HL7 v2.5.1 ch. 9: "... and content" events
_READ_SEGMENTS = frozenset({"MSH", "PID", "OBR", "OBX", "NTE", "ADD", "TXA", "DSC"})
_SAFE_CODE = re.compile(r"[A-Za-z0-9_]{1,8}")
_SET_ID = re.compile(r"[0-9]{1,9}")
_DTM = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?\s*([+-]\d{4})?",
    re.ASCII,
)
_BLANK_EDGES = re.compile(r"\A(?:[ \t]*\n)+|(?:\n[ \t]*)+\Z")
_LINE_ENDS = re.compile(r"\r\n?")


# --- code tables ------------------------------------------------------------------------------------------------


class Hl7KindCode(BaseModel):
    """One HL7 code that decides a report's kind (a row of ``lexicon/hl7_v2_tables.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="The code as sent (compared case-insensitively).")
    display: str = Field(description="Display of the code in its table.")
    kind: _Kind = Field(description="Document kind the code implies.")
    source: Literal["v2-0074", "v2-0270", "LOINC", "local"] = Field(
        description="Table the code comes from; 'local' marks common site values outside the HL7 table."
    )


class Hl7CharacterSet(BaseModel):
    """An MSH-18 character set (HL7 Table 0211) and the Python codec that decodes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="MSH-18 value (compared case-insensitively, spaces normalised).")
    codec: str = Field(description="Python codec name.")

    @field_validator("codec")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown Python codec {value!r}") from exc
        return value


class Hl7Tables(BaseModel):
    """The HL7 v2 code tables the reader uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_sections: tuple[Hl7KindCode, ...] = Field(description="OBR-24 diagnostic service section -> kind.")
    document_types: tuple[Hl7KindCode, ...] = Field(description="TXA-2 document type -> kind.")
    universal_service_codes: tuple[Hl7KindCode, ...] = Field(description="OBR-4 LOINC code -> kind.")
    character_sets: tuple[Hl7CharacterSet, ...] = Field(description="MSH-18 character sets that can be decoded.")


@functools.cache
def hl7_tables() -> Hl7Tables:
    """The packaged HL7 v2 tables (``lexicon/hl7_v2_tables.yaml``), loaded once."""
    return load_yaml_lexicon("medlens.io", "hl7_v2_tables.yaml", Hl7Tables)


@functools.cache
def _lookups() -> tuple[dict[str, _Kind], dict[str, _Kind], dict[str, _Kind], dict[str, str]]:
    tables = hl7_tables()
    sections = {c.code.upper(): c.kind for c in tables.service_sections}
    doc_types = {c.code.upper(): c.kind for c in tables.document_types}
    loinc = {c.code.upper(): c.kind for c in tables.universal_service_codes}
    charsets = {_charset_key(c.code): codecs.lookup(c.codec).name for c in tables.character_sets}
    return sections, doc_types, loinc, charsets


def _charset_key(value: str) -> str:
    return " ".join(value.upper().split())


def _hl7_parse() -> Callable[[str], Any]:
    """``hl7.parse`` from python-hl7, imported on first use (optional extra ``medlens[hl7]``)."""
    try:
        module = importlib.import_module("hl7")
    except ImportError as exc:
        raise MissingDependencyError(
            'reading HL7 v2 messages needs the python-hl7 package: pip install "medlens[hl7]"', code="ML501"
        ) from exc
    parse: Callable[[str], Any] = module.parse
    return parse


# --- reading one message ----------------------------------------------------------------------------------------


def _describe_type(code: str, trigger: str) -> str:
    shown = [part if _SAFE_CODE.fullmatch(part) else "?" for part in (code, trigger) if part]
    return "^".join(shown) or "?"


@dataclass
class _Message:
    """A parsed message plus what the reader needs to know about it."""

    raw: RawMessage
    segments: list[tuple[str, int, Any]]  # (segment id, line, python-hl7 Segment)
    delimiters: Delimiters
    codec: str
    source: str

    def error(self, message: str, code: str = "ML104") -> InputError:
        return InputError(message, code=code, source=self.source, line=self.raw.line)

    def text(self, value: Any) -> str:
        return unescape_hl7(str(value), self.delimiters, codec=self.codec)

    def value(self, segment: Any, number: int, component: int = 1) -> str:
        """First repetition's ``component`` of field ``number``, unescaped and stripped ('' when absent)."""
        if number >= len(segment):
            return ""
        repetitions = list(segment[number])
        if not repetitions:
            return ""
        first = repetitions[0]
        parts = [first] if isinstance(first, str) else list(first)
        return self.text(parts[component - 1]).strip() if component <= len(parts) else ""

    def repetitions(self, segment: Any, number: int) -> list[Any]:
        return list(segment[number]) if number < len(segment) else []


def _decode_segments(
    raw: RawMessage,
    delimiters: Delimiters,
    *,
    source: str,
    binary: bool,
    base_offset: int,
    encoding_errors: EncodingErrors,
) -> tuple[list[str], str] | InputError:
    """Decode a raw message's segments (``binary``: each is latin-1-mapped bytes) by its MSH-18 character set."""
    if not binary:
        return [s.text for s in raw.segments], "utf-8"
    fields = raw.segments[0].text.split(delimiters.field)
    declared = fields[17].split(delimiters.repetition)[0].strip() if len(fields) > 17 else ""
    codec = "utf-8"
    if declared:
        found = _lookups()[3].get(_charset_key(declared))
        if found is None:
            shown = declared[:30] if all(" " <= c <= "~" for c in declared) else "(unprintable)"
            supported = ", ".join(c.code for c in hl7_tables().character_sets)
            return InputError(
                f"MSH-18 character set {shown!r} is not supported; supported: {supported}",
                code="ML101",
                source=source,
                line=raw.line,
            )
        codec = found
    decoded: list[str] = []
    for segment in raw.segments:
        data = segment.text.encode("latin-1")
        try:
            decoded.append(data.decode(codec))
        except UnicodeDecodeError as exc:
            offset = base_offset + segment.offset + exc.start
            named = f"MSH-18 {declared!r} ({codec})" if declared else "UTF-8 (MSH-18 names no character set)"
            if encoding_errors == "replace":
                log.warning("%s: bytes that are not %s from byte offset %d were replaced", source, named, offset)
                decoded.append(data.decode(codec, errors="replace"))
                continue
            return InputError(
                f"bytes are not valid {named} at byte offset {offset} (line {segment.line}); state the character "
                "set in MSH-18 (e.g. 8859/1), convert the file to UTF-8, or read it with encoding_errors='replace'",
                code="ML101",
                source=source,
                line=raw.line,
            )
    return decoded, codec


def _read_message(
    raw: RawMessage,
    *,
    source: str,
    parse: Callable[[str], Any],
    binary: bool,
    base_offset: int,
    encoding_errors: EncodingErrors,
) -> Iterator[Result]:
    def bad(message: str, code: str = "ML104") -> InputError:
        return InputError(message, code=code, source=source, line=raw.line)

    delimiters = parse_delimiters(raw.segments[0].text)
    if isinstance(delimiters, str):
        yield bad(delimiters)
        return
    if raw.problem is not None:
        yield bad(raw.problem)
        return
    decoded = _decode_segments(
        raw, delimiters, source=source, binary=binary, base_offset=base_offset, encoding_errors=encoding_errors
    )
    if isinstance(decoded, InputError):
        yield decoded
        return
    texts, codec = decoded
    # Only the segments the reader uses go to python-hl7 (PV1, ORC, Z-segments... are long and never read).
    kept = [(s, t) for s, t in zip(raw.segments, texts, strict=True) if s.text[:3] in _READ_SEGMENTS]
    try:
        parsed = parse("\r".join(t for _, t in kept))
    except Exception as exc:  # python-hl7 raises several types on odd input; its messages quote segment content
        yield bad(f"python-hl7 could not parse the message ({type(exc).__name__})")
        return
    if len(parsed) != len(kept):
        yield bad(f"python-hl7 read {len(parsed)} segments where the file has {len(kept)}")
        return
    message = _Message(
        raw=raw,
        segments=[(s.text[:3], s.line, seg) for (s, _), seg in zip(kept, parsed, strict=True)],
        delimiters=delimiters,
        codec=codec,
        source=source,
    )
    msh = parsed[0]
    code, trigger = message.value(msh, 9, 1).upper(), message.value(msh, 9, 2).upper()
    if not code:
        yield bad("MSH-9 message type is empty; medlens reads ORU^R01 and MDM messages")
        return
    if code not in ("ORU", "MDM"):
        yield bad(
            f"message type {_describe_type(code, trigger)} holds no report; medlens reads ORU^R01 and "
            "MDM^T02/T04/T06/T08/T10",
            "ML105",
        )
        return
    for segment_id, line, segment in message.segments:
        if segment_id == "DSC" and message.value(segment, 1):
            yield bad(
                f"DSC segment at line {line} says the message continues in another message; medlens does not "
                "join continuation messages, so the report would be incomplete"
            )
            return
    if code == "ORU":
        yield from _oru_documents(message, f"ORU^{trigger}" if trigger else "ORU")
    else:
        yield from _mdm_document(message, trigger)


# --- report text ------------------------------------------------------------------------------------------------


@dataclass
class _Group:
    """One OBX with the NTE/ADD after it (or, with ``set_id`` None, the NTE before the first OBX)."""

    set_id: str | None
    lines: list[str] = field(default_factory=list)
    skipped: bool = False


class _TextCollector:
    """Collects the text lines of one report: OBX values, NTE comments and ADD continuations, in order."""

    def __init__(self, message: _Message) -> None:
        self.message = message
        self.groups: list[_Group] = [_Group(None)]
        self.value_types: list[str] = []
        self.last_was_text = False

    def add(self, segment_id: str, segment: Any) -> None:
        message = self.message
        if segment_id == "OBX":
            value_type = message.value(segment, 2).upper()
            group = _Group(message.value(segment, 1))
            self.groups.append(group)
            status = message.value(segment, 11).upper()
            self.last_was_text = False
            if status in _SKIPPED_RESULT_STATUS:
                group.skipped = True
                log.debug("%s:%d: skipped an OBX with result status %s", message.source, message.raw.line, status)
            elif value_type in _TEXT_TYPES or value_type in _CODED_TYPES:
                group.lines.extend(self._values(segment, coded=value_type in _CODED_TYPES))
                self.last_was_text = True
            elif value_type not in self.value_types:
                self.value_types.append(value_type)
        elif segment_id == "NTE":
            self.groups[-1].lines.extend(message.text(r) for r in message.repetitions(segment, 3))
            self.last_was_text = False
        elif segment_id == "ADD" and self.last_was_text and self.groups[-1].lines:
            # HL7 v2.5.1 section 2.10.2: ADD carries the rest of the last field of the segment before it.
            group = self.groups[-1]
            group.lines[-1] += message.text(segment[1]) if len(segment) > 1 else ""

    def _values(self, segment: Any, *, coded: bool) -> list[str]:
        message = self.message
        repetitions = message.repetitions(segment, 5) or [""]
        if not coded:
            return [message.text(r) for r in repetitions]
        values = []
        for repetition in repetitions:
            parts = [message.text(p) for p in ([repetition] if isinstance(repetition, str) else repetition)]
            # CE/CWE/CNE: text (component 2), else alternate text (5), else the identifier (1), as sent.
            values.append(next((p for p in (parts[1:2] + parts[4:5] + parts[:1]) if p.strip()), ""))
        return values

    def text(self) -> str:
        head, obx = self.groups[0], self.groups[1:]
        set_ids = [g.set_id or "" for g in obx]
        if all(_SET_ID.fullmatch(s) for s in set_ids) and len(set(map(int, set_ids))) == len(set_ids):
            obx = sorted(obx, key=lambda g: int(g.set_id or 0))  # OBX-1 order when the set ids are a clean series
        lines = [line for group in (head, *obx) if not group.skipped for line in group.lines]
        text = _LINE_ENDS.sub("\n", "\n".join(lines))
        return _BLANK_EDGES.sub("", text)

    def missing(self) -> str:
        present = f" (value types present: {', '.join(t or '(empty)' for t in self.value_types)})"
        return (
            "no TX, FT, ST, CE or CWE OBX value and no NTE comment" + (present if self.value_types else "")
        ) + "; nothing to analyse"


def _parse_dtm(value: str) -> dt.date | dt.datetime | None:
    """HL7 DTM/TS ``YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]`` -> date or datetime; None below day precision."""
    match = _DTM.fullmatch(value.strip())
    if match is None or match.group(3) is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if hour is None:
            return dt.date(int(year), int(month), int(day))
        tz = None
        if zone:
            sign = -1 if zone[0] == "-" else 1
            tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
        micro = int((fraction or "0").ljust(6, "0")[:6])
        return dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0), micro, tzinfo=tz
        )
    except ValueError:
        return None


def _patient_id(message: _Message, pid: Any | None) -> str | None:
    if pid is None:
        return None
    return message.value(pid, 3) or None


def _record_id(order: str, control: str, ordinal: int, seen: set[str]) -> str | None:
    if order and control:
        record_id = f"{order}@{control}"
    elif order:
        record_id = order
    elif control:
        record_id = f"{control}#{ordinal}"
    else:
        return None
    if record_id in seen:
        record_id = f"{record_id}#{ordinal}"
    seen.add(record_id)
    return record_id


def _compact(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v not in (None, "", {})}


def _oru_documents(message: _Message, message_type: str) -> Iterator[Result]:
    msh = message.segments[0][2]
    control = message.value(msh, 10)
    version = message.value(msh, 12)
    sections, _, loinc, _ = _lookups()
    reports: list[tuple[int, Any, Any, _TextCollector]] = []  # (line, OBR, PID, text)
    pid: Any | None = None
    for segment_id, line, segment in message.segments[1:]:
        if segment_id == "PID":
            pid = segment
            if reports and reports[-1][1] is not None:
                reports.append((-1, None, None, _TextCollector(message)))  # a new patient closes the open report
        elif segment_id == "OBR":
            reports.append((line, segment, pid, _TextCollector(message)))
        elif segment_id in ("OBX", "NTE", "ADD"):
            if not reports or reports[-1][1] is None:
                if segment_id == "OBX":
                    yield message.error(f"{message_type} message: OBX at line {line} is not inside an OBR group")
                    return
                continue
            reports[-1][3].add(segment_id, segment)
    reports = [r for r in reports if r[1] is not None]
    if not reports:
        yield message.error(f"{message_type} message has no OBR segment; each report needs an OBR")
        return
    seen: set[str] = set()
    for ordinal, (line, obr, report_pid, collector) in enumerate(reports, start=1):
        where = f"{message_type} message: OBR {ordinal} (line {line})"
        text = collector.text()
        if not text.strip():
            yield message.error(f"{where} has no report text: {collector.missing()}", "ML102")
            continue
        placer, filler = message.value(obr, 2), message.value(obr, 3)
        record_id = _record_id(filler or placer, control, ordinal, seen)
        if record_id is None:
            yield message.error(
                f"{where} has no order number (OBR-3 or OBR-2) and the message has no MSH-10 control id; "
                "medlens needs one of them for the record id"
            )
            continue
        service = {
            "code": message.value(obr, 4, 1),
            "text": message.value(obr, 4, 2),
            "system": message.value(obr, 4, 3),
        }
        section = message.value(obr, 24).upper()
        kind: DocumentKind = "note"
        if section in sections:
            kind = sections[section]
        else:
            for code_at, system_at in ((1, 3), (4, 6)):
                if message.value(obr, 4, system_at).upper() == "LN":
                    found = loinc.get(message.value(obr, 4, code_at).upper())
                    if found is not None:
                        kind = found
                        break
        meta = _compact(
            {
                "format": "hl7v2",
                "message_type": message_type,
                "message_control_id": control,
                "hl7_version": version,
                "accession": filler,
                "placer_order_number": placer,
                "filler_order_number": filler,
                "universal_service_id": _compact(service),
                "diagnostic_service_section": section,
                "result_status": message.value(obr, 25).upper(),
            }
        )
        yield Document(
            id=record_id,
            text=text,
            kind=kind,
            patient_id=_patient_id(message, report_pid),
            date=_parse_dtm(message.value(obr, 7)),
            source=f"{message.source}:{message.raw.line}",
            meta=meta,
        )


def _mdm_document(message: _Message, trigger: str) -> Iterator[Result]:
    message_type = f"MDM^{trigger}" if trigger else "MDM"
    msh = message.segments[0][2]
    control = message.value(msh, 10)
    sections, doc_types, _, _ = _lookups()
    pid: Any | None = None
    txa: Any | None = None
    obr: Any | None = None
    collector = _TextCollector(message)
    for segment_id, line, segment in message.segments[1:]:
        if segment_id == "PID" and pid is None:
            pid = segment
        elif segment_id == "OBR" and obr is None:
            obr = segment
        elif segment_id == "TXA" and txa is None:
            txa = segment
        elif segment_id in ("OBX", "NTE", "ADD"):
            if txa is None:
                if segment_id == "OBX":
                    yield message.error(f"{message_type} message: OBX at line {line} comes before the TXA segment")
                    return
                continue
            collector.add(segment_id, segment)
    if txa is None:
        yield message.error(f"{message_type} message has no TXA segment (document header)")
        return
    text = collector.text()
    if not text.strip():
        note = "" if trigger in _MDM_CONTENT_EVENTS else f" ({message_type} is a notification without document content)"
        yield message.error(f"{message_type} message has no document text{note}: {collector.missing()}", "ML102")
        return
    number = message.value(txa, 12)
    record_id = _record_id(number, control, 1, set())
    if record_id is None:
        yield message.error(
            f"{message_type} message has no unique document number (TXA-12) and no MSH-10 control id; medlens "
            "needs one of them for the record id"
        )
        return
    document_type = message.value(txa, 2).upper()
    kind: DocumentKind = "note"
    if document_type in doc_types:
        kind = doc_types[document_type]
    elif obr is not None and message.value(obr, 24).upper() in sections:
        kind = sections[message.value(obr, 24).upper()]
    meta = _compact(
        {
            "format": "hl7v2",
            "message_type": message_type,
            "message_control_id": control,
            "hl7_version": message.value(msh, 12),
            "document_number": number,
            "document_type": document_type,
            "parent_document_number": message.value(txa, 13),
            "placer_order_number": message.value(txa, 14),
            "filler_order_number": message.value(txa, 15),
            "completion_status": message.value(txa, 17).upper(),
        }
    )
    yield Document(
        id=record_id,
        text=text,
        kind=kind,
        patient_id=_patient_id(message, pid),
        date=_parse_dtm(message.value(txa, 4)) or _parse_dtm(message.value(txa, 6)),
        source=f"{message.source}:{message.raw.line}",
        meta=meta,
    )


# --- public entry points ----------------------------------------------------------------------------------------


def _read_all(
    text: str,
    *,
    source: str,
    parse: Callable[[str], Any],
    binary: bool,
    base_offset: int = 0,
    encoding_errors: EncodingErrors = "strict",
) -> Iterator[Result]:
    for item in split_messages(text, source=source):
        if isinstance(item, InputError):
            yield item
        else:
            yield from _read_message(
                item,
                source=source,
                parse=parse,
                binary=binary,
                base_offset=base_offset,
                encoding_errors=encoding_errors,
            )


def parse_hl7_messages(text: str, *, source: str) -> Iterator[Result]:
    r"""Read HL7 v2 messages from already decoded text (MSH-18 is not used).

    Args:
        text: One or more messages (MLLP-framed, batched or plain; ``\r``, ``\n`` or ``\r\n`` separators).
        source: Name for ``Document.source`` (``"<source>:<line of MSH>"``) and errors.

    Yields:
        Documents (one per ORU OBR, one per MDM message) and InputErrors (ML102, ML104, ML105), in file order.

    Raises:
        MissingDependencyError: ML501 when python-hl7 is not installed (``pip install "medlens[hl7]"``).
    """
    parse = _hl7_parse()
    yield from _read_all(text.removeprefix("\ufeff"), source=source, parse=parse, binary=False)


def read_hl7(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding_errors: EncodingErrors = "strict",
) -> Iterator[Result]:
    """Read an HL7 v2 file (``.hl7``/``.er7``) of ORU^R01 and MDM messages.

    Each message is decoded on its own by its MSH-18 character set (UTF-8 when MSH-18 is empty or ``ASCII``), so a
    message with bad bytes costs only that message.

    Args:
        path: The file.
        max_bytes: Larger files give ML107.
        encoding_errors: ``"strict"`` (ML101 naming the byte offset) or ``"replace"`` (U+FFFD, logged).

    Yields:
        Documents and InputErrors (ML101, ML102, ML104, ML105, ML107, ML108), in file order.

    Raises:
        MissingDependencyError: ML501 when python-hl7 is not installed (``pip install "medlens[hl7]"``).
    """
    parse = _hl7_parse()
    file = Path(path)
    data = read_file_bytes(file, max_bytes=max_bytes)
    if isinstance(data, InputError):
        yield data
        return
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    # latin-1 maps each byte to one character, so the splitter works on bytes and offsets stay byte offsets.
    yield from _read_all(
        data[bom:].decode("latin-1"),
        source=str(file),
        parse=parse,
        binary=True,
        base_offset=bom,
        encoding_errors=encoding_errors,
    )
