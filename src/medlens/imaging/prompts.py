"""Text prompt -> structure concept, from the project's curated table ``lexicon/structures.yaml``.

A prompt such as "segment the lungs" or "left lung please" resolves to one structure the offline HU engine can
segment, with its SNOMED CT code where the table has one. Anything else resolves to ``supported=False`` with the
answer "unsupported unless a model is configured": the engine never guesses a mask for a structure it does not know.

Matching: the prompt is lower-cased, punctuation becomes space, and every synonym of every structure is searched as
a whole-word phrase; a match inside a longer match does not count (so "left lung" is not also "lung"). A prompt
naming two different structures ("lungs and bone") is answered per structure: it is unsupported as one prompt.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.lexicon import load_yaml_lexicon

__all__ = [
    "UNSUPPORTED_ANSWER",
    "CodedConcept",
    "PromptResolution",
    "StructureCode",
    "StructureDef",
    "StructuresLexicon",
    "Threshold",
    "load_structures",
    "resolve_prompt",
]

UNSUPPORTED_ANSWER = "unsupported unless a model is configured"
_FORBID = ConfigDict(frozen=True, extra="forbid")


class CodedConcept(BaseModel):
    """A DICOM code triplet (coding scheme designator, code value, code meaning)."""

    model_config = _FORBID

    scheme: str = Field(description="Coding scheme designator, e.g. 'SCT' for SNOMED CT.")
    value: str = Field(description="Code value.")
    meaning: str = Field(description="Code meaning as in the source table.")


class StructureCode(BaseModel):
    """Segmented property category, type and optional type modifier (DICOM SEG attributes)."""

    model_config = _FORBID

    category: CodedConcept = Field(description="SegmentedPropertyCategoryCodeSequence.")
    type: CodedConcept = Field(description="SegmentedPropertyTypeCodeSequence.")
    modifier: CodedConcept | None = Field(default=None, description="SegmentedPropertyTypeModifierCodeSequence.")


class StructureDef(BaseModel):
    """One structure the HU engine can segment."""

    model_config = _FORBID

    name: str = Field(description="Stable machine name, e.g. 'lung_left'.")
    display: str = Field(description="Human-readable name.")
    synonyms: tuple[str, ...] = Field(min_length=1, description="Prompt phrases naming it (lower case).")
    laterality: Literal["left", "right"] | None = Field(default=None, description="Patient side, if lateral.")
    code: StructureCode | None = Field(default=None, description="SNOMED CT codes from the cited table, or none.")
    code_source: str | None = Field(default=None, description="Row(s) of the source table the code comes from.")
    plausible_volume_ml: tuple[float, float] = Field(description="QC bounds (mL): outside them the volume is flagged.")

    @model_validator(mode="after")
    def _code_cited(self) -> StructureDef:
        if self.code is not None and not self.code_source:
            raise ValueError(f"structure {self.name!r} has a code without code_source")
        return self


class Threshold(BaseModel):
    """One HU threshold and where it comes from."""

    model_config = _FORBID

    value: float = Field(description="Hounsfield units.")
    source: str = Field(description="Citation, or 'project choice, tuned on dev data'.")


class StructuresLexicon(BaseModel):
    """The whole ``structures.yaml``."""

    model_config = _FORBID

    source: str = Field(description="Where the codes and thresholds come from.")
    thresholds: dict[str, Threshold] = Field(description="Named HU thresholds used by segment_hu.")
    structures: tuple[StructureDef, ...] = Field(description="Structures, in priority order.")

    def structure(self, name: str) -> StructureDef:
        """The structure called ``name`` (KeyError if absent)."""
        for s in self.structures:
            if s.name == name:
                return s
        raise KeyError(name)

    def hu(self, name: str) -> float:
        """The value of threshold ``name`` in HU."""
        return self.thresholds[name].value


class PromptResolution(BaseModel):
    """What a prompt resolved to."""

    model_config = _FORBID

    prompt: str = Field(description="The prompt as given.")
    supported: bool = Field(description="True when the offline engine can segment the structure.")
    structure: StructureDef | None = Field(default=None, description="The structure, when supported.")
    matched: str | None = Field(default=None, description="The synonym that matched.")
    engine: str | None = Field(default=None, description="Engine that will segment it ('hu'), when supported.")
    answer: str | None = Field(default=None, description="Why not, when unsupported.")


@lru_cache(maxsize=1)
def load_structures() -> StructuresLexicon:
    """The packaged structure table (validated once, cached).

    Raises:
        ConfigError: ML205 if the packaged file is unreadable or invalid.
    """
    return load_yaml_lexicon("medlens.imaging", "structures.yaml", StructuresLexicon)


_NON_WORD = re.compile(r"[^a-z0-9]+")


def _normalise(text: str) -> str:
    return " " + _NON_WORD.sub(" ", text.lower()).strip() + " "


@lru_cache(maxsize=1)
def _synonym_table() -> tuple[tuple[str, int], ...]:
    table: list[tuple[str, int]] = []
    for n, s in enumerate(load_structures().structures):
        for syn in s.synonyms:
            table.append((_normalise(syn), n))
    return tuple(table)


def resolve_prompt(prompt: str) -> PromptResolution:
    """Resolve a free-text prompt ("segment the lungs", "left lung") to a structure of the HU engine.

    Returns:
        A resolution with ``supported=True`` and the structure, or ``supported=False`` and
        :data:`UNSUPPORTED_ANSWER` when no structure (or more than one, equally well) is named.
    """
    text = _normalise(prompt)
    structures = load_structures().structures
    hits: list[tuple[int, int, int, str]] = []  # (start, end, structure index, synonym)
    for syn, n in _synonym_table():
        start = text.find(syn)
        while start >= 0:
            hits.append((start, start + len(syn), n, syn.strip()))
            start = text.find(syn, start + 1)
    # A hit inside a longer hit ("lung" inside "left lung") does not count.
    kept = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and o[1] - o[0] > h[1] - h[0] for o in hits)]
    names = {h[2] for h in kept}
    if len(names) != 1:
        answer = UNSUPPORTED_ANSWER
        if len(names) > 1:
            listed = ", ".join(sorted(structures[n].name for n in names))
            answer = f"the prompt names several structures ({listed}); ask for one at a time"
        return PromptResolution(prompt=prompt, supported=False, answer=answer)
    n = names.pop()
    matched = max((h for h in kept if h[2] == n), key=lambda h: h[1] - h[0])[3]
    return PromptResolution(prompt=prompt, supported=True, structure=structures[n], matched=matched, engine="hu")
