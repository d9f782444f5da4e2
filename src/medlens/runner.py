"""The main job: read inputs, run the pipeline, write every output, never lose or duplicate a record.

``results.jsonl`` is the primary output. It is appended one complete line per record, flushed per batch, so a
killed run can be resumed (``resume=True``): records already in it are skipped, a torn last line is cut off, and
the derived files (bundle.json, note_nlp.csv, report.html) are rebuilt for all records at the end.
Unreadable inputs go to ``errors.jsonl`` (file, line, code, message); record-level task failures stay on the
record's line under ``errors``. ``run.json`` is the manifest of the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from medlens.core.config import MedlensConfig
from medlens.core.errors import InputError
from medlens.core.registry import Writer, writers
from medlens.core.types import Document, RecordResult
from medlens.io.readers import count_inputs, read_inputs
from medlens.pipeline import Pipeline
from medlens.registrations import register_all

__all__ = ["RunSummary", "run_job"]

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
ERRORS = "errors.jsonl"
MANIFEST = "run.json"


@dataclass
class RunSummary:
    """Counts of one run; ``exit_code`` is non-zero when anything failed."""

    records: int = 0
    resumed: int = 0
    record_errors: int = 0
    input_errors: int = 0
    findings: int = 0
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every input was read and every task succeeded, else 1."""
        return 1 if (self.record_errors or self.input_errors) else 0


def _done_results(path: Path) -> dict[str, int]:
    """Ids already in ``results.jsonl`` -> byte offset of their line; cut a torn last line first."""
    done: dict[str, int] = {}
    if not path.exists():
        return done
    with path.open("rb+") as fh:
        data = fh.read()
        complete = data.rfind(b"\n") + 1
        if complete != len(data):
            log.warning("%s ends in an incomplete line (killed run); cutting it off", path)
            fh.truncate(complete)
    offset = 0
    for raw in data[:complete].splitlines(keepends=True):
        try:
            done[str(json.loads(raw)["id"])] = offset
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"cannot resume: line at byte {offset} is not a result line", code="ML111", source=str(path)
            ) from exc
        offset += len(raw)
    return done


def _read_line(path: Path, offset: int) -> str:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.readline().decode("utf-8")


def _count_findings(result: RecordResult) -> int:
    """Grounded claims across tasks: findings, plus labels that are supported (not 'not mentioned')."""
    n = 0
    for r in result.tasks.values():
        n += len(getattr(r, "findings", ()))
        n += sum(1 for label in getattr(r, "labels", ()) if getattr(label, "supported", False))
    return n


def _batches(items: Iterator[Document | InputError], size: int) -> Iterator[list[Document | InputError]]:
    batch: list[Document | InputError] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_job(
    input_path: Path,
    out_dir: Path,
    config: MedlensConfig,
    *,
    resume: bool = False,
    csv_mapping: dict[str, str] | None = None,
    console: Console | None = None,
) -> RunSummary:
    """Run the configured tasks over ``input_path`` (file or folder) and write outputs into ``out_dir``.

    Raises:
        RegistryError: unknown task, backend or output format.
        InputError: ML108 when ``input_path`` does not exist; ML111 when a resume finds a corrupt results file.
    """
    register_all()
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    if not input_path.exists():
        raise InputError("input not found", code="ML108", source=str(input_path))
    run_cfg = config.run
    pipeline = Pipeline.from_names(run_cfg.tasks, backends=run_cfg.backends, options=config.task_options)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS
    done = _done_results(results_path) if resume else {}
    if not resume and results_path.exists():
        results_path.unlink()
    summary = RunSummary(resumed=len(done))
    formats = list(dict.fromkeys(["jsonl", *run_cfg.formats]))
    console = console or Console(stderr=True)
    max_bytes = int(run_cfg.max_file_mb * 2**20)

    with ExitStack() as stack:
        options = config.writer_options
        primary: Writer = writers.get("jsonl")(out_dir, append=resume, **options.get("jsonl", {}))
        derived: list[Writer] = [writers.get(f)(out_dir, **options.get(f, {})) for f in formats if f != "jsonl"]
        errors_fh = stack.enter_context((out_dir / ERRORS).open("w", encoding="utf-8"))
        progress = Progress(
            TextColumn("[bold]medlens[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not run_cfg.progress,
            transient=False,
        )
        stack.enter_context(progress)
        bar = progress.add_task("records", total=count_inputs(input_path) or None)
        items = read_inputs(input_path, csv_mapping=csv_mapping, max_bytes=max_bytes, kind=run_cfg.default_kind)
        if run_cfg.deid is not None:
            items = _deidentified(items, config, run_cfg.deid)
        for batch in _batches(items, run_cfg.batch_size):
            todo: list[Document] = []
            for item in batch:
                if isinstance(item, InputError):
                    summary.input_errors += 1
                    errors_fh.write(
                        json.dumps(
                            {"source": item.source, "line": item.line, "code": item.code, "message": item.message}
                        )
                        + "\n"
                    )
                elif item.id in done:
                    previous = pipeline.parse_result(_read_line(results_path, done[item.id]))
                    summary.records += 1
                    summary.findings += _count_findings(previous)
                    summary.record_errors += bool(previous.errors)
                    for w in derived:
                        w.write(item, previous)
                else:
                    todo.append(item)
            for doc, result in zip(todo, pipeline.run_batch(todo), strict=True):
                primary.write(doc, result)
                summary.records += 1
                summary.findings += _count_findings(result)
                summary.record_errors += bool(result.errors)
                for w in derived:
                    w.write(doc, result)
            _flush(primary)
            errors_fh.flush()
            progress.advance(bar, len(batch))
        for w in [primary, *derived]:
            w.close()
            summary.outputs.append(str(out_dir / w.filename))

    summary.seconds = round(time.perf_counter() - started, 3)
    _write_manifest(out_dir, input_path, config, pipeline, summary, started_at)
    return summary


def _deidentified(
    items: Iterator[Document | InputError], config: MedlensConfig, mode: Literal["redact", "mask", "surrogate"]
) -> Iterator[Document | InputError]:
    """De-identify each record before any task sees it; a record that fails is withheld (an error), never passed."""
    from medlens.safety.deid import DeidError
    from medlens.safety.deid.settings import build_deidentifier

    deid = build_deidentifier(config.deid, mode=mode)
    for item in items:
        if isinstance(item, InputError):
            yield item
            continue
        try:
            yield deid.deidentify(item, mode=mode).document
        except DeidError as exc:
            yield InputError(f"record {item.id!r} withheld: {exc.message}", code=exc.code, source=item.source)


def _flush(writer: Writer) -> None:
    flush = getattr(writer, "flush", None)
    if callable(flush):
        flush()


def _write_manifest(
    out_dir: Path,
    input_path: Path,
    config: MedlensConfig,
    pipeline: Pipeline,
    summary: RunSummary,
    started_at: dt.datetime,
) -> None:
    from medlens import __version__

    manifest: dict[str, Any] = {
        "medlens_version": __version__,
        "started": started_at.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "input": str(input_path),
        "tasks": pipeline.describe(),
        "config": config.model_dump(mode="json"),
        "summary": asdict(summary) | {"exit_code": summary.exit_code},
    }
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / MANIFEST)
