"""Compose tasks over records: one result line per record, whatever fails (DESIGN.md §2, workflow layer)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict

from medlens.core.errors import MedlensError
from medlens.core.registry import Task, TaskSpec, load_object, tasks
from medlens.core.types import Document, ErrorItem, RecordResult, TaskResult
from medlens.registrations import register_all

__all__ = ["Pipeline"]

log = logging.getLogger(__name__)


class _LooseResult(TaskResult):
    """A result of a task this pipeline does not run (read back from an older results file), kept as is."""

    model_config = ConfigDict(frozen=True, extra="allow")


@dataclass
class _Stage:
    spec: TaskSpec
    task: Task


class Pipeline:
    """Tasks applied in order to batches of documents. Create with :meth:`from_names` or ``medlens.load()``."""

    def __init__(self, stages: Sequence[tuple[TaskSpec, Task]]) -> None:
        self._stages = [_Stage(spec, task) for spec, task in stages]

    @classmethod
    def from_names(
        cls,
        names: Sequence[str],
        *,
        backends: dict[str, str] | None = None,
        options: dict[str, dict[str, Any]] | None = None,
    ) -> Pipeline:
        """Build from task aliases or full names; ``backends`` and ``options`` are keyed by alias.

        Raises:
            RegistryError: ML301 unknown task, ML303 unknown backend.
        """
        register_all()
        backends = backends or {}
        options = options or {}
        stages: list[tuple[TaskSpec, Task]] = []
        for name in dict.fromkeys(tasks.resolve(n) for n in names):  # a task named twice runs once
            spec = tasks.get(name)
            backend = backends.get(spec.alias) or backends.get(spec.name)
            opts = options.get(spec.alias) or options.get(spec.name) or {}
            stages.append((spec, spec.create(backend, **opts)))
        return cls(stages)

    @property
    def stages(self) -> list[Task]:
        """The task instances, in order."""
        return [s.task for s in self._stages]

    @property
    def task_names(self) -> list[str]:
        """Short names of the tasks, in order."""
        return [s.spec.alias for s in self._stages]

    def describe(self) -> list[dict[str, str]]:
        """Alias, full name and backend of each task, for manifests and the audit log."""
        return [{"alias": s.spec.alias, "name": s.spec.name, "backend": s.task.backend} for s in self._stages]

    def parse_result(self, line: str) -> RecordResult:
        """Read one results.jsonl line back, typing each task's payload with its registered result model."""
        data = json.loads(line)
        raw_tasks = data.pop("tasks", {})
        result = RecordResult.model_validate(data)
        by_alias = {s.spec.alias: s.spec for s in self._stages}
        for alias, payload in raw_tasks.items():
            spec = by_alias.get(alias)
            model: type[TaskResult] = load_object(spec.result) if spec else _LooseResult
            result.tasks[alias] = model.model_validate(payload)
        return result

    def run(self, document: Document) -> RecordResult:
        """Run every task on one document."""
        return self.run_batch([document])[0]

    def run_batch(self, documents: Sequence[Document]) -> list[RecordResult]:
        """Run every task on a batch; every document gets exactly one result, whatever fails.

        A task failing on the batch is retried record by record, so one bad record cannot take the others down.
        Failures go in the record's ``errors``.
        """
        results = [RecordResult(id=d.id, kind=d.kind, patient_id=d.patient_id, source=d.source) for d in documents]
        for stage in self._stages:
            applicable = [i for i, d in enumerate(documents) if d.kind in stage.spec.kinds]
            if not applicable:
                continue
            batch = [documents[i] for i in applicable]
            try:
                outputs = stage.task(batch)
                if len(outputs) != len(batch):
                    raise MedlensError(
                        f"task {stage.spec.alias} returned {len(outputs)} results for {len(batch)} records",
                        code="ML901",
                    )
            except Exception:
                log.debug("task %s failed on a batch; retrying record by record", stage.spec.alias)
                for i in applicable:
                    self._run_one(stage, documents[i], results[i])
                continue
            for i, out in zip(applicable, outputs, strict=True):
                results[i].tasks[stage.spec.alias] = out
        return results

    @staticmethod
    def _run_one(stage: _Stage, document: Document, result: RecordResult) -> None:
        try:
            result.tasks[stage.spec.alias] = stage.task([document])[0]
        except MedlensError as exc:
            result.errors.append(ErrorItem(code=exc.code, message=exc.message, task=stage.spec.alias))
        except Exception as exc:  # a bug in a task must not lose the record; log type only, never text
            log.exception("task %s failed on record %s", stage.spec.alias, document.id)
            result.errors.append(
                ErrorItem(code="ML902", message=f"internal error {type(exc).__name__}", task=stage.spec.alias)
            )

    def stream(self, documents: Iterable[Document], *, batch_size: int = 32) -> Iterator[RecordResult]:
        """Run over an iterable of documents lazily, ``batch_size`` at a time."""
        batch: list[Document] = []
        for doc in documents:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self.run_batch(batch)
                batch = []
        if batch:
            yield from self.run_batch(batch)
