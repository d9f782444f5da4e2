"""medlens: grounded, offline-first clinical NLP. Drafts and checks for clinician review; not for diagnostic use.

Usage::

    import medlens
    nlp = medlens.load()                       # notes.extract with the offline rules backend
    result = nlp.run(medlens.Document(id="n1", text="Denies chest pain. On metformin 500 mg PO BID."))
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from medlens.core import Document, Evidence, MedlensError, RecordResult, Span

if TYPE_CHECKING:
    from medlens.pipeline import Pipeline

try:
    __version__ = version("medlens")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["Document", "Evidence", "MedlensError", "RecordResult", "Span", "__version__", "load"]


def load(tasks: list[str] | None = None, *, backends: dict[str, str] | None = None, **options: Any) -> Pipeline:
    """Build a pipeline of ``tasks`` (default: ``["notes.extract"]``) with their configured backends."""
    from medlens.pipeline import Pipeline

    return Pipeline.from_names(tasks or ["notes.extract"], backends=backends or {}, options=options)
