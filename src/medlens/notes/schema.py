"""Result models of ``notes.extract`` (what the task returns; also the JSON schema an LLM backend is held to)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import Assertion, Claim, Code, TaskResult

__all__ = [
    "FINDING_TYPES",
    "AllergyDetail",
    "Attribute",
    "Finding",
    "FindingType",
    "Interpretation",
    "MeasurementDetail",
    "MedicationDetail",
    "NotesExtractResult",
    "Quantity",
]

FindingType = Literal["problem", "medication", "allergy", "vital", "lab", "procedure"]
FINDING_TYPES: tuple[FindingType, ...] = ("problem", "medication", "allergy", "vital", "lab", "procedure")

# HL7 v3 ObservationInterpretation codes (FHIR R4 valueset observation-interpretation): H high, L low, N normal,
# A abnormal (direction not stated), HH/LL critical.
Interpretation = Literal["H", "L", "N", "A", "HH", "LL"]


class Attribute(Claim):
    """One attribute of a finding as written (route, frequency, reaction...) with its normalised value."""

    text: str = Field(description="The attribute as written in the note.")
    value: str | None = Field(default=None, description="Normalised value, e.g. 'PO', 'BID', 'P7D', 'true'.")
    code: Code | None = Field(default=None, description="Code for the value where one exists (e.g. SNOMED route).")


class Quantity(Claim):
    """A number or range with its unit as written and in UCUM."""

    text: str = Field(description="The quantity as written, e.g. '5-10 mg'.")
    value: float | None = Field(default=None, description="The value (None for a range).")
    low: float | None = Field(default=None, description="Range low bound, inclusive.")
    high: float | None = Field(default=None, description="Range high bound, inclusive.")
    comparator: Literal["<", "<=", ">", ">="] | None = Field(default=None, description="'<5' and the like.")
    unit: str | None = Field(default=None, description="Unit as written.")
    ucum: str | None = Field(default=None, description="UCUM code of the unit, where known.")


class MedicationDetail(BaseModel):
    """Sig of a medication mention."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dose: Quantity | None = Field(default=None, description="Strength or dose per administration.")
    route: Attribute | None = Field(default=None, description="Route (PO, IV, SC...).")
    frequency: Attribute | None = Field(default=None, description="Frequency (BID, q6h, daily...).")
    duration: Attribute | None = Field(default=None, description="Duration ('for 7 days' -> P7D).")
    prn: Attribute | None = Field(default=None, description="As needed, with the reason if stated.")


class AllergyDetail(BaseModel):
    """Reactions to an allergen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reactions: tuple[Attribute, ...] = Field(default=(), description="Reactions stated for this allergen.")
    category: Literal["medication", "food", "environment"] | None = Field(
        default=None, description="FHIR AllergyIntolerance category."
    )


class MeasurementDetail(BaseModel):
    """Value of a vital sign or lab result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Quantity | None = Field(default=None, description="Measured value (blood pressure: systolic).")
    value2: Quantity | None = Field(default=None, description="Second component (blood pressure: diastolic).")
    text_value: str | None = Field(default=None, description="Non-numeric result, e.g. 'negative', 'trace'.")
    interpretation: Interpretation | None = Field(default=None, description="Abnormal flag.")
    interpretation_source: Literal["stated", "reference_range"] | None = Field(
        default=None, description="Whether the flag was written in the note or computed from a reference range."
    )


class Finding(Claim):
    """One clinical fact found in a note, grounded in evidence."""

    type: FindingType = Field(description="What kind of fact.")
    text: str = Field(description="Preferred name of the concept (from the lexicon), not necessarily as written.")
    code: Code | None = Field(default=None, description="Primary code (ICD-10-CM, RxNorm, LOINC...).")
    assertion: Assertion = Field(default_factory=Assertion, description="Negated/uncertain/historical/... status.")
    section: str | None = Field(default=None, description="Canonical section name, e.g. 'past_medical_history'.")
    date: Attribute | None = Field(default=None, description="Date stated for the fact (ISO 8601 value).")
    medication: MedicationDetail | None = Field(default=None, description="Set when type is 'medication'.")
    allergy: AllergyDetail | None = Field(default=None, description="Set when type is 'allergy'.")
    measurement: MeasurementDetail | None = Field(default=None, description="Set when type is 'vital' or 'lab'.")


class NotesExtractResult(TaskResult):
    """What ``notes.extract`` returns for one note."""

    findings: tuple[Finding, ...] = Field(default=(), description="Findings in order of their first evidence.")
