"""Transformation of detected PHI (redact, mask, surrogate) and the :class:`Deidentifier` that does both steps.

Detection and transformation are separate (the analyzer/anonymizer split): :meth:`Deidentifier.detect` returns
spans, :meth:`Deidentifier.transform` rewrites a text given spans, :meth:`Deidentifier.deidentify` does both for a
:class:`~medlens.core.types.Document` and fails closed: any internal failure raises :class:`DeidError`, and the
caller must not pass the record on. Nothing here logs document text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import Document
from medlens.safety.deid.config import DEID_VERSION, DeidConfig, DeidError, DeidMode, PhiSpan, PhiType
from medlens.safety.deid.detect import Detector
from medlens.safety.deid.keys import PatientKeys
from medlens.safety.deid.surrogates import SurrogateGenerator, mask, redaction

__all__ = ["DeidResult", "DeidText", "Deidentifier", "Replacement"]

log = logging.getLogger(__name__)

_DEFAULT_REFERENCE_YEAR = 2000  # a leap year, so "2/29" without a year can be shifted


class Replacement(NamedTuple):
    """Where one identifier was, and where its replacement is (``[start, end)`` old, ``[new_start, new_end)`` new)."""

    start: int
    end: int
    new_start: int
    new_end: int
    type: PhiType


class DeidText(BaseModel):
    """A de-identified text and the replacements made in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The de-identified text.")
    replacements: tuple[Replacement, ...] = Field(default=(), description="One per replaced span, in order.")


class DeidResult(BaseModel):
    """A de-identified document with what was found and replaced (offsets into the original and the new text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: Document = Field(description="The document with de-identified text; same id.")
    spans: tuple[PhiSpan, ...] = Field(description="PHI detected in the original text.")
    replacements: tuple[Replacement, ...] = Field(description="Replacements, old and new offsets.")


class Deidentifier:
    """Detects and replaces PHI in clinical text.

    Args:
        config: site configuration (types, extra patterns, allow/deny terms, thresholds, date handling).
        keys: secret-derived keys for consistent surrogates and date shifts. Without them a random secret is used,
            so surrogates are consistent within this process only.
    """

    def __init__(self, config: DeidConfig | None = None, *, keys: PatientKeys | None = None) -> None:
        self.config = config or DeidConfig()
        self.detector = Detector(self.config)
        self.keys = keys if keys is not None else PatientKeys.random()
        self.surrogates = SurrogateGenerator(self.keys, self.config)

    def detect(self, text: str) -> list[PhiSpan]:
        """PHI spans of ``text``: sorted, non-overlapping, merged (see :class:`Detector`)."""
        return self.detector.detect(text)

    def transform(
        self,
        text: str,
        spans: Sequence[PhiSpan],
        *,
        mode: DeidMode = "redact",
        patient_id: str | None = None,
        reference_year: int | None = None,
    ) -> DeidText:
        """Replace each span of ``text``.

        Args:
            text: the original text.
            spans: sorted, non-overlapping spans inside ``text`` (as :meth:`detect` returns them).
            mode: ``redact`` ("[NAME]"), ``mask`` (letters and digits -> "*", same length) or ``surrogate``
                (realistic, format-preserving, consistent per patient).
            patient_id: whose identifiers these are (surrogate consistency and date shift).
            reference_year: year assumed for dates written without one (surrogate mode).

        Raises:
            DeidError: ML602 if the spans do not fit the text or a replacement cannot be made.
        """
        if mode not in ("redact", "mask", "surrogate"):
            raise DeidError(f"unknown de-identification mode {mode!r}; use redact, mask or surrogate", code="ML602")
        pos = 0
        for span in spans:
            if span.start < pos or span.end > len(text) or span.end <= span.start:
                raise DeidError(
                    f"span [{span.start}, {span.end}) overlaps another, is out of order or lies outside the text "
                    f"(length {len(text)})",
                    code="ML602",
                )
            pos = span.end
        year = reference_year or _DEFAULT_REFERENCE_YEAR
        out: list[str] = []
        replacements: list[Replacement] = []
        pos = 0
        new_pos = 0
        for span in spans:
            original = text[span.start : span.end]
            if mode == "redact":
                new = redaction(span.type)
            elif mode == "mask":
                new = mask(original)
            else:
                new = self.surrogates.surrogate(original, span.type, patient_id, reference_year=year)
            between = text[pos : span.start]
            out.append(between)
            new_pos += len(between)
            out.append(new)
            replacements.append(Replacement(span.start, span.end, new_pos, new_pos + len(new), span.type))
            new_pos += len(new)
            pos = span.end
        out.append(text[pos:])
        return DeidText(text="".join(out), replacements=tuple(replacements))

    def deidentify(self, document: Document, *, mode: DeidMode = "redact") -> DeidResult:
        """Detect and replace PHI in a document; fail closed.

        The new document keeps its id and kind; its text is de-identified; ``patient_id`` becomes a keyed
        pseudonym; ``date`` is shifted (surrogate mode) or dropped; ``source`` is dropped (paths can name people);
        ``meta`` keeps only the keys in ``DeidConfig.keep_meta`` plus ``meta["deid"] = {"mode", "version",
        "counts"}``.

        Raises:
            DeidError: ML601 if detection fails, ML602 if transformation fails. The record must not be passed on.
        """
        try:
            spans = self.detect(document.text)
        except DeidError:
            raise
        except Exception as exc:  # fail closed; the message names the record, never its text
            log.error("de-identification detection failed for record %s (%s)", document.id, type(exc).__name__)
            raise DeidError(
                f"detection failed for record {document.id!r} ({type(exc).__name__}); the record is withheld",
                code="ML601",
            ) from None
        try:
            reference_year = document.date.year if document.date is not None else None
            result = self.transform(
                document.text, spans, mode=mode, patient_id=document.patient_id, reference_year=reference_year
            )
            new_document = self._document(document, result.text, mode, spans)
        except DeidError:
            raise
        except Exception as exc:
            log.error("de-identification transformation failed for record %s (%s)", document.id, type(exc).__name__)
            raise DeidError(
                f"transformation failed for record {document.id!r} ({type(exc).__name__}); the record is withheld",
                code="ML602",
            ) from None
        return DeidResult(document=new_document, spans=tuple(spans), replacements=result.replacements)

    def pseudonym(self, patient_id: str) -> str:
        """A keyed pseudonym for a patient id (the same for the same secret)."""
        return "p-" + self.keys.digest("patient-id", patient_id).hex()[:16]

    def _document(self, document: Document, text: str, mode: DeidMode, spans: Sequence[PhiSpan]) -> Document:
        counts = Counter(s.type for s in spans)
        meta: dict[str, Any] = {k: document.meta[k] for k in self.config.keep_meta if k in document.meta}
        meta["deid"] = {"mode": mode, "version": DEID_VERSION, "counts": dict(sorted(counts.items()))}
        date = None
        if mode == "surrogate" and document.date is not None and self.config.date_shift:
            date = document.date + dt.timedelta(days=self.keys.date_shift_days(document.patient_id))
        return Document(
            id=document.id,
            text=text,
            kind=document.kind,
            patient_id=self.pseudonym(document.patient_id) if document.patient_id is not None else None,
            date=date,
            source=None,
            meta=meta,
        )
