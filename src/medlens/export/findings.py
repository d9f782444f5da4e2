"""What the FHIR and OMOP writers share: the ``notes.extract`` findings of a result line, and the medlens version."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

from medlens.core.types import RecordResult
from medlens.notes.schema import Finding, NotesExtractResult

__all__ = ["NOTES_TASK", "medlens_version", "notes_findings"]

NOTES_TASK = "notes.extract"


def notes_findings(result: RecordResult) -> tuple[Finding, ...]:
    """The ``notes.extract`` findings of ``result`` (none when the task did not run or failed).

    Accepts the typed result and, for lines read back without their registered model, a plain mapping.
    """
    task = result.tasks.get(NOTES_TASK)
    if isinstance(task, NotesExtractResult):
        return task.findings
    if isinstance(task, Mapping):
        return NotesExtractResult.model_validate(task).findings
    return ()


def medlens_version(explicit: str | None = None) -> str:
    """``explicit`` if given, else the installed medlens version.

    Read from the package metadata as ``medlens.__version__`` is: importing ``medlens`` itself from here would
    reach up the layers (it refers to ``medlens.pipeline``).
    """
    if explicit is not None:
        return explicit
    try:
        return version("medlens")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"
