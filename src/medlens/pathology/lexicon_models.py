"""Pydantic models and cached loaders for the pathology lexicons (``medlens/pathology/lexicon/*.yaml``)."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.lexicon import load_yaml_lexicon

__all__ = [
    "CancerTypeLexicon",
    "HistologyLexicon",
    "SectionLexicon",
    "Study",
    "StudyTerms",
    "load_cancer_types",
    "load_histology",
    "load_sections",
]

_PACKAGE = "medlens.pathology"
_STRICT = ConfigDict(frozen=True, extra="forbid")


class Study(BaseModel):
    """One TCGA study."""

    model_config = _STRICT

    code: str = Field(pattern=r"^[A-Z]{2,4}$", description="TCGA study abbreviation.")
    name: str = Field(description="TCGA study name.")
    icdo3_topography: str | None = Field(default=None, pattern=r"^C\d\d\.\d$", description="ICD-O-3 topography.")


class StudyTerms(BaseModel):
    """A group of site or histology words voting for one or more studies."""

    model_config = _STRICT

    kind: Literal["site", "histology", "qualifier"] = Field(
        description="Organ/site word, histology word, or qualifier (a grade word that only counts next to a "
        "histology word of the same studies, as in 'astrocytoma, grade II')."
    )
    studies: tuple[str, ...] = Field(min_length=1, description="Studies the words vote for (weight is split).")
    weight: float = Field(default=1.0, gt=0, description="Vote weight of one occurrence.")
    terms: tuple[str, ...] = Field(min_length=1, description="Words / phrases, matched case-insensitively.")


class CancerTypeLexicon(BaseModel):
    """``cancer_types.yaml``."""

    model_config = _STRICT

    max_hits: int = Field(ge=1, description="Occurrences of one term that count at most.")
    main_diagnosis_bonus: float = Field(
        default=0.0,
        ge=0,
        description="Extra votes for the studies of the first histology named in the final diagnosis (split among "
        "them; narrowed to the organ named next to it), so the main diagnosis outweighs an incidental second tumour.",
    )
    studies: tuple[Study, ...] = Field(description="The TCGA studies.")
    terms: tuple[StudyTerms, ...] = Field(description="Voting term groups.")

    @model_validator(mode="after")
    def _known_studies(self) -> CancerTypeLexicon:
        codes = {s.code for s in self.studies}
        for group in self.terms:
            unknown = set(group.studies) - codes
            if unknown:
                raise ValueError(f"term group names unknown studies {sorted(unknown)}")
        return self


class SectionLexicon(BaseModel):
    """``pathology_sections.yaml``: section role -> header spellings."""

    model_config = _STRICT

    roles: dict[
        Literal["addendum", "final_diagnosis", "synoptic", "microscopic", "comment", "gross", "clinical", "other"],
        tuple[str, ...],
    ] = Field(description="Role -> header spellings (lower case).")


class HistologyLexicon(BaseModel):
    """``histologic_types.yaml``: histologic type phrases and procedure words."""

    model_config = _STRICT

    histologic_types: tuple[str, ...] = Field(description="Histologic type phrases, lower case.")
    procedures: tuple[str, ...] = Field(description="Procedure words for specimens, lower case.")
    sites: tuple[str, ...] = Field(description="Extra organ/site words for specimens, lower case.")


@functools.cache
def load_cancer_types() -> CancerTypeLexicon:
    """The packaged cancer-type lexicon (cached)."""
    return load_yaml_lexicon(_PACKAGE, "cancer_types.yaml", CancerTypeLexicon)


@functools.cache
def load_sections() -> SectionLexicon:
    """The packaged section-header lexicon (cached)."""
    return load_yaml_lexicon(_PACKAGE, "pathology_sections.yaml", SectionLexicon)


@functools.cache
def load_histology() -> HistologyLexicon:
    """The packaged histologic-type and procedure lexicon (cached)."""
    return load_yaml_lexicon(_PACKAGE, "histologic_types.yaml", HistologyLexicon)
