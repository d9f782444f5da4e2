"""The vital-sign and lab lexicons (``lexicon/vitals.yaml``, ``lexicon/labs.yaml``): pydantic models and loader.

Each file is data (CONVENTIONS.md section 4): names as written, LOINC codes only where certain (with the LOINC
licence notice in the file's header), accepted UCUM units, gating and context word lists. Unknown keys, an ``exact``
or ``gated`` spelling that is not a synonym, a code without its display, an unknown context or panel member are all
rejected at load time (ML201). :mod:`medlens.notes.vitals_labs` compiles them.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.lexicon import load_yaml_lexicon

__all__ = [
    "LOINC_SYSTEM",
    "ComponentCode",
    "ContextSpec",
    "Domain",
    "MeasurementEntry",
    "MeasurementLexicon",
    "PanelEntry",
    "ValueKind",
    "load_measurement_lexicons",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_LOINC = re.compile(r"^\d{1,7}-\d$")
LOINC_SYSTEM = "http://loinc.org"
ValueKind = Literal["numeric", "qualitative", "any", "blood_pressure", "height"]
Domain = Literal["vital", "lab"]


class ComponentCode(BaseModel):
    """LOINC code of one component of a panel result (blood pressure: systolic, diastolic)."""

    model_config = _FROZEN

    loinc: str = Field(pattern=_LOINC.pattern, description="LOINC code.")
    loinc_display: str = Field(description="LOINC long common name.")


class MeasurementEntry(BaseModel):
    """One vital sign or lab test: its names, its LOINC code (only where certain) and what a value may look like."""

    model_config = _FROZEN

    name: str = Field(description="snake_case id; the rule is medlens.rule.notes.<vitals|labs>.<name>.v1.")
    preferred: str = Field(description="Preferred name, the finding's text.")
    loinc: str | None = Field(default=None, pattern=_LOINC.pattern, description="LOINC code, empty unless certain.")
    loinc_display: str | None = Field(default=None, description="LOINC long common name of the code.")
    loinc_units: tuple[str, ...] = Field(
        default=(), description="UCUM units the code fits; another written unit drops the code (empty: any)."
    )
    synonyms: tuple[str, ...] = Field(min_length=1, description="Names as written in notes.")
    exact: tuple[str, ...] = Field(default=(), description="Synonyms matched only as written or in capitals.")
    gated: tuple[str, ...] = Field(default=(), description="Synonyms that need a vital-sign / laboratory context.")
    units: tuple[str, ...] = Field(default=(), description="UCUM codes accepted after the value.")
    unit_contexts: tuple[str, ...] = Field(default=(), description="Unit contexts ('temperature', 'height').")
    value: ValueKind = Field(default="numeric", description="What a value looks like.")
    context: str | None = Field(default=None, description="Sub-context the entry needs ('urinalysis', 'abg').")
    not_after: tuple[str, ...] = Field(default=(), description="A word right before the name that cancels it.")
    blocked_by: tuple[str, ...] = Field(
        default=(), description="Words earlier in the sentence that show the name is about something else (organ)."
    )
    components: tuple[ComponentCode, ...] = Field(default=(), description="Component codes (blood pressure).")

    @model_validator(mode="after")
    def _consistent(self) -> MeasurementEntry:
        if not _SNAKE.match(self.name):
            raise ValueError(f"entry name {self.name!r} is not snake_case")
        if (self.loinc is None) != (self.loinc_display is None):
            raise ValueError(f"entry {self.name!r}: give loinc and loinc_display together")
        for field_name in ("exact", "gated"):
            extra = set(getattr(self, field_name)) - set(self.synonyms)
            if extra:
                raise ValueError(f"entry {self.name!r}: {field_name} {sorted(extra)} are not synonyms")
        return self


class PanelEntry(BaseModel):
    """A name written once for several results ("H&H 13/39", "ABG 7.35/45/80")."""

    model_config = _FROZEN

    name: str = Field(description="snake_case id of the panel rule.")
    synonyms: tuple[str, ...] = Field(min_length=1, description="Panel names as written.")
    members: tuple[str, ...] = Field(min_length=2, description="Entry names of the values, in written order.")


class ContextSpec(BaseModel):
    """Where a gated name counts: section-name words and cue words shortly before it."""

    model_config = _FROZEN

    sections: tuple[str, ...] = Field(default=(), description="Words of canonical section names ('exam').")
    cues: tuple[str, ...] = Field(default=(), description="Cue phrases; all-capital ones match case-sensitively.")
    window: int = Field(default=200, ge=0, description="How far before the name a cue may be, in characters.")


class MeasurementLexicon(BaseModel):
    """The whole ``vitals.yaml`` or ``labs.yaml``."""

    model_config = _FROZEN

    source: str = Field(description="Where the codes come from.")
    licence: str = Field(description="Licence of the codes.")
    version: int = Field(ge=1, description="Version of the lexicon file.")
    type: Domain = Field(description="Finding type of the entries.")
    context: ContextSpec = Field(description="The vital-sign or laboratory context.")
    subcontexts: dict[str, ContextSpec] = Field(default_factory=dict, description="Named narrower contexts.")
    suppress_sections: tuple[str, ...] = Field(default=(), description="Section-name words where nothing is read.")
    exclude_contexts: tuple[str, ...] = Field(
        default=(), description="Subcontexts (same sentence) in which no entry of this file is read ('body_fluid')."
    )
    reject_after: tuple[str, ...] = Field(default=(), description="Words that make a preceding number a dose.")
    reject_before: tuple[str, ...] = Field(
        default=(), description="Words right before a name that make its number a target, not a result ('goal')."
    )
    entries: tuple[MeasurementEntry, ...] = Field(min_length=1, description="The tests.")
    panels: tuple[PanelEntry, ...] = Field(default=(), description="Names written once for several results.")

    @model_validator(mode="after")
    def _unique(self) -> MeasurementLexicon:
        names = [e.name for e in self.entries] + [p.name for p in self.panels]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate entry names {sorted(dupes)}")
        known = {e.name for e in self.entries}
        for entry in self.entries:
            if entry.context is not None and entry.context not in self.subcontexts:
                raise ValueError(f"entry {entry.name!r}: unknown context {entry.context!r}")
        unknown = set(self.exclude_contexts) - set(self.subcontexts)
        if unknown:
            raise ValueError(f"exclude_contexts {sorted(unknown)} are not subcontexts")
        for panel in self.panels:
            missing = set(panel.members) - known
            if missing:
                raise ValueError(f"panel {panel.name!r}: unknown members {sorted(missing)}")
        return self


def _load(name: str) -> MeasurementLexicon:
    return load_yaml_lexicon("medlens.notes", name, MeasurementLexicon)


@functools.cache
def load_measurement_lexicons() -> tuple[MeasurementLexicon, MeasurementLexicon]:
    """The packaged ``vitals.yaml`` and ``labs.yaml``, validated (cached).

    Raises:
        ConfigError: ML201 if a file is unreadable or invalid.
    """
    return _load("vitals.yaml"), _load("labs.yaml")
