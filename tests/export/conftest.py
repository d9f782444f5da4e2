"""Fixtures for the FHIR / OMOP / JSONL writer tests: hand-built notes.extract results with valid evidence.

Golden files (``tests/export/golden/``) are compared byte for byte; regenerate them only on purpose with
``MEDLENS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/export`` and review the diff (see docs/output-schema.md).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medlens.core.types import Assertion, Code, Cue, Document, Evidence, RecordResult
from medlens.notes.schema import (
    AllergyDetail,
    Attribute,
    Finding,
    MeasurementDetail,
    MedicationDetail,
    NotesExtractResult,
    Quantity,
)

EXPORT_TEXT = (
    "History of hypertension. Mother had breast cancer. Denies chest pain. Possible pneumonia. "
    "Metformin 500 mg PO BID. NKDA. BP 140/90 mmHg. HbA1c 8.2 % (H). Appendectomy in 2010. "
    "Return if fever develops. No colonoscopy done."
)
EXPORT_RECORDED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"


class RecordBuilder:
    """Builds evidence, findings and (Document, RecordResult) pairs over one synthetic note."""

    def __init__(self, text: str = EXPORT_TEXT, record_id: str = "note-1") -> None:
        self.text = text
        self.record_id = record_id

    def ev(self, quote: str, after: str = "") -> Evidence:
        start = self.text.index(quote, self.text.index(after) if after else 0)
        return Evidence.of(self.text, self.record_id, start, start + len(quote), "medlens.rule.test.v1")

    def finding(self, type_: str, text: str, quote: str, **fields: Any) -> Finding:
        return Finding(type=type_, text=text, evidence=(self.ev(quote),), **fields)

    def record(
        self,
        findings: list[Finding] | tuple[Finding, ...],
        *,
        patient_id: str | None = "p1",
        kind: str = "note",
        meta: dict[str, Any] | None = None,
        date: dt.date | dt.datetime | None = dt.date(2024, 4, 30),
    ) -> tuple[Document, RecordResult]:
        document = Document(
            id=self.record_id,
            text=self.text,
            kind=kind,  # type: ignore[arg-type]
            patient_id=patient_id,
            date=date,
            source=f"notes/{self.record_id}.txt",
            meta=meta or {},
        )
        result = RecordResult(
            id=self.record_id,
            kind=kind,
            patient_id=patient_id,
            source=document.source,
            tasks={
                "notes.extract": NotesExtractResult(
                    name="medlens.task.notes.extract.v1", backend="rules", findings=tuple(findings)
                )
            },
        )
        return document, result

    def standard_findings(self) -> list[Finding]:
        """One finding of every kind the writers map, each with evidence that quotes EXPORT_TEXT."""
        ev = self.ev
        mother = self.text.index("Mother")
        return [
            self.finding(
                "problem",
                "hypertension",
                "hypertension",
                code=Code(system=ICD10CM, code="I10", display="Essential (primary) hypertension"),
                assertion=Assertion(historical=True),
                section="past_medical_history",
            ),
            self.finding(
                "problem",
                "malignant neoplasm of breast",
                "breast cancer",
                assertion=Assertion(
                    family=True,
                    cues=(Cue(status="family", start=mother, end=mother + 6, text="Mother", rule="test.family.v1"),),
                ),
                section="family_history",
            ),
            self.finding(
                "problem",
                "chest pain",
                "chest pain",
                code=Code(system=ICD10CM, code="R07.9"),
                assertion=Assertion(negated=True),
            ),
            self.finding("problem", "pneumonia", "pneumonia", assertion=Assertion(uncertain=True)),
            self.finding(
                "medication",
                "metformin",
                "Metformin",
                code=Code(system=RXNORM, code="6809"),
                medication=MedicationDetail(
                    dose=Quantity(text="500 mg", value=500, unit="mg", ucum="mg", evidence=(ev("500 mg"),)),
                    route=Attribute(text="PO", value="PO", evidence=(ev("PO"),)),
                    frequency=Attribute(text="BID", value="BID", evidence=(ev("BID"),)),
                ),
            ),
            self.finding(
                "allergy",
                "drug allergy",
                "NKDA",
                assertion=Assertion(negated=True),
                allergy=AllergyDetail(category="medication"),
            ),
            self.finding(
                "vital",
                "blood pressure",
                "BP 140/90 mmHg",
                measurement=MeasurementDetail(
                    value=Quantity(text="140", value=140, unit="mmHg", ucum="mm[Hg]", evidence=(ev("140"),)),
                    value2=Quantity(text="90", value=90, unit="mmHg", ucum="mm[Hg]", evidence=(ev("90 mmHg"),)),
                    interpretation="H",
                    interpretation_source="stated",
                ),
            ),
            self.finding(
                "lab",
                "hemoglobin A1c",
                "HbA1c 8.2 %",
                code=Code(system=LOINC, code="4548-4"),
                measurement=MeasurementDetail(
                    value=Quantity(text="8.2 %", value=8.2, unit="%", ucum="%", evidence=(ev("8.2 %"),)),
                    interpretation="H",
                    interpretation_source="stated",
                ),
            ),
            self.finding(
                "procedure",
                "appendectomy",
                "Appendectomy",
                assertion=Assertion(historical=True),
                date=Attribute(text="2010", value="2010", evidence=(ev("2010"),)),
            ),
            self.finding("problem", "fever", "fever", assertion=Assertion(hypothetical=True)),
            self.finding("procedure", "colonoscopy", "colonoscopy", assertion=Assertion(negated=True)),
        ]


@pytest.fixture
def builder() -> RecordBuilder:
    return RecordBuilder()


@pytest.fixture
def builder_for() -> type[RecordBuilder]:
    """The builder class, for tests that need their own note text."""
    return RecordBuilder


@pytest.fixture
def export_recorded() -> dt.datetime:
    return EXPORT_RECORDED


@pytest.fixture
def standard_record(builder: RecordBuilder) -> tuple[Document, RecordResult]:
    return builder.record(builder.standard_findings())


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with ``golden/<name>``; write it instead when MEDLENS_UPDATE_GOLDEN=1."""

    def check(name: str, actual: str) -> None:
        path = Path(__file__).parent / "golden" / name
        if os.environ.get("MEDLENS_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; create it with MEDLENS_UPDATE_GOLDEN=1"
        assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"

    return check
