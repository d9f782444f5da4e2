"""Validated models and loaders for the ``notes.extract`` lexicons (``medlens/notes/lexicon/*.tsv|yaml``).

Every lexicon file starts with its source and licence. TSV files carry them as ``# source: ...`` comment lines
followed by one header row naming the columns; list-valued cells are ``|``-separated. YAML files carry them as
``source``/``licence``/``version`` keys. Rows are validated by pydantic models that reject unknown keys; a bad file
raises :class:`~medlens.core.errors.ConfigError` (ML205) naming the file and line.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon, read_lexicon_text

__all__ = [
    "AbbreviationGate",
    "AbbreviationRules",
    "AllergenEntry",
    "AllergyLexicon",
    "ExcludedAbbreviation",
    "LexiconInfo",
    "MedicationEntry",
    "NoKnownAllergyEntry",
    "ProblemEntry",
    "ProcedureEntry",
    "ReactionEntry",
    "SigLexicon",
    "SigPhrases",
    "TsvLexicon",
    "derive_title_synonym",
    "load_abbreviation_rules",
    "load_allergy_lexicon",
    "load_medication_lexicon",
    "load_problem_lexicon",
    "load_procedure_lexicon",
    "load_sig_lexicon",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_PACKAGE = "medlens.notes"
# ICD-10-CM code shape: letter, two characters, optional dot and up to four more (7th characters included).
_ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
_RXCUI = re.compile(r"^[1-9][0-9]{0,8}$")

M = TypeVar("M", bound=BaseModel)


def _strip_all(values: tuple[str, ...]) -> tuple[str, ...]:
    out = tuple(" ".join(v.split()) for v in values)
    if any(not v for v in out):
        raise ValueError("empty phrase in list")
    return out


class LexiconInfo(BaseModel):
    """Where a lexicon comes from."""

    model_config = _FROZEN

    file: str = Field(description="File name inside medlens/notes/lexicon.")
    source: str = Field(min_length=1, description="Terminology, version or curation the content comes from.")
    licence: str = Field(min_length=1, description="Licence under which the content is used.")
    version: str = Field(min_length=1, description="Version of the lexicon file.")


class ProblemEntry(BaseModel):
    """One problem concept: its ICD-10-CM code (or none) and the ways notes write it."""

    model_config = _FROZEN

    code: str | None = Field(description="ICD-10-CM code; None when no code is entailed by the words.")
    display: str | None = Field(description="Title of the code in ICD-10-CM (None without a code).")
    preferred: str = Field(min_length=1, description="Preferred name: the text of the finding.")
    synonyms: tuple[str, ...] = Field(default=(), description="Other names, matched case-insensitively.")
    abbreviations: tuple[str, ...] = Field(default=(), description="Abbreviations, matched as written or in caps.")
    derived: tuple[str, ...] = Field(default=(), description="Synonyms derived from the ICD-10-CM title.")

    _lists = field_validator("synonyms", "abbreviations", "derived")(_strip_all)

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ICD10CM.match(value):
            raise ValueError(f"{value!r} is not shaped like an ICD-10-CM code")
        return value

    @model_validator(mode="after")
    def _display_with_code(self) -> ProblemEntry:
        if (self.code is None) != (self.display is None):
            raise ValueError("display must be given exactly when code is")
        return self


class MedicationEntry(BaseModel):
    """One medication ingredient (or fixed combination) and its generic and brand names."""

    model_config = _FROZEN

    ingredient: str = Field(min_length=1, description="Normalised ingredient name: the text of the finding.")
    rxcui: str | None = Field(description="RxNorm ingredient RXCUI where certain, else None.")
    names: tuple[str, ...] = Field(min_length=1, description="Generic and brand names, matched case-insensitively.")
    abbreviations: tuple[str, ...] = Field(default=(), description="Abbreviations, matched as written or in caps.")

    _lists = field_validator("names", "abbreviations")(_strip_all)

    @field_validator("rxcui")
    @classmethod
    def _rxcui_shape(cls, value: str | None) -> str | None:
        if value is not None and not _RXCUI.match(value):
            raise ValueError(f"{value!r} is not an RXCUI")
        return value


class ProcedureEntry(BaseModel):
    """One procedure and the ways notes write it (no code in v1)."""

    model_config = _FROZEN

    preferred: str = Field(min_length=1, description="Preferred name: the text of the finding.")
    synonyms: tuple[str, ...] = Field(default=(), description="Other names, matched case-insensitively.")
    abbreviations: tuple[str, ...] = Field(default=(), description="Abbreviations, matched as written or in caps.")

    _lists = field_validator("synonyms", "abbreviations")(_strip_all)


class TsvLexicon(BaseModel):
    """A TSV lexicon: its provenance and validated rows."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    info: LexiconInfo = Field(description="Source and licence from the file's header.")
    rows: tuple[Any, ...] = Field(description="Validated rows, in file order.")


# ----------------------------------------------------------------------------------------------------- YAML models


class AllergenEntry(BaseModel):
    """A drug class, food or environmental allergen (single drug ingredients come from medications.tsv)."""

    model_config = _FROZEN

    name: str = Field(min_length=1, description="Preferred name: the text of the finding.")
    category: Literal["medication", "food", "environment"] = Field(description="FHIR AllergyIntolerance.category.")
    synonyms: tuple[str, ...] = Field(min_length=1, description="Names, matched case-insensitively.")
    abbreviations: tuple[str, ...] = Field(default=(), description="Abbreviations, matched as written or in caps.")

    _lists = field_validator("synonyms", "abbreviations")(_strip_all)


class ReactionEntry(BaseModel):
    """A reaction (manifestation) to an allergen."""

    model_config = _FROZEN

    name: str = Field(min_length=1, description="Normalised reaction name (the attribute value).")
    synonyms: tuple[str, ...] = Field(min_length=1, description="Names, matched case-insensitively.")

    _lists = field_validator("synonyms")(_strip_all)


class NoKnownAllergyEntry(BaseModel):
    """Phrases stating that there is no allergy of a kind ("NKDA")."""

    model_config = _FROZEN

    text: str = Field(min_length=1, description="Text of the negated finding, e.g. 'drug allergy'.")
    category: Literal["medication", "food", "environment"] | None = Field(description="Category of the finding.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Phrases, matched case-insensitively.")

    _lists = field_validator("phrases")(_strip_all)


class AllergyLexicon(BaseModel):
    """The whole ``allergies.yaml``."""

    model_config = _FROZEN

    source: str = Field(min_length=1, description="Where the content comes from.")
    licence: str = Field(min_length=1, description="Licence of the content.")
    version: int = Field(ge=1, description="Version of the file.")
    allergens: tuple[AllergenEntry, ...] = Field(min_length=1, description="Classes, foods, environmental agents.")
    reactions: tuple[ReactionEntry, ...] = Field(min_length=1, description="Reactions to allergens.")
    no_known: tuple[NoKnownAllergyEntry, ...] = Field(min_length=1, description="'No known allergy' statements.")
    section_none: tuple[str, ...] = Field(description="Words that, first in an allergies section, mean none.")
    cues_before: tuple[str, ...] = Field(min_length=1, description="Cues opening an inline allergy statement.")
    cues_after: tuple[str, ...] = Field(min_length=1, description="Words after an allergen that make it one.")

    _lists = field_validator("section_none", "cues_before", "cues_after")(_strip_all)


class ExcludedAbbreviation(BaseModel):
    """An abbreviation left out of every lexicon because its senses compete."""

    model_config = _FROZEN

    abbr: str = Field(min_length=1, description="The abbreviation.")
    senses: tuple[str, ...] = Field(min_length=2, description="Its competing senses.")
    reason: str = Field(min_length=1, description="Why it is excluded.")


class AbbreviationGate(BaseModel):
    """An ambiguous abbreviation matched only where its sentence supports the clinical sense."""

    model_config = _FROZEN

    abbr: str = Field(min_length=1, description="The abbreviation.")
    lexicon: Literal["problems", "medications"] = Field(description="Lexicon of the concept it stands for.")
    concept: str = Field(min_length=1, description="Preferred name (or ingredient) of that concept.")
    senses: tuple[str, ...] = Field(min_length=2, description="Its competing senses (documentation).")
    case_sensitive: bool = Field(default=True, description="Match only as written or in capitals.")
    require_any: tuple[str, ...] = Field(default=(), description="Regexes; one must occur in the sentence.")
    forbid_any: tuple[str, ...] = Field(default=(), description="Regexes; none may occur in the sentence.")
    forbid_before: str | None = Field(default=None, description="Regex that must not match the text before it.")
    forbid_after: str | None = Field(default=None, description="Regex that must not match the text after it.")

    @model_validator(mode="after")
    def _regexes_compile(self) -> AbbreviationGate:
        for pattern in (*self.require_any, *self.forbid_any, self.forbid_before, self.forbid_after):
            if pattern is not None:
                re.compile(pattern)
        return self


class AbbreviationRules(BaseModel):
    """The whole ``abbreviations.yaml``."""

    model_config = _FROZEN

    source: str = Field(min_length=1, description="Where the content comes from.")
    licence: str = Field(min_length=1, description="Licence of the content.")
    version: int = Field(ge=1, description="Version of the file.")
    excluded: tuple[ExcludedAbbreviation, ...] = Field(description="Abbreviations left out of every lexicon.")
    gated: tuple[AbbreviationGate, ...] = Field(description="Abbreviations matched only in supporting context.")
    problem_suppress_after: str = Field(description="Regex on the text after a problem that cancels it.")

    @model_validator(mode="after")
    def _unique(self) -> AbbreviationRules:
        abbrs = [e.abbr for e in self.excluded] + [g.abbr for g in self.gated]
        dupes = sorted({a for a in abbrs if abbrs.count(a) > 1})
        if dupes:
            raise ValueError(f"abbreviations listed twice: {dupes}")
        re.compile(self.problem_suppress_after)
        return self


class SigPhrases(BaseModel):
    """Phrases that write one normalised sig value."""

    model_config = _FROZEN

    value: str = Field(min_length=1, description="Normalised value, e.g. 'PO' or 'BID'.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Phrases, matched case-insensitively.")

    _lists = field_validator("phrases")(_strip_all)


class SigLexicon(BaseModel):
    """The whole ``sig.yaml``."""

    model_config = _FROZEN

    source: str = Field(min_length=1, description="Where the content comes from.")
    licence: str = Field(min_length=1, description="Licence of the content.")
    version: int = Field(ge=1, description="Version of the file.")
    routes: tuple[SigPhrases, ...] = Field(min_length=1, description="Route phrases.")
    frequencies: tuple[SigPhrases, ...] = Field(min_length=1, description="Fixed frequency phrases.")


# ----------------------------------------------------------------------------------------------------- loaders


def _read_text(name: str) -> str:
    return read_lexicon_text(_PACKAGE, name)


def _split_list(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


def _read_tsv(name: str, model: type[M], list_columns: frozenset[str]) -> TsvLexicon:
    text = _read_text(name)
    meta: dict[str, str] = {}
    header: list[str] | None = None
    rows: list[M] = []
    expected = list(model.model_fields)
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep and header is None and key.strip() in ("source", "licence", "version"):
                meta[key.strip()] = value.strip()
            continue
        cells = line.split("\t")
        if header is None:
            header = [c.strip() for c in cells]
            if header != expected:
                raise ConfigError(
                    f"lexicon {name}:{lineno}: columns {header} do not match the expected {expected}", code="ML205"
                )
            continue
        if len(cells) != len(header):
            raise ConfigError(
                f"lexicon {name}:{lineno}: {len(cells)} cells where {len(header)} columns are declared", code="ML205"
            )
        record: dict[str, Any] = {}
        for column, cell in zip(header, cells, strict=True):
            cell = cell.strip()
            record[column] = _split_list(cell) if column in list_columns else (cell or None)
        try:
            rows.append(model.model_validate(record))
        except ValidationError as exc:
            raise ConfigError(f"lexicon {name}:{lineno}: invalid row: {exc}", code="ML205") from exc
    try:
        info = LexiconInfo(file=name, **meta)
    except ValidationError as exc:
        raise ConfigError(f"lexicon {name}: header must name source, licence and version: {exc}", code="ML205") from exc
    if header is None:
        raise ConfigError(f"lexicon {name}: no header row", code="ML205")
    return TsvLexicon(info=info, rows=tuple(rows))


def _read_yaml(name: str, model: type[M]) -> M:
    return load_yaml_lexicon(_PACKAGE, name, model)


@functools.cache
def load_problem_lexicon() -> TsvLexicon:
    """``problems.tsv``: rows are :class:`ProblemEntry` (cached)."""
    return _read_tsv("problems.tsv", ProblemEntry, frozenset({"synonyms", "abbreviations", "derived"}))


@functools.cache
def load_medication_lexicon() -> TsvLexicon:
    """``medications.tsv``: rows are :class:`MedicationEntry` (cached)."""
    return _read_tsv("medications.tsv", MedicationEntry, frozenset({"names", "abbreviations"}))


@functools.cache
def load_procedure_lexicon() -> TsvLexicon:
    """``procedures.tsv``: rows are :class:`ProcedureEntry` (cached)."""
    return _read_tsv("procedures.tsv", ProcedureEntry, frozenset({"synonyms", "abbreviations"}))


@functools.cache
def load_allergy_lexicon() -> AllergyLexicon:
    """``allergies.yaml`` (cached)."""
    return _read_yaml("allergies.yaml", AllergyLexicon)


@functools.cache
def load_abbreviation_rules() -> AbbreviationRules:
    """``abbreviations.yaml`` (cached)."""
    return _read_yaml("abbreviations.yaml", AbbreviationRules)


@functools.cache
def load_sig_lexicon() -> SigLexicon:
    """``sig.yaml`` (cached)."""
    return _read_yaml("sig.yaml", SigLexicon)


# ----------------------------------------------------------------------------------------------------- curation

_TITLE_SKIP = re.compile(
    r",| or | and |\bother\b|without|\bwith\b|classified|specified|due to|\bin\b|\bsite\b|\bsymptoms\b|\[|;|\bnec\b"
    r"|encounter|\bany\b|\bsuch\b|\bfemale\b|\bmale\b",
    re.IGNORECASE,
)


def derive_title_synonym(title: str) -> str | None:
    """The synonym ``problems.tsv`` derives from an ICD-10-CM title, or None when the title is not usable.

    Parenthesised non-essential modifiers and bracketed notes are removed, then "NOS", a trailing
    ", unspecified" and a leading "Unspecified"; titles that still hold a comma, "or", "and", "other",
    "with(out)", "specified", "site" and similar qualifiers are not used. The result is lower case.

    >>> derive_title_synonym("Calculus of kidney")
    'calculus of kidney'
    >>> derive_title_synonym("Essential (primary) hypertension")
    'essential hypertension'
    >>> derive_title_synonym("Hyperlipidemia, unspecified") is None
    False
    >>> derive_title_synonym("Other chest pain") is None
    True
    """
    t = re.sub(r"\s*\([^)]*\)", "", title)
    t = re.sub(r"\s*\[[^\]]*\]", "", t)
    t = re.sub(r",?\s*\bNOS\b", "", t)
    t = re.sub(r",\s*unspecified$", "", t, flags=re.IGNORECASE)
    t = re.sub(r"^unspecified\s+", "", t, flags=re.IGNORECASE)
    t = " ".join(t.split()).strip(" ,.")
    if len(t) < 5 or _TITLE_SKIP.search(t):
        return None
    return t.lower()
