"""Bounded in-process job runner: a thread pool plus a fixed number of slots (full -> the API answers 503).

A job runs its tasks with :class:`medlens.pipeline.Pipeline` over its records ``batch_size`` at a time; each batch's
results, review flags and audit entries commit in one transaction. Re-running a job skips what it already stored,
so a job interrupted by a restart resumes without duplicating results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medlens.core.types import Document, RecordResult
from medlens.pipeline import Pipeline
from medlens.safety.audit import append_event, event, sha256_hex
from medlens.store.audit_store import DbAuditLog
from medlens.store.models import Job, Record, Result, utcnow

__all__ = ["JobWorker", "review_flags", "run_job"]

log = logging.getLogger(__name__)

# Queue order: unsupported claims first, then low confidence, then the random sample, then the rest.
_PRIORITY = {"unsupported": 0, "low_confidence": 1, "sampled": 2}


def _walk(value: Any, scores: list[float]) -> bool:
    """Collect evidence scores; True when some claim says ``supported: false``."""
    unsupported = False
    if isinstance(value, dict):
        if value.get("supported") is False:
            unsupported = True
        for key, item in value.items():
            if key == "evidence" and isinstance(item, list):
                scores.extend(float(e["score"]) for e in item if isinstance(e, dict) and "score" in e)
            else:
                unsupported = _walk(item, scores) or unsupported
    elif isinstance(value, list):
        for item in value:
            unsupported = _walk(item, scores) or unsupported
    return unsupported


def review_flags(
    payload: dict[str, Any], *, result_id: str, min_confidence: float, sample_rate: float
) -> tuple[list[str], float | None, int]:
    """Why a result needs review, its lowest evidence score, and its queue priority (0 = most urgent).

    ``sampled`` is decided from the result id (uniform over ids), so the same result is always in or out.
    """
    scores: list[float] = []
    flags = []
    if _walk(payload, scores):
        flags.append("unsupported")
    confidence = min(scores) if scores else None
    if confidence is not None and confidence < min_confidence:
        flags.append("low_confidence")
    draw = int(hashlib.sha256(result_id.encode("ascii")).hexdigest()[:8], 16) / 2**32
    if draw < sample_rate:
        flags.append("sampled")
    priority = min((_PRIORITY[f] for f in flags), default=9)
    return flags, confidence, priority


class _Pipelines(threading.local):
    """One pipeline per task list per thread (task instances are not shared across threads)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, ...], Pipeline] = {}

    def get(self, tasks: Sequence[str]) -> Pipeline:
        key = tuple(tasks)
        if key not in self.cache:
            self.cache[key] = Pipeline.from_names(list(key))
        return self.cache[key]


_pipelines = _Pipelines()


def _payload(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.model_dump_json())
    return data


def _store_batch(
    session: Session,
    job: Job,
    records: list[Record],
    outputs: list[RecordResult],
    pipeline: Pipeline,
    *,
    min_confidence: float,
    sample_rate: float,
) -> tuple[int, int]:
    names = {d["alias"]: d for d in pipeline.describe()}
    audit = DbAuditLog(session)
    actor = f"user:{job.created_by}" if job.created_by else "system"
    done = failed = 0
    for record, output in zip(records, outputs, strict=True):
        failed_tasks = {e.task for e in output.errors}
        for alias, task_result in output.tasks.items():
            payload = _payload(task_result)
            result = Result(
                project_id=job.project_id,
                record_id=record.id,
                job_id=job.id,
                task=alias,
                task_name=task_result.name,
                backend=task_result.backend,
                payload=payload,
                output_sha256=sha256_hex(json.dumps(payload, sort_keys=True, separators=(",", ":"))),
                status="needs_review",
            )
            result.id = hashlib.sha256(f"{job.id}\x1f{record.id}\x1f{alias}".encode()).hexdigest()[:32]
            result.flags, result.confidence, result.priority = review_flags(
                payload, result_id=result.id, min_confidence=min_confidence, sample_rate=sample_rate
            )
            session.add(result)
            append_event(
                audit,
                event(
                    actor,
                    "run",
                    {"job": job.id, "record": record.id, "result": result.id},
                    input_hash=record.text_sha256,
                    output_hash=result.output_sha256,
                    model=f"{task_result.name}:{task_result.backend}",
                ),
            )
        for item in output.errors:
            spec = names.get(item.task or "")
            append_event(
                audit,
                event(
                    actor,
                    "run.error",
                    {"job": job.id, "record": record.id, "code": item.code},
                    input_hash=record.text_sha256,
                    model=f"{spec['name']}:{spec['backend']}" if spec else None,
                ),
            )
        if failed_tasks or output.errors:
            failed += 1
        else:
            done += 1
    return done, failed


def run_job(
    sessions: Callable[[], Session],
    job_id: str,
    *,
    batch_size: int = 16,
    min_confidence: float = 0.8,
    sample_rate: float = 0.1,
) -> None:
    """Run one job to the end (``done``), or mark it ``failed`` (ML950) if storage fails under it."""
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.status in ("done", "failed"):
            return
        job.status = "running"
        job.started_at = job.started_at or utcnow()
        session.commit()
        tasks, record_ids = list(job.tasks), list(job.record_ids)
    try:
        pipeline = _pipelines.get(tasks)
        for start in range(0, len(record_ids), batch_size):
            ids = record_ids[start : start + batch_size]
            with sessions() as session:
                job = session.get_one(Job, job_id)
                stored = set(session.scalars(select(Result.record_id).where(Result.job_id == job_id)))
                rows = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(ids)))}
                records = [rows[i] for i in ids if i in rows and i not in stored]
                if not records:
                    continue
                documents = [Document.model_validate(r.document) for r in records]
                outputs = pipeline.run_batch(documents)
                done, failed = _store_batch(
                    session,
                    job,
                    records,
                    outputs,
                    pipeline,
                    min_confidence=min_confidence,
                    sample_rate=sample_rate,
                )
                job.n_done += done
                job.n_failed += failed
                session.commit()
        with sessions() as session:
            job = session.get_one(Job, job_id)
            job.status = "done"
            job.finished_at = utcnow()
            session.commit()
    except Exception as exc:  # storage or pipeline set-up failed: record it on the job, never the text
        log.exception("job %s failed (%s)", job_id, type(exc).__name__)
        with sessions() as session:
            job = session.get_one(Job, job_id)
            job.status = "failed"
            job.error_code = "ML950"
            job.finished_at = utcnow()
            session.commit()


class JobWorker:
    """Runs jobs on ``workers`` threads with at most ``workers + queue_size`` admitted at once."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        workers: int,
        queue_size: int,
        batch_size: int = 16,
        min_confidence: float = 0.8,
        sample_rate: float = 0.1,
    ) -> None:
        self._sessions = sessions
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medlens-job")
        self._slots = threading.BoundedSemaphore(workers + queue_size)
        self._options: dict[str, Any] = {
            "batch_size": batch_size,
            "min_confidence": min_confidence,
            "sample_rate": sample_rate,
        }

    def reserve(self) -> bool:
        """Take a slot for a job; False when the queue is full (answer 503)."""
        return self._slots.acquire(blocking=False)

    def release(self) -> None:
        """Give back a slot reserved for a job that was not submitted."""
        self._slots.release()

    def submit(self, job_id: str) -> None:
        """Run a job whose slot was reserved."""
        self._executor.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            run_job(self._sessions, job_id, **self._options)
        finally:
            self._slots.release()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking jobs and (by default) wait for running ones."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
