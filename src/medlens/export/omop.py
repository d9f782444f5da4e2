"""``note_nlp.csv`` / ``note_nlp.parquet``: ``notes.extract`` findings as rows of the OMOP CDM v5.4 NOTE_NLP table.

One row per evidence span of each finding (NOTE_NLP rows are mentions in a note); findings without evidence are
not written. Columns, in the CDM order: see :data:`NOTE_NLP_COLUMNS`. Conventions (OHDSI CDM v5.4
``OMOP_CDMv5.4_Field_Level.csv`` and the NOTE_NLP conventions of the CDM documentation):

* ``note_id``: OMOP needs an integer. A record id that is a canonical non-negative integer below 2**63 is used as
  is, any other id is replaced by a stable 63-bit hash (BLAKE2b); ``note_id_map.csv`` (``.parquet`` for the
  Parquet writer) beside the table maps every record id to its note_id. ``note_nlp_id`` is the same kind of hash
  of (record id, finding index, evidence index), so rows keep their ids across runs and shards.
* ``section_concept_id``, ``note_nlp_concept_id``, ``note_nlp_source_concept_id``: 0. medlens runs offline without
  the OMOP vocabulary tables, so no concept can be looked up; the source code is in ``term_modifiers``
  (``code=ICD10CM:I10``) for a later vocabulary join.
* ``snippet``: the sentence around the evidence (bounded by ``. ! ?`` followed by a space, or a line break), cut
  to 250 characters centred on the evidence, line breaks and tabs as spaces. ``offset``: evidence start, in
  characters of the note text, as text. ``lexical_variant``: the evidence quote (first 250 characters).
* ``term_exists``: ``N`` when the mention is negated, uncertain (possible, suspected, rule out), hypothetical or
  about someone other than the patient, else ``Y``.
* ``term_temporal``: ``past`` when historical, else ``present``.
* ``term_modifiers``: ``key=value`` pairs joined by commas, always ``negated``, ``uncertain``, ``historical``,
  ``hypothetical``, ``experiencer`` (``patient``/``family``) and ``type``, then ``section``, ``code``
  (``<OMOP vocabulary_id>:<code>``) and the value (``value``, ``unit``, ``interpretation``) or sig (``dose``,
  ``route``, ``frequency``) where present. Commas and equals signs inside values become spaces.
* ``nlp_system``: ``medlens <version>``; ``nlp_date``/``nlp_datetime``: when the writer was created (UTC).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import IO, Any, NamedTuple

from medlens.core.errors import MissingDependencyError
from medlens.core.types import Document, RecordResult
from medlens.export.findings import medlens_version, notes_findings
from medlens.notes.schema import Finding, Quantity

__all__ = [
    "NOTE_ID_MAP_COLUMNS",
    "NOTE_NLP_COLUMNS",
    "NoteNlpCsvWriter",
    "NoteNlpParquetWriter",
    "NoteNlpRow",
    "note_id",
    "note_nlp_rows",
]

NOTE_NLP_COLUMNS: tuple[str, ...] = (
    "note_nlp_id",
    "note_id",
    "section_concept_id",
    "snippet",
    "offset",
    "lexical_variant",
    "note_nlp_concept_id",
    "note_nlp_source_concept_id",
    "nlp_system",
    "nlp_date",
    "nlp_datetime",
    "term_exists",
    "term_temporal",
    "term_modifiers",
)
NOTE_ID_MAP_COLUMNS: tuple[str, ...] = ("record_id", "note_id")

SNIPPET_MAX = 250  # varchar(250)
LEXICAL_VARIANT_MAX = 250  # varchar(250)
NLP_SYSTEM_MAX = 250  # varchar(250)
TERM_MODIFIERS_MAX = 2000  # varchar(2000)
_MAX_ID = 2**63 - 1
_CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,18}")
_LAYOUT = str.maketrans({"\r": " ", "\n": " ", "\t": " ", "\f": " ", "\v": " "})
_UNSAFE = re.compile(r"[,=\r\n\t\f\v]")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
# Code system URI -> OMOP vocabulary_id.
_VOCABULARIES: dict[str, str] = {
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD10",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED",
    "http://unitsofmeasure.org": "UCUM",
    "http://purl.obolibrary.org/obo/hp.owl": "HPO",
}


class NoteNlpRow(NamedTuple):
    """One NOTE_NLP row, fields in :data:`NOTE_NLP_COLUMNS` order."""

    note_nlp_id: int
    note_id: int
    section_concept_id: int
    snippet: str
    offset: str
    lexical_variant: str
    note_nlp_concept_id: int
    note_nlp_source_concept_id: int
    nlp_system: str
    nlp_date: dt.date
    nlp_datetime: dt.datetime
    term_exists: str
    term_temporal: str
    term_modifiers: str


def _hash63(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _MAX_ID or 1


def note_id(record_id: str) -> int:
    """OMOP ``note_id`` of a record: the id itself when it is a canonical integer below 2**63, else a 63-bit hash."""
    if _CANONICAL_INT.fullmatch(record_id) and int(record_id) <= _MAX_ID:
        return int(record_id)
    return _hash63("note", record_id)


def _clean(value: str) -> str:
    return _UNSAFE.sub(" ", value).strip()


def _number(value: float) -> str:
    return f"{value:g}"


def _quantity_text(q: Quantity | None) -> str | None:
    if q is None:
        return None
    if q.value is not None:
        return (q.comparator or "") + _number(q.value)
    if q.low is not None and q.high is not None:
        return f"{_number(q.low)}-{_number(q.high)}"
    return None


def term_modifiers(finding: Finding) -> str:
    """The ``term_modifiers`` string of a finding (see the module docstring)."""
    a = finding.assertion
    text = (
        f"negated={'true' if a.negated else 'false'},uncertain={'true' if a.uncertain else 'false'},"
        f"historical={'true' if a.historical else 'false'},hypothetical={'true' if a.hypothetical else 'false'},"
        f"experiencer={'family' if a.family else 'patient'},type={finding.type}"
    )
    pairs: list[tuple[str, str | None]] = [("section", finding.section)]
    if finding.code is not None:
        vocabulary = _VOCABULARIES.get(finding.code.system, finding.code.system)
        pairs.append(("code", f"{vocabulary}:{finding.code.code}"))
    m = finding.measurement
    if m is not None:
        value = _quantity_text(m.value)
        if value is not None and m.value2 is not None:
            value = f"{value}/{_quantity_text(m.value2) or ''}"
        unit = (m.value.ucum or m.value.unit) if m.value is not None else None
        pairs += [("value", value or m.text_value), ("unit", unit), ("interpretation", m.interpretation)]
    med = finding.medication
    if med is not None:
        pairs += [
            ("dose", med.dose.text if med.dose else None),
            ("route", (med.route.value or med.route.text) if med.route else None),
            ("frequency", (med.frequency.value or med.frequency.text) if med.frequency else None),
        ]
    text += "".join(f",{key}={_clean(value)}" for key, value in pairs if value)
    return text[:TERM_MODIFIERS_MAX]


def _snippet(text: str, start: int, end: int) -> str:
    """The sentence around ``[start, end)``, at most SNIPPET_MAX characters, centred on the evidence.

    Sentences end at ``. ! ?`` followed by white space, or at a line break.

    A local search, not ``medlens.text.split_sentences`` over the whole note: that costs ~0.3 ms a note, a tenth of
    the pipeline's budget, for a window the CDM only asks to be "a small window of text surrounding the term".
    """
    left = max(0, start - SNIPPET_MAX)
    for match in _SENTENCE_END.finditer(text, left, start):
        left = match.end()
    after = _SENTENCE_END.search(text, end, end + SNIPPET_MAX)
    right = after.end() if after else min(len(text), end + SNIPPET_MAX)
    if right - left > SNIPPET_MAX:
        if end - start >= SNIPPET_MAX:
            left, right = start, start + SNIPPET_MAX
        else:
            lowest = left
            left = max(lowest, start - (SNIPPET_MAX - (end - start)) // 2)
            right = min(right, left + SNIPPET_MAX)
            left = max(lowest, right - SNIPPET_MAX)
    return text[left:right].translate(_LAYOUT).strip()


def note_nlp_rows(
    document: Document, result: RecordResult, *, nlp_system: str, processed_at: dt.datetime
) -> list[NoteNlpRow]:
    """NOTE_NLP rows of one record: one per evidence span of each ``notes.extract`` finding."""
    findings = notes_findings(result)
    if not findings:
        return []
    text = document.text
    nid = note_id(document.id)
    date = processed_at.date()
    rows = []
    for i, finding in enumerate(findings):
        a = finding.assertion
        exists = "N" if (a.negated or a.uncertain or a.hypothetical or a.family) else "Y"
        temporal = "past" if a.historical else "present"
        modifiers = term_modifiers(finding)
        for j, evidence in enumerate(finding.evidence):
            rows.append(
                NoteNlpRow(
                    note_nlp_id=_hash63("note_nlp", document.id, str(i), str(j)),
                    note_id=nid,
                    section_concept_id=0,
                    snippet=_snippet(text, evidence.start, evidence.end),
                    offset=str(evidence.start),
                    lexical_variant=evidence.quote[:LEXICAL_VARIANT_MAX],
                    note_nlp_concept_id=0,
                    note_nlp_source_concept_id=0,
                    nlp_system=nlp_system,
                    nlp_date=date,
                    nlp_datetime=processed_at,
                    term_exists=exists,
                    term_temporal=temporal,
                    term_modifiers=modifiers,
                )
            )
    return rows


class _NoteNlpWriter:
    """Shared set-up of the CSV and Parquet writers."""

    filename = "note_nlp"

    def __init__(self, out_dir: Path, *, version: str | None, processed_at: dt.datetime | None) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.nlp_system = f"medlens {medlens_version(version)}"[:NLP_SYSTEM_MAX]
        moment = processed_at or dt.datetime.now(dt.UTC)
        # OMOP datetime columns hold no zone: store UTC without one.
        self.processed_at = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
        self.rows = 0

    def _rows(self, document: Document, result: RecordResult) -> list[NoteNlpRow]:
        rows = note_nlp_rows(document, result, nlp_system=self.nlp_system, processed_at=self.processed_at)
        self.rows += len(rows)
        return rows


class NoteNlpCsvWriter(_NoteNlpWriter):
    """Write ``<out_dir>/note_nlp.csv`` (header row, UTF-8, RFC 4180 quoting) and ``note_id_map.csv``.

    Args:
        out_dir: Output folder (created if missing).
        version: medlens version for ``nlp_system`` (default: the installed version).
        processed_at: Time for ``nlp_date``/``nlp_datetime`` (default: now, UTC).
    """

    filename = "note_nlp.csv"
    map_filename = "note_id_map.csv"

    def __init__(self, out_dir: Path, *, version: str | None = None, processed_at: dt.datetime | None = None) -> None:
        super().__init__(out_dir, version=version, processed_at=processed_at)
        self._fh: IO[str] | None = open(self.out_dir / self.filename, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._map_fh: IO[str] = open(self.out_dir / self.map_filename, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._map = csv.writer(self._map_fh, lineterminator="\n")
        self._csv.writerow(NOTE_NLP_COLUMNS)
        self._map.writerow(NOTE_ID_MAP_COLUMNS)
        self._date = self.processed_at.date().isoformat()
        self._datetime = self.processed_at.isoformat(sep=" ", timespec="seconds")

    def write(self, document: Document, result: RecordResult) -> None:
        """Add the rows of one record and its line in the note_id map."""
        if self._fh is None:
            raise ValueError(f"{self.filename} is closed")
        self._map.writerow((document.id, note_id(document.id)))
        self._csv.writerows((*row[:9], self._date, self._datetime, *row[11:]) for row in self._rows(document, result))

    def close(self) -> None:
        """Flush and close both files (idempotent)."""
        if self._fh is None:
            return
        self._fh.close()
        self._map_fh.close()
        self._fh = None


class NoteNlpParquetWriter(_NoteNlpWriter):
    """Write ``<out_dir>/note_nlp.parquet`` and ``note_id_map.parquet`` (needs ``pip install "medlens[parquet]"``).

    Column types: ids and concept ids int64, ``nlp_date`` date32, ``nlp_datetime`` timestamp[us], the rest
    strings. Rows are written in row groups of ``row_group_size``, so memory stays bounded.

    Args:
        out_dir: Output folder (created if missing).
        version: medlens version for ``nlp_system`` (default: the installed version).
        processed_at: Time for ``nlp_date``/``nlp_datetime`` (default: now, UTC).
        row_group_size: Rows buffered before a row group is written.

    Raises:
        MissingDependencyError: ML501 when pyarrow is not installed.
    """

    filename = "note_nlp.parquet"
    map_filename = "note_id_map.parquet"

    def __init__(
        self,
        out_dir: Path,
        *,
        version: str | None = None,
        processed_at: dt.datetime | None = None,
        row_group_size: int = 50_000,
    ) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise MissingDependencyError(
                'writing note_nlp.parquet needs pyarrow: pip install "medlens[parquet]" (or write note_nlp.csv)',
                code="ML501",
            ) from exc
        super().__init__(out_dir, version=version, processed_at=processed_at)
        self._pa: Any = pa
        int64, string = pa.int64(), pa.string()
        types = {
            "note_nlp_id": int64,
            "note_id": int64,
            "section_concept_id": int64,
            "note_nlp_concept_id": int64,
            "note_nlp_source_concept_id": int64,
            "nlp_date": pa.date32(),
            "nlp_datetime": pa.timestamp("us"),
        }
        self._schema = pa.schema([(name, types.get(name, string)) for name in NOTE_NLP_COLUMNS])
        self._map_schema = pa.schema([("record_id", string), ("note_id", int64)])
        self._writer: Any = pq.ParquetWriter(self.out_dir / self.filename, self._schema)
        self._map_writer: Any = pq.ParquetWriter(self.out_dir / self.map_filename, self._map_schema)
        self._row_group_size = row_group_size
        self._buffer: list[NoteNlpRow] = []
        self._map_buffer: list[tuple[str, int]] = []
        self._closed = False

    def write(self, document: Document, result: RecordResult) -> None:
        """Add the rows of one record and its line in the note_id map."""
        if self._closed:
            raise ValueError(f"{self.filename} is closed")
        self._map_buffer.append((document.id, note_id(document.id)))
        self._buffer.extend(self._rows(document, result))
        if len(self._buffer) >= self._row_group_size or len(self._map_buffer) >= self._row_group_size:
            self._flush()

    def _flush(self) -> None:
        pa = self._pa
        for writer, schema, rows in (
            (self._writer, self._schema, self._buffer),
            (self._map_writer, self._map_schema, self._map_buffer),
        ):
            if rows:
                columns = zip(*rows, strict=True)
                arrays = [pa.array(column, type=f.type) for column, f in zip(columns, schema, strict=True)]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        self._buffer = []
        self._map_buffer = []

    def close(self) -> None:
        """Write what is buffered and close both files (idempotent)."""
        if self._closed:
            return
        self._flush()
        self._writer.close()
        self._map_writer.close()
        self._closed = True
