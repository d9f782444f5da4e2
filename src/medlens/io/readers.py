"""Input readers: plain text, JSONL and CSV files, and folders of them (DESIGN.md §1, "inputs").

Every reader yields ``Document | InputError`` and never raises for one bad record or file, so a batch always goes
on; the caller decides what to do with the errors (the runner writes them to the record's line). Error codes
(``medlens.core.errors.InputError``): ML101 undecodable bytes (with the byte offset), ML102 empty file or text,
ML103 invalid JSON, ML104 missing or invalid field, ML105/ML106 FHIR (see ``medlens.io.fhir_reader``), ML107 file
larger than ``max_bytes``, ML108 not found, ML109 unsupported extension, ML110 duplicate record id. Messages name
the file, line and field, never document text.

Offsets everywhere in medlens index ``Document.text``; readers therefore keep the text exactly as decoded (only a
UTF-8 byte order mark is removed; CRLF line ends are kept), so an offset can be checked against the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import logging
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal, get_args

from medlens.core.errors import ConfigError, InputError
from medlens.core.types import Document, DocumentKind

__all__ = [
    "CSV_FIELDS",
    "DEFAULT_MAX_BYTES",
    "DOCUMENT_KINDS",
    "EXTENSIONS",
    "EncodingErrors",
    "count_inputs",
    "decode_utf8",
    "parse_iso_date",
    "read_csv",
    "read_file_bytes",
    "read_file_text",
    "read_inputs",
    "read_jsonl",
    "read_text",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 2**20
"""Default largest input file, in bytes (``RunConfig.max_file_mb``)."""

EncodingErrors = Literal["strict", "replace"]
DOCUMENT_KINDS: tuple[str, ...] = get_args(DocumentKind)
CSV_FIELDS: tuple[str, ...] = ("id", "text", "kind", "patient_id", "date")
"""Document fields a CSV column can map to; ``id`` and ``text`` are required."""

EXTENSIONS: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "fhir",
    ".csv": "csv",
    ".hl7": "hl7",
    ".er7": "hl7",
}
"""File extension -> reader alias used by :func:`read_inputs` (JSONL whose lines are FHIR resources -> ``fhir``)."""

_READER_ALIASES = frozenset(EXTENSIONS.values())
_LINE_SOURCE = re.compile(r"^(?P<path>.+):(?P<line>[0-9]+)$")
_COUNT_CHUNK = 1 << 20

Result = Document | InputError


# --- shared pieces (also used by medlens.io.fhir_reader) ----------------------------------------------------------


def read_file_bytes(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | InputError:
    """Read a whole file, checking it exists (ML108), fits ``max_bytes`` (ML107) and is not empty (ML102).

    A UTF-8 byte order mark is kept; :func:`decode_utf8` removes it.
    """
    source = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return InputError("file not found; check the path", code="ML108", source=source)
    except OSError as exc:
        return InputError(f"cannot read the file ({exc.strerror})", code="ML108", source=source)
    if size > max_bytes:
        return InputError(
            f"file is {size} bytes, larger than the limit of {max_bytes} bytes; split it or raise "
            "run.max_file_mb / max_bytes",
            code="ML107",
            source=source,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        return InputError(f"cannot read the file ({exc.strerror})", code="ML108", source=source)
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    if not body or body.isspace():
        return InputError("file is empty", code="ML102", source=source)
    return data


def decode_utf8(
    data: bytes,
    *,
    source: str,
    line: int | None = None,
    base_offset: int = 0,
    encoding_errors: EncodingErrors = "strict",
) -> str | InputError:
    """Decode UTF-8 strictly (a leading byte order mark is dropped); ML101 names the first bad byte's offset.

    Args:
        data: The bytes.
        source: File path, for the error.
        line: 1-based line, for the error.
        base_offset: Byte offset of ``data`` in its file, so the reported offset is the file's.
        encoding_errors: ``"strict"`` (ML101 on bad bytes) or ``"replace"`` (U+FFFD, logged as a warning).
    """
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        offset = base_offset + bom + exc.start
        if encoding_errors == "replace":
            log.warning("%s: bytes that are not UTF-8 from byte offset %d were replaced by U+FFFD", source, offset)
            return data[bom:].decode("utf-8", errors="replace")
        return InputError(
            f"bytes are not valid UTF-8 ({exc.reason}) at byte offset {offset}; convert the file to UTF-8 "
            "or read it with encoding_errors='replace'",
            code="ML101",
            source=source,
            line=line,
        )


def read_file_text(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, encoding_errors: EncodingErrors = "strict"
) -> str | InputError:
    """:func:`read_file_bytes` then :func:`decode_utf8`: the whole file as text, or the first error."""
    data = read_file_bytes(path, max_bytes=max_bytes)
    if isinstance(data, InputError):
        return data
    return decode_utf8(data, source=str(path), encoding_errors=encoding_errors)


def parse_iso_date(value: str) -> dt.date | dt.datetime | None:
    """Parse an ISO 8601 date (``2024-03-05``) or date-time (``2024-03-05T10:00:00Z``); None if it is neither."""
    value = value.strip()
    try:
        if len(value) <= 10 and "T" not in value:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _document(
    fields: Mapping[str, Any],
    meta: dict[str, Any],
    *,
    file: str,
    line: int | None,
    default_kind: str = "note",
) -> Result:
    """Build a Document from already-split input fields, or the ML102/ML104 error saying what is wrong."""

    def bad(message: str, code: str = "ML104") -> InputError:
        return InputError(message, code=code, source=file, line=line)

    raw_id = fields.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        return bad("field 'id' is missing or not a string or integer")
    record_id = str(raw_id).strip()
    if not record_id:
        return bad("field 'id' is empty")
    text = fields.get("text")
    if not isinstance(text, str):
        return bad(f"field 'text' of record {record_id!r} is missing or not a string")
    if not text.strip():
        return bad(f"field 'text' of record {record_id!r} is empty", code="ML102")
    kind = fields.get("kind")
    if kind is None or kind == "":
        kind = default_kind
    if kind not in DOCUMENT_KINDS:
        shown = kind[:30] if isinstance(kind, str) else type(kind).__name__
        return bad(f"field 'kind' of record {record_id!r} is {shown!r}; expected one of {', '.join(DOCUMENT_KINDS)}")
    patient = fields.get("patient_id")
    if isinstance(patient, bool) or (patient is not None and not isinstance(patient, str | int)):
        return bad(f"field 'patient_id' of record {record_id!r} is not a string or integer")
    patient_id = str(patient).strip() if patient is not None else ""
    raw_date = fields.get("date")
    date: dt.date | dt.datetime | None = None
    if raw_date is not None and raw_date != "":
        date = parse_iso_date(raw_date) if isinstance(raw_date, str) else None
        if date is None:
            # The value itself is not shown: a date is an identifier under HIPAA Safe Harbor.
            return bad(f"field 'date' of record {record_id!r} is not an ISO 8601 date or date-time")
    source = file if line is None else f"{file}:{line}"
    return Document(
        id=record_id, text=text, kind=kind, patient_id=patient_id or None, date=date, source=source, meta=meta
    )


# --- readers ----------------------------------------------------------------------------------------------------


def read_text(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding_errors: EncodingErrors = "strict",
    kind: str = "note",
) -> Iterator[Result]:
    """Read one plain-text file as one Document of kind ``kind``.

    Args:
        path: The ``.txt`` file.
        root: Folder the id is relative to (default: the file's folder, so the id is the file name's stem).
        max_bytes: Larger files give ML107.
        encoding_errors: See :func:`decode_utf8`.
        kind: Document kind for the record.

    Yields:
        One Document (id = path relative to ``root`` without suffix, POSIX separators; source = path), or one
        InputError (ML101, ML102, ML107, ML108).
    """
    file = Path(path)
    text = read_file_text(file, max_bytes=max_bytes, encoding_errors=encoding_errors)
    if isinstance(text, InputError):
        yield text
        return
    base = Path(root) if root is not None else file.parent
    try:
        relative = file.relative_to(base)
    except ValueError:
        relative = Path(file.name)
    record_id = relative.with_suffix("").as_posix()
    yield _document({"id": record_id, "text": text, "kind": kind}, {}, file=str(file), line=None)


def read_jsonl(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding_errors: EncodingErrors = "strict",
    kind: str = "note",
) -> Iterator[Result]:
    """Read a JSON Lines file, one record per line: ``{"id", "text", "kind", "patient_id", "date", ...}``.

    ``id`` and ``text`` are required (id: string or integer); ``kind`` defaults to the ``kind`` argument
    ("note"); ``date`` is ISO 8601; other keys go to ``Document.meta``. Blank lines are skipped. The file is streamed
    and each line decoded on its own, so one bad line (ML101, ML102, ML103, ML104, or ML107 for a line longer than
    ``max_bytes``) costs only that record, and memory is bounded by the longest line. ``source`` is
    ``"<path>:<line>"``.
    """
    file = Path(path)
    source = str(file)
    try:
        fh = file.open("rb")
    except FileNotFoundError:
        yield InputError("file not found; check the path", code="ML108", source=source)
        return
    except OSError as exc:
        yield InputError(f"cannot read the file ({exc.strerror})", code="ML108", source=source)
        return
    with fh:
        yield from _jsonl_records(
            fh, source=source, max_bytes=max_bytes, encoding_errors=encoding_errors, default_kind=kind
        )


def _jsonl_records(
    fh: BinaryIO, *, source: str, max_bytes: int, encoding_errors: EncodingErrors, default_kind: str
) -> Iterator[Result]:
    """Stream records from an open JSONL file: memory is bounded by the longest line, not the file."""
    offset = 0
    seen_content = False
    # Split on b"\n" only: text-mode iteration would also split inside JSON strings on U+2028 and friends.
    for number, raw in enumerate(fh, start=1):
        line_offset, offset = offset, offset + len(raw)
        raw = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
        if not raw.strip() or (number == 1 and raw == codecs.BOM_UTF8):
            continue
        seen_content = True
        if len(raw) > max_bytes:
            yield InputError(
                f"line is {len(raw)} bytes, larger than the limit of {max_bytes} bytes; raise run.max_file_mb",
                code="ML107",
                source=source,
                line=number,
            )
            continue
        text = decode_utf8(raw, source=source, line=number, base_offset=line_offset, encoding_errors=encoding_errors)
        if isinstance(text, InputError):
            yield text
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield InputError(
                f"invalid JSON at column {exc.colno} ({exc.msg})", code="ML103", source=source, line=number
            )
            continue
        if not isinstance(obj, dict):
            yield InputError(
                f"line holds a JSON {type(obj).__name__}, expected an object", code="ML103", source=source, line=number
            )
            continue
        meta = {k: v for k, v in obj.items() if k not in CSV_FIELDS}
        yield _document(obj, meta, file=source, line=number, default_kind=default_kind)
    if not seen_content:
        yield InputError("file is empty", code="ML102", source=source)


def read_csv(
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding_errors: EncodingErrors = "strict",
    delimiter: str = ",",
    kind: str = "note",
) -> Iterator[Result]:
    """Read a CSV file with a header row, one record per row.

    Args:
        path: The ``.csv`` file (UTF-8, optional BOM; quoted fields may span lines and be of any size).
        mapping: medlens field -> column name, merged over the defaults ``id, text, kind, patient_id, date``
            (each field's default column has the field's name). ``id`` and ``text`` columns must exist; a column
            named explicitly in ``mapping`` must exist too. Other columns go to ``Document.meta``.
        max_bytes: Larger files give ML107.
        encoding_errors: See :func:`decode_utf8`.
        delimiter: Field separator.
        kind: Document kind for rows without a kind column value.

    Yields:
        Documents (``source`` = ``"<path>:<line>"``, the row's first line), or InputErrors: one ML104 for the file
        when a mapped column is missing (naming it and the columns present), per-row ML104/ML102 otherwise.

    Raises:
        ConfigError: ML201 if ``mapping`` names a field that is not one of :data:`CSV_FIELDS`.
    """
    explicit = dict(mapping or {})
    unknown = sorted(set(explicit) - set(CSV_FIELDS))
    if unknown:
        raise ConfigError(
            f"CSV mapping has unknown field(s) {', '.join(unknown)}; map any of {', '.join(CSV_FIELDS)}",
            code="ML201",
        )
    file = Path(path)
    source = str(file)
    text = read_file_text(file, max_bytes=max_bytes, encoding_errors=encoding_errors)
    if isinstance(text, InputError):
        yield text
        return
    if csv.field_size_limit() < max_bytes:  # a note may be one huge quoted field
        csv.field_size_limit(max_bytes)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        yield InputError(f"cannot read the CSV header ({exc})", code="ML104", source=source, line=1)
        return
    columns = {name: i for i, name in reversed(list(enumerate(header)))}  # first of duplicate names wins
    wanted = {field: explicit.get(field, field) for field in CSV_FIELDS}
    missing = [
        f"{field} -> {column!r}"
        for field, column in wanted.items()
        if column not in columns and (field in explicit or field in ("id", "text"))
    ]
    if missing:
        yield InputError(
            f"CSV column(s) missing: {'; '.join(missing)}; columns present: {', '.join(header) or '(none)'}; "
            "pass a column mapping (--csv-map field=column)",
            code="ML104",
            source=source,
            line=1,
        )
        return
    field_at = {field: columns[column] for field, column in wanted.items() if column in columns}
    used = set(field_at.values())
    previous = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield InputError(f"malformed CSV ({exc})", code="ML104", source=source, line=previous + 1)
            break
        start, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield InputError(
                f"row has {len(row)} fields but the header has {len(header)}", code="ML104", source=source, line=start
            )
            continue
        fields = {field: row[i] if i < len(row) else "" for field, i in field_at.items()}
        meta = {header[i]: value for i, value in enumerate(row) if i not in used}
        yield _document(fields, meta, file=source, line=start, default_kind=kind)


# --- folders and dispatch ---------------------------------------------------------------------------------------


def _iter_files(root: Path) -> Iterator[Path]:
    """Files under ``root``, recursively, sorted by relative path; hidden files and folders are skipped."""
    found: list[tuple[tuple[str, ...], Path]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                path = Path(folder) / name
                found.append((path.relative_to(root).parts, path))
    for _, path in sorted(found):
        yield path


def _first_json_line_is_fhir(path: Path) -> bool:
    """True when the first non-blank line of a JSONL file is a JSON object with a ``resourceType``."""
    try:
        with path.open("rb") as fh:
            for raw in fh:
                if raw.strip():
                    obj = json.loads(raw.decode("utf-8-sig"))
                    return isinstance(obj, dict) and "resourceType" in obj
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # read_jsonl reports what is wrong
    return False


def _format_of(path: Path) -> str | None:
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt == "jsonl" and _first_json_line_is_fhir(path):
        return "fhir"
    return fmt


def _split_source(source: str | None) -> tuple[str | None, int | None]:
    if source is None:
        return None, None
    match = _LINE_SOURCE.match(source)
    if match:
        return match["path"], int(match["line"])
    return source, None


def read_inputs(
    path: str | os.PathLike[str],
    *,
    csv_mapping: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    formats: Collection[str] | None = None,
    encoding_errors: EncodingErrors = "strict",
    kind: str = "note",
) -> Iterator[Result]:
    """Read a file or a folder (recursively, sorted, hidden entries skipped), choosing the reader by extension.

    ``.txt``/``.text`` -> :func:`read_text`; ``.jsonl``/``.ndjson`` -> :func:`read_jsonl`, or the FHIR reader when
    the first line is a FHIR resource; ``.json`` -> ``medlens.io.fhir_reader.read_fhir``; ``.csv`` ->
    :func:`read_csv`; ``.hl7``/``.er7`` -> ``medlens.io.hl7_reader.read_hl7`` (HL7 v2 ORU/MDM). A file named
    directly with another extension gives ML109; in a folder such files (README.md, PDFs, ...) are skipped with one
    logged warning listing how many. Ids are tracked across the whole input: a repeat
    gives ML110 and is dropped (the first record wins).

    Args:
        path: A file or folder.
        csv_mapping: Column mapping for CSV files (see :func:`read_csv`).
        max_bytes: Largest file read (ML107 beyond).
        formats: Reader aliases to accept (``text``, ``jsonl``, ``csv``, ``fhir``); files of other formats give
            ML109. Default: all.
        encoding_errors: See :func:`decode_utf8`.
        kind: Document kind for records whose input does not state one (text files, JSONL/CSV without "kind").

    Raises:
        ConfigError: ML201 for an unknown alias in ``formats`` or an unknown field in ``csv_mapping``.
    """
    allowed = frozenset(formats) if formats is not None else _READER_ALIASES
    unknown = sorted(allowed - _READER_ALIASES)
    if unknown:
        raise ConfigError(
            f"unknown input format(s) {', '.join(unknown)}; available: {', '.join(sorted(_READER_ALIASES))}",
            code="ML201",
        )
    # Same package; imported here because they import this module.
    from medlens.io.fhir_reader import read_fhir
    from medlens.io.hl7_reader import read_hl7

    top = Path(path)
    if top.is_dir():
        root, files = top, _iter_files(top)
    elif top.exists():
        root, files = top.parent, iter([top])
    else:
        yield InputError("input not found; check the path", code="ML108", source=str(top))
        return
    readers: dict[str, Callable[[Path], Iterator[Result]]] = {
        "text": lambda f: read_text(f, root=root, max_bytes=max_bytes, encoding_errors=encoding_errors, kind=kind),
        "jsonl": lambda f: read_jsonl(f, max_bytes=max_bytes, encoding_errors=encoding_errors, kind=kind),
        "csv": lambda f: read_csv(
            f, mapping=csv_mapping, max_bytes=max_bytes, encoding_errors=encoding_errors, kind=kind
        ),
        "fhir": lambda f: read_fhir(f, max_bytes=max_bytes, encoding_errors=encoding_errors),
        "hl7": lambda f: read_hl7(f, max_bytes=max_bytes, encoding_errors=encoding_errors),
    }
    first_seen: dict[str, str | None] = {}
    skipped = 0
    for file in files:
        fmt = _format_of(file)
        if (fmt is None or fmt not in allowed) and top.is_dir():
            skipped += 1
            log.debug("skipping %s: not an input format", file)
            continue
        if fmt is None or fmt not in allowed:
            accepted = sorted(ext for ext, alias in EXTENSIONS.items() if alias in allowed)
            yield InputError(
                f"unsupported file type {file.suffix or '(no extension)'!r}; medlens reads {', '.join(accepted)}",
                code="ML109",
                source=str(file),
            )
            continue
        for item in readers[fmt](file):
            if isinstance(item, Document):
                if item.id in first_seen:
                    where, line = _split_source(item.source)
                    yield InputError(
                        f"duplicate record id {item.id!r} (first read from {first_seen[item.id]}); this record is "
                        "skipped; make ids unique",
                        code="ML110",
                        source=where,
                        line=line,
                    )
                    continue
                first_seen[item.id] = item.source
            yield item
    if skipped:
        log.warning("skipped %d file(s) under %s that are not %s", skipped, top, ", ".join(sorted(EXTENSIONS)))


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(_COUNT_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _count_segments(path: Path, name: bytes) -> int:
    """Segments called ``name`` at the start of a line (after an optional MLLP start byte): HL7 messages."""
    data = path.read_bytes()
    return sum(1 for line in re.split(rb"[\r\n]+", data) if line.lstrip(b"\x0b").startswith(name))


def count_inputs(path: str | os.PathLike[str]) -> int:
    """Cheap estimate of the number of records under ``path``, for progress bars (never raises).

    Text and JSON files count 1; JSONL counts its lines and CSV its lines less the header (newline counting, so
    blank lines and multi-line quoted fields make it an over-estimate).
    """
    top = Path(path)
    try:
        files = _iter_files(top) if top.is_dir() else iter([top] if top.exists() else [])
        total = 0
        for file in files:
            fmt = EXTENSIONS.get(file.suffix.lower())
            if fmt in ("jsonl", "csv"):
                total += max(_count_lines(file) - (fmt == "csv"), 0)
            elif fmt == "hl7":
                total += max(_count_segments(file, b"MSH"), 1)
            elif fmt is not None:
                total += 1
        return total
    except OSError:
        return 0
