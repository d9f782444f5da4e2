"""``medlens deid``: de-identify text records and DICOM files into an output folder, failing closed.

Text inputs (everything ``medlens run`` reads) become ``records.jsonl`` in the same JSONL input format, so the
output can be fed to ``medlens run``. DICOM files found under the input folder go to ``dicom/`` (PS3.15 Annex E basic
profile). A record or file whose de-identification fails is withheld and listed in ``errors.jsonl`` — never written
out. Spans (``--spans``) are offsets into the *original* texts and carry no text. The re-identification mapping is
written only when asked, encrypted with a key from configuration, and never into the output folder.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

from medlens.core.config import DeidSettings
from medlens.core.errors import ConfigError, InputError
from medlens.core.types import Document
from medlens.io.readers import read_inputs
from medlens.safety.deid import DeidError, DeidMode, MappingWriter, PatientKeys
from medlens.safety.deid.settings import build_deidentifier

__all__ = ["DeidSummary", "run_deid"]

log = logging.getLogger(__name__)

RECORDS = "records.jsonl"
SPANS = "spans.jsonl"
ERRORS = "errors.jsonl"
DICOM_DIR = "dicom"
DICOM_REPORT = "dicom_report.json"


@dataclass
class DeidSummary:
    """Counts of one de-identification run; ``exit_code`` is 1 when anything was withheld or unreadable."""

    records: int = 0
    withheld: int = 0
    input_errors: int = 0
    dicom_written: int = 0
    dicom_review: int = 0
    dicom_failed: int = 0
    phi_counts: Counter[str] = field(default_factory=Counter)

    @property
    def exit_code(self) -> int:
        """0 when everything was de-identified and written, else 1."""
        return 1 if (self.withheld or self.input_errors or self.dicom_failed) else 0


def _record_line(doc: Document) -> str:
    row: dict[str, Any] = {"id": doc.id, "text": doc.text, "kind": doc.kind}
    if doc.patient_id is not None:
        row["patient_id"] = doc.patient_id
    if doc.date is not None:
        row["date"] = doc.date.isoformat()
    row.update(doc.meta)
    return json.dumps(row, ensure_ascii=False) + "\n"


def _has_dicom(root: Path) -> bool:
    if not root.is_dir():
        return False
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if name.lower().endswith(".dcm"):
                return True
            try:
                with path.open("rb") as fh:
                    fh.seek(128)
                    if fh.read(4) == b"DICM":
                        return True
            except OSError:
                continue
    return False


def run_deid(
    input_path: Path,
    out_dir: Path,
    settings: DeidSettings,
    *,
    mode: str | None = None,
    write_spans: bool = False,
    mapping_path: Path | None = None,
    kind: str = "note",
    csv_mapping: dict[str, str] | None = None,
    max_bytes: int = 16 * 2**20,
) -> DeidSummary:
    """De-identify ``input_path`` (file or folder) into ``out_dir``.

    Raises:
        InputError: ML108 when the input does not exist.
        ConfigError: invalid settings; ML207 when a mapping is asked for without ``deid.mapping_key`` or inside the
            output folder.
    """
    if not input_path.exists():
        raise InputError("input not found", code="ML108", source=str(input_path))
    chosen = mode or settings.mode
    if chosen not in get_args(DeidMode):
        raise ConfigError(f"unknown mode {chosen!r}; available: {', '.join(get_args(DeidMode))}", code="ML201")
    deid = build_deidentifier(settings, mode=chosen)
    mapping: MappingWriter | None = None
    if mapping_path is not None:
        if settings.mapping_key is None:
            raise ConfigError("a mapping needs a key: set MEDLENS_DEID__MAPPING_KEY", code="ML207")
        if out_dir.resolve() in mapping_path.resolve().parents:
            raise ConfigError("write the mapping outside the output folder: it re-identifies", code="ML207")
        mapping = MappingWriter(mapping_path, settings.mapping_key.get_secret_value())
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = DeidSummary()
    try:
        with (
            (out_dir / RECORDS).open("w", encoding="utf-8") as records,
            (out_dir / ERRORS).open("w", encoding="utf-8") as errors,
            (out_dir / SPANS).open("w", encoding="utf-8") if write_spans else open(os.devnull, "w") as spans,
        ):
            for item in read_inputs(input_path, csv_mapping=csv_mapping, max_bytes=max_bytes, kind=kind):
                if isinstance(item, InputError):
                    summary.input_errors += 1
                    errors.write(json.dumps({"source": item.source, "line": item.line, "code": item.code,
                                             "message": item.message}) + "\n")  # fmt: skip
                    continue
                try:
                    result = deid.deidentify(item, mode=cast(DeidMode, chosen))
                except DeidError as exc:
                    summary.withheld += 1
                    errors.write(json.dumps({"id": item.id, "code": exc.code, "message": exc.message}) + "\n")
                    continue
                records.write(_record_line(result.document))
                summary.records += 1
                summary.phi_counts.update(s.type for s in result.spans)
                if mapping is not None:
                    mapping.add(item.id, item.text, result)
                for s in result.spans:
                    spans.write(json.dumps({"id": item.id, **s.model_dump()}) + "\n")
    finally:
        if mapping is not None:
            mapping.close()
    if _has_dicom(input_path):
        _run_dicom(input_path, out_dir, deid.keys, summary)
    return summary


def _run_dicom(input_path: Path, out_dir: Path, keys: PatientKeys, summary: DeidSummary) -> None:
    from medlens.safety.deid.dicom import deidentify_folder

    report = deidentify_folder(input_path, out_dir / DICOM_DIR, keys=keys)
    # The full report links input paths (often named after patients) to outputs: only the release copy travels.
    release = report.for_release().model_dump(mode="json")
    (out_dir / DICOM_REPORT).write_text(json.dumps(release, indent=2) + "\n", encoding="utf-8")
    summary.dicom_written += report.written
    summary.dicom_review += report.review + report.refused
    summary.dicom_failed += report.failed
