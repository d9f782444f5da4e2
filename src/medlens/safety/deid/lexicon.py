"""The de-identification lexicons: name and place lists, cue words, surrogate building blocks (all packaged data).

Each file under ``lexicon/`` names its source and licence in its header. They are read once per process
(:func:`lexicons`), validated, and shared by the detector and the surrogate generator.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon, read_lexicon_text
from medlens.safety.deid.config import PhiType

__all__ = [
    "Cues",
    "Holiday",
    "Lexicons",
    "SurrogateParts",
    "lexicons",
]

_PKG = "medlens.safety.deid"
_STRICT = ConfigDict(frozen=True, extra="forbid")


class NameCues(BaseModel):
    """Cues around person names."""

    model_config = _STRICT

    titles: list[str] = Field(description="Titles before a name (Dr, Mrs ...).")
    labels: list[str] = Field(description="Labels followed by a separator and a name (Patient:, Attending:).")
    phrases: list[str] = Field(description="Phrases followed directly by a name (seen by, d/w).")
    relations: list[str] = Field(description="Relatives and companions followed by a name (wife, daughter).")
    credentials_strong: list[str] = Field(description="Credentials after a name, with or without a comma (MD).")
    credentials_weak: list[str] = Field(description="Credentials after a name only after a comma (PA, PT).")
    particles: list[str] = Field(description="Lower-case surname particles (van, de).")
    eponym_heads: list[str] = Field(description="Nouns after which a capitalised word is an eponym (disease).")
    stopwords: list[str] = Field(description="Words that end a name and never start one.")


class IdCues(BaseModel):
    """Cues before identifying numbers."""

    model_config = _STRICT

    cues: dict[PhiType, list[str]] = Field(description="PHI type -> cue words before a value of that type.")
    value_stopwords: list[str] = Field(description="Words after a cue that are not a value ('room air').")


class PhoneCues(BaseModel):
    """Cues around telephone and fax numbers."""

    model_config = _STRICT

    fax_cues: list[str] = Field(description="Words that make a phone-shaped number a fax number.")
    phone_cues: list[str] = Field(description="Words that make a bare digit run a phone number.")


class PlaceCues(BaseModel):
    """Cues around geographic units smaller than a state."""

    model_config = _STRICT

    strong_cues: list[str] = Field(description="Phrases after which any capitalised name is a place.")
    weak_cues: list[str] = Field(description="Prepositions after which only a known place name is a place.")
    residence_cues: list[str] = Field(
        default_factory=list,
        description="Strong cues naming where a person lives: a capitalised common word after them is a place too.",
    )
    unit_words: list[str] = Field(description="Words after a name that make it a unit (County, Township).")
    not_places: list[str] = Field(description="Capitalised words after a cue that are not places.")


class FacilityCues(BaseModel):
    """Facility name patterns."""

    model_config = _STRICT

    suffixes: list[str] = Field(description="Words ending a facility name (Hospital, Medical Center).")
    generic_words: list[str] = Field(description="Words that alone before a suffix identify nothing.")
    name_words: list[str] = Field(description="English words that make a facility name identifying (Mercy).")
    names: list[str] = Field(description="Well-known health systems named without a suffix.")


class AddressCues(BaseModel):
    """Street address parts (USPS Publication 28)."""

    model_config = _STRICT

    street_suffixes: list[str] = Field(description="Street suffixes and abbreviations (Appendix C1).")
    unit_words: list[str] = Field(description="Secondary unit designators (Appendix C2).")
    directionals: list[str] = Field(description="Directional words and abbreviations.")


class Holiday(BaseModel):
    """A holiday as a date rule: fixed (month, day), n-th weekday of a month, or relative to Easter."""

    model_config = _STRICT

    name: str = Field(description="The holiday's name, lower case.")
    month: int | None = Field(default=None, ge=1, le=12, description="Month of a fixed or weekday rule.")
    day: int | None = Field(default=None, ge=1, le=31, description="Day of a fixed-date holiday.")
    weekday: int | None = Field(default=None, ge=0, le=6, description="Weekday (0 = Monday) of an n-th weekday rule.")
    nth: int | None = Field(default=None, ge=-1, le=5, description="Which weekday of the month (-1 = last).")
    easter: bool = Field(default=False, description="Dated from Western Easter Sunday.")
    offset: int = Field(default=0, description="Days after Easter (negative: before).")

    @model_validator(mode="after")
    def _one_rule(self) -> Holiday:
        fixed = self.month is not None and self.day is not None
        weekday = self.month is not None and self.weekday is not None and self.nth is not None
        if sum((fixed, weekday, self.easter)) != 1:
            raise ValueError(f"holiday {self.name!r} needs exactly one of (month, day), (month, weekday, nth), easter")
        return self


class DateCues(BaseModel):
    """Cues around dates."""

    model_config = _STRICT

    year_cues: list[str] = Field(description="Words before a bare year that make it a date.")
    day_month_cues: list[str] = Field(description="Words before a month/day without a year ('on 3/4').")
    seasons: list[str] = Field(description="Season names.")
    holidays: list[Holiday] = Field(description="Holidays and their date rules.")


class AgeCues(BaseModel):
    """Age limits (Safe Harbor §164.514(b)(2)(i)(C))."""

    model_config = _STRICT

    min_age: int = Field(ge=1, description="Ages from this one up are identifiers (90).")
    max_age: int = Field(ge=1, description="Larger numbers are not read as ages.")


class Cues(BaseModel):
    """All context cues (lexicon/cues.yaml)."""

    model_config = _STRICT

    version: str = Field(description="Version of the cue file.")
    names: NameCues = Field(description="Person-name cues.")
    ids: IdCues = Field(description="Identifier cues.")
    phones: PhoneCues = Field(description="Phone and fax cues.")
    places: PlaceCues = Field(description="Place cues.")
    facilities: FacilityCues = Field(description="Facility cues.")
    addresses: AddressCues = Field(description="Street address parts.")
    dates: DateCues = Field(description="Date cues.")
    ages: AgeCues = Field(description="Age limits.")


class NotNames(BaseModel):
    """Capitalised words that are never names on lexicon evidence alone (lexicon/not_names.yaml)."""

    model_config = _STRICT

    version: str = Field(description="Version of the list.")
    eponyms: list[str] = Field(description="Eponyms of diseases, signs, scores and procedures.")
    instruments_and_brands: list[str] = Field(description="Instrument, device, supply and payer names.")
    drugs: list[str] = Field(description="Drug brand and generic names that are also surnames.")
    places_and_demonyms: list[str] = Field(description="States, big cities, nationalities, religions, languages.")
    calendar: list[str] = Field(description="Months, weekdays, holidays, seasons.")
    clinical_words: list[str] = Field(description="Clinical words that are also surnames.")


class SurrogateParts(BaseModel):
    """Building blocks of surrogates (lexicon/surrogates.yaml)."""

    model_config = _STRICT

    version: str = Field(description="Version of the list.")
    streets: list[str] = Field(min_length=10, description="Street names.")
    facility_words: list[str] = Field(min_length=10, description="Facility name words.")
    email_domains: list[str] = Field(min_length=1, description="Reserved e-mail domains (RFC 2606).")
    web_hosts: list[str] = Field(min_length=1, description="Reserved web hosts (RFC 2606).")
    ipv4_prefixes: list[str] = Field(min_length=1, description="IPv4 documentation prefixes (RFC 5737).")
    ipv6_prefix: str = Field(description="IPv6 documentation prefix (RFC 3849).")


@dataclass(frozen=True, slots=True)
class Lexicons:
    """Everything the detector and the surrogate generator read, loaded once.

    Names and places are keyed in upper case.
    """

    first_sex: dict[str, str]
    first_freq: dict[str, float]
    last_rank: dict[str, int]
    word_level: dict[str, int]
    english: frozenset[str]
    not_names: frozenset[str]
    calendar: frozenset[str]
    places: dict[str, tuple[str, int]]
    states: dict[str, str]
    restricted_zip3: frozenset[str]
    cues: Cues
    parts: SurrogateParts


def _data_lines(name: str) -> list[tuple[int, str]]:
    """Non-comment, non-empty lines of a packaged text lexicon with their 1-based line numbers."""
    text = read_lexicon_text(_PKG, name)
    return [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]


def _tsv(name: str, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """Rows of a packaged TSV whose first data line is the header ``columns``.

    Raises:
        ConfigError: ML205 if the header or a row does not fit.
    """
    lines = _data_lines(name)
    if not lines or tuple(lines[0][1].split("\t")) != columns:
        raise ConfigError(f"lexicon {_PKG}/lexicon/{name} must start with the header {columns}", code="ML205")
    rows = []
    for lineno, line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(columns) or not all(cells):
            raise ConfigError(
                f"lexicon {_PKG}/lexicon/{name} line {lineno}: expected {len(columns)} non-empty columns",
                code="ML205",
            )
        rows.append((lineno, cells))
    return rows


def _number(name: str, lineno: int, raw: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(
            f"lexicon {_PKG}/lexicon/{name} line {lineno}: {raw!r} is not a number", code="ML205"
        ) from exc


@functools.cache
def lexicons() -> Lexicons:
    """Load and validate every de-identification lexicon (cached for the process).

    Raises:
        ConfigError: ML205 if a packaged file is missing or invalid.
    """
    first_sex: dict[str, str] = {}
    first_freq: dict[str, float] = {}
    for lineno, (name, sex, freq) in _tsv("first_names.tsv", ("name", "sex", "frequency")):
        if sex not in {"F", "M", "FM"}:
            raise ConfigError(f"lexicon first_names.tsv line {lineno}: sex must be F, M or FM", code="ML205")
        first_sex[name] = sex
        first_freq[name] = _number("first_names.tsv", lineno, freq, float)
    last_rank = {line.strip(): rank for rank, (_, line) in enumerate(_data_lines("last_names.txt"), 1)}
    word_level = {
        name: int(_number("name_words.tsv", lineno, level, int))
        for lineno, (name, level) in _tsv("name_words.tsv", ("name", "level"))
    }
    english = frozenset(line.strip().upper() for _, line in _data_lines("english_words.txt"))
    places = {
        name.upper(): (state, int(_number("us_places.tsv", lineno, pop, int)))
        for lineno, (name, state, pop) in reversed(_tsv("us_places.tsv", ("name", "state", "population")))
    }
    states = {code: name for _, (code, name) in _tsv("us_states.tsv", ("code", "name"))}
    zip3 = frozenset(z for _, (z,) in _tsv("restricted_zip3.tsv", ("zip3",)))
    if any(len(z) != 3 or not z.isdigit() for z in zip3):
        raise ConfigError("lexicon restricted_zip3.tsv must hold three-digit prefixes", code="ML205")
    nn = load_yaml_lexicon(_PKG, "not_names.yaml", NotNames)
    not_names = frozenset(
        w.upper()
        for group in (nn.eponyms, nn.instruments_and_brands, nn.drugs, nn.places_and_demonyms, nn.calendar)
        for w in group
    ) | frozenset(w.upper() for w in nn.clinical_words)
    try:
        cues = load_yaml_lexicon(_PKG, "cues.yaml", Cues)
        parts = load_yaml_lexicon(_PKG, "surrogates.yaml", SurrogateParts)
    except ValidationError as exc:  # pragma: no cover - load_yaml_lexicon already wraps validation errors
        raise ConfigError(f"deid lexicon invalid: {exc}", code="ML205") from exc
    return Lexicons(
        first_sex=first_sex,
        first_freq=first_freq,
        last_rank=last_rank,
        word_level=word_level,
        english=english,
        not_names=not_names,
        calendar=frozenset(w.upper() for w in nn.calendar),
        places=places,
        states=states,
        restricted_zip3=zip3,
        cues=cues,
        parts=parts,
    )
