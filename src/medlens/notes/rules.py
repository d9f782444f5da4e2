"""notes.extract, rules backend (skeleton; the notes helpers fill it in)."""

from __future__ import annotations

from collections.abc import Sequence

from medlens.core.types import Document
from medlens.notes.schema import NotesExtractResult

__all__ = ["NotesExtractRules"]


class NotesExtractRules:
    """Deterministic, offline extraction of problems, medications, allergies, vitals, labs and procedures."""

    name = "medlens.task.notes.extract.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.notes.extract",)

    def __call__(self, batch: Sequence[Document]) -> list[NotesExtractResult]:
        """One result per document, in order."""
        return [NotesExtractResult(name=self.name, backend=self.backend) for _ in batch]
