"""Synthetic clinical notes with gold PHI spans, for measuring de-identification (issue 3, benchmarks/).

``generate(n, seed=s)`` returns ``n`` notes built from the templates in ``lexicon/synthetic_phi.yaml`` (history and
physical, discharge summary, radiology report header, referral letter, telephone note, lab report with a table,
nursing note, clinic note with a demographics table). Every PHI value is generated (Faker ``en_US``, seeded, plus the
lexicon's lists) and appended to the note while its offsets are recorded, so ``text[start:end]`` is always exactly
the value that was inserted: nothing is searched for afterwards. The same ``seed`` gives the same notes, and note
``i`` does not depend on ``n``. Everything is synthetic; no text comes from a real record.

Labelling conventions (what a de-identifier is scored against):

* **Types** are those of ``medlens.safety.deid``: NAME, DATE, AGE, PHONE, FAX, EMAIL, URL, IP, SSN, MRN, ACCOUNT,
  ACCESSION, HEALTH_PLAN, LICENSE, DEVICE_ID, VEHICLE_ID, ADDRESS, LOCATION, ZIP, FACILITY, ID (any other unique
  number: encounter, CSN, order, visit, research subject). Safe Harbor is 45 CFR 164.514(b)(2)(i)(A)-(R).
* **Spans never overlap, never start or end with whitespace, and never include labels or titles.** ``Dr. John
  Smith, MD`` gives NAME ``John Smith``; ``MRN: 00482913`` gives MRN ``00482913``. A name mention is one span,
  whatever its form: ``John A. Smith``, ``Smith, John`` and ``SMITH,JOHN A`` are each one NAME.
* **Dates**: the whole expression, with its time when written as one token (``2021-03-04T10:00``) but without a
  separate time (``03/04/2021 14:22`` gives DATE ``03/04/2021``), a leading article (``the 2nd of March`` gives
  ``2nd of March``) or a weekday (``Wednesday, March 4, 2021`` gives ``March 4, 2021``). Month-year and season-year
  (``March 2021``, ``Spring 2019``, ``fall of 2018``) are dates. A bare year is never generated: Safe Harbor allows
  it, tools differ, and it would only score policy.
* **Ages**: only ages over 89 are PHI, and only the number is labelled (``92`` in ``92-year-old``). Younger ages are
  written too, as ``AGE_UNDER_90`` traps.
* **Geography**: street line (with unit) ADDRESS, city or county LOCATION (``Suffolk County`` whole), ZIP or ZIP+4
  ZIP; the state is not PHI and is not labelled. Facility names are one FACILITY span even when they contain a city
  or a surname (``St. Mary's Hospital``, ``Boston General Hospital``).
* **Phones and faxes**: the number only; an extension written after it (``617-555-0134 ext. 221``) is not
  labelled, like a time after a date. The label (``Fax:``) decides FAX.
* **Identifiers**: the value only, in the format written (dashes and letters included).
* **Room and bed numbers are not PHI** (they identify a place for the length of a stay, not a person, and are not
  among identifiers A-Q; medlens reads (R) as codes tied to the individual): they are ``ROOM`` traps.

Traps (``GoldNote.traps``) are non-PHI regions a de-identifier must leave alone: eponyms (``Parkinson disease``,
``Foley catheter``), drug names, measurements that look like dates (``BP 120/80``, ``2/6 murmur``, ``5/5``), doses,
durations (``for 20 years``), room numbers, common words that are also names (``will``, ``brown``, ``may``), lab
results in tables, and ages under 90. No trap overlaps a gold span.

Variants (``GoldNote.variants``): ``caps`` (the whole note upper-cased, as transcription systems write it) and
``ocr`` (scanning noise: O/0 and l/1 swaps and spaces inside words). Both are applied to each piece *before* it is
appended, so offsets stay exact and a noisy value is still labelled whole.

Needs the ``faker`` package (``pip install faker``).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.errors import ConfigError, MissingDependencyError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import PhiType

if TYPE_CHECKING:
    from faker import Faker

__all__ = [
    "PHI_TYPES",
    "TRAP_KINDS",
    "GoldNote",
    "GoldSpan",
    "PhiType",
    "TrapKind",
    "TrapSpan",
    "generate",
]

PHI_TYPES: tuple[PhiType, ...] = tuple(t for t in get_args(PhiType) if t != "BIOMETRIC")
"""The types the generator writes (every medlens PHI type but BIOMETRIC, which has no textual form here)."""
"""Every gold type, in reporting order."""

TrapKind = Literal["EPONYM", "DRUG", "MEASURE", "DOSE", "DURATION", "ROOM", "WORD", "LAB_RESULT", "AGE_UNDER_90"]
TRAP_KINDS: tuple[TrapKind, ...] = get_args(TrapKind)
"""Every trap kind (non-PHI a de-identifier must leave alone)."""

Variant = Literal["caps", "ocr"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class GoldSpan(BaseModel):
    """One gold PHI span: ``note.text[start:end] == text``."""

    model_config = _FROZEN

    start: int = Field(ge=0, description="Start offset in characters.")
    end: int = Field(gt=0, description="End offset in characters (exclusive).")
    type: PhiType = Field(description="PHI type (the medlens.safety.deid vocabulary).")
    text: str = Field(description="The inserted value, as written in the note.")


class TrapSpan(BaseModel):
    """One non-PHI region that looks like PHI (an eponym, a dose, a measurement...)."""

    model_config = _FROZEN

    start: int = Field(ge=0, description="Start offset in characters.")
    end: int = Field(gt=0, description="End offset in characters (exclusive).")
    kind: TrapKind = Field(description="What kind of look-alike this is.")


class GoldNote(BaseModel):
    """A synthetic note with its gold PHI spans and traps, both sorted by start."""

    model_config = _FROZEN

    id: str = Field(description="Stable id: synth-<seed>-<index>.")
    text: str = Field(description="The note text.")
    spans: tuple[GoldSpan, ...] = Field(description="Gold PHI spans, sorted, non-overlapping.")
    traps: tuple[TrapSpan, ...] = Field(default=(), description="Non-PHI look-alike regions, sorted.")
    template: str = Field(description="Name of the template the note was built from.")
    variants: tuple[Variant, ...] = Field(default=(), description="Variants applied: 'caps', 'ocr'.")


# --------------------------------------------------------------------------------------------------------- lexicon

_SLOT = re.compile(r"\{(\w+)\}|\[([^\]\n]+)\]")


class _Lab(BaseModel):
    model_config = _FROZEN

    name: str = Field(description="Lab test name as printed.")
    unit: str = Field(description="Unit as printed (may be empty).")
    low: float = Field(description="Low end of the illustrative reference interval.")
    high: float = Field(description="High end of the illustrative reference interval.")
    decimals: int = Field(ge=0, le=3, description="Decimals printed.")


class _Traps(BaseModel):
    model_config = _FROZEN

    eponym: tuple[str, ...] = Field(min_length=1, description="Eponym sentences.")
    drug: tuple[str, ...] = Field(min_length=1, description="Drug-name sentences.")
    measure: tuple[str, ...] = Field(min_length=1, description="Measurements that look like dates or ids.")
    dose: tuple[str, ...] = Field(min_length=1, description="Dose sentences.")
    duration: tuple[str, ...] = Field(min_length=1, description="Durations in years, months, days.")
    room: tuple[str, ...] = Field(min_length=1, description="Room and bed numbers.")
    word: tuple[str, ...] = Field(min_length=1, description="Common words that are also names.")


class _Template(BaseModel):
    model_config = _FROZEN

    name: str = Field(description="Template name (GoldNote.template).")
    text: str = Field(description="Template text with {slots}.")


class _Lexicon(BaseModel):
    model_config = _FROZEN

    version: int = Field(description="File format version.")
    common_word_first_names: tuple[str, ...] = Field(min_length=1, description="First names that are words.")
    common_word_last_names: tuple[str, ...] = Field(min_length=1, description="Surnames that are words.")
    relatives_female: tuple[str, ...] = Field(min_length=1, description="Relative words for women (daughter...).")
    relatives_male: tuple[str, ...] = Field(min_length=1, description="Relative words for men (son...).")
    cities: tuple[str, ...] = Field(min_length=1, description="'City, ST' pairs.")
    saints: tuple[str, ...] = Field(min_length=1, description="Saint names for facility names.")
    facility_words: tuple[str, ...] = Field(min_length=1, description="Words for facility names.")
    facility_patterns: tuple[str, ...] = Field(min_length=1, description="Facility name patterns.")
    labs: tuple[_Lab, ...] = Field(min_length=1, description="Lab rows for tables.")
    traps: _Traps = Field(description="Trap sentences per kind; [brackets] mark the trap region.")
    snippets: dict[str, tuple[str, ...]] = Field(description="Named lists of template fragments.")
    templates: tuple[_Template, ...] = Field(min_length=1, description="Note templates.")

    @model_validator(mode="after")
    def _brackets_only_in_traps(self) -> _Lexicon:
        texts = [t.text for t in self.templates] + [s for v in self.snippets.values() for s in v]
        for text in texts:
            if any(m.group(2) for m in _SLOT.finditer(text)):
                raise ValueError("[brackets] are only allowed in traps")
        return self


@functools.cache
def _lexicon() -> _Lexicon:
    lex = load_yaml_lexicon("medlens.eval", "synthetic_phi.yaml", _Lexicon)
    known = set(_SLOTS) | {f"s_{k}" for k in lex.snippets} | {f"t_{k}" for k in _Traps.model_fields}
    texts = [t.text for t in lex.templates] + [s for v in lex.snippets.values() for s in v]
    texts += [s for k in _Traps.model_fields for s in getattr(lex.traps, k)]
    for text in texts:
        for m in _SLOT.finditer(text):
            if m.group(1) and m.group(1) not in known:
                raise ConfigError(
                    f"lexicon medlens.eval/lexicon/synthetic_phi.yaml uses unknown slot {{{m.group(1)}}}", code="ML205"
                )
    return lex


# --------------------------------------------------------------------------------------------------------- builder

_OCR_SWAPS = {"O": "0", "0": "O", "l": "1", "1": "l", "I": "l"}
_OCR_SWAP_P = 0.04
_OCR_SPACE_P = 0.012


class _Builder:
    """Appends pieces, applying the note's variants first, and records spans at the resulting offsets."""

    def __init__(self, rng: random.Random, variants: tuple[Variant, ...]) -> None:
        self._rng = rng
        self._caps = "caps" in variants
        self._ocr = "ocr" in variants
        self.parts: list[str] = []
        self.pos = 0
        self.spans: list[GoldSpan] = []
        self.traps: list[TrapSpan] = []

    def _transform(self, piece: str) -> str:
        if self._caps:
            piece = piece.upper()
        if self._ocr and piece:
            rnd = self._rng.random
            out: list[str] = []
            last = len(piece) - 1
            for i, ch in enumerate(piece):
                swap = _OCR_SWAPS.get(ch)
                out.append(swap if swap is not None and rnd() < _OCR_SWAP_P else ch)
                # A space only between two word characters inside the piece: a value never gains an outer space.
                if i < last and ch.isalnum() and piece[i + 1].isalnum() and rnd() < _OCR_SPACE_P:
                    out.append(" ")
            piece = "".join(out)
        return piece

    def lit(self, piece: str) -> None:
        piece = self._transform(piece)
        self.parts.append(piece)
        self.pos += len(piece)

    def phi(self, type_: PhiType, value: str) -> None:
        value = self._transform(value.strip())
        self.spans.append(GoldSpan(start=self.pos, end=self.pos + len(value), type=type_, text=value))
        self.parts.append(value)
        self.pos += len(value)

    def trap(self, kind: TrapKind, value: str) -> None:
        start = self.pos
        self.lit(value)
        self.traps.append(TrapSpan(start=start, end=self.pos, kind=kind))


# ---------------------------------------------------------------------------------------------------------- values

_MONTHS = tuple("January February March April May June July August September October November December".split())  # noqa: SIM905
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SEASONS = ("Spring", "Summer", "Fall", "Winter", "spring", "summer", "fall", "winter")


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


# Date formats. Header formats are compact; narrative ones include the textual forms of issue 3 ("Jan 5th",
# "5 January", "the 2nd of March"). Text before a "|" is written but not labelled (an article, a weekday).
_DateFmt = Callable[[dt.date, random.Random], str]
_HDR_DATES: tuple[_DateFmt, ...] = (
    lambda d, r: f"{d.month:02d}/{d.day:02d}/{d.year}",
    lambda d, r: f"{d.month}/{d.day}/{d.year}",
    lambda d, r: f"{d.month:02d}-{d.day:02d}-{d.year}",
    lambda d, r: f"{d.month}/{d.day}/{d.year % 100:02d}",
    lambda d, r: d.isoformat(),
    lambda d, r: f"{d.day:02d}-{_MONTHS[d.month - 1][:3].upper()}-{d.year}",
    lambda d, r: f"{d.year}{d.month:02d}{d.day:02d}",
    lambda d, r: f"{d.day:02d}.{d.month:02d}.{d.year}",
)
_TEXT_DATES: tuple[_DateFmt, ...] = (
    lambda d, r: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d, r: f"{_MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    lambda d, r: f"{_MONTHS[d.month - 1][:3]}. {_ordinal(d.day)}, {d.year}",
    lambda d, r: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",
    lambda d, r: f"{_WEEKDAYS[d.weekday()]}, |{_MONTHS[d.month - 1]} {d.day}, {d.year}",
)
_NARRATIVE_DATES: tuple[_DateFmt, ...] = (
    lambda d, r: f"{d.month}/{d.day}",
    lambda d, r: f"{_MONTHS[d.month - 1][:3]} {_ordinal(d.day)}",
    lambda d, r: f"{_MONTHS[d.month - 1]} {_ordinal(d.day)}",
    lambda d, r: f"{d.day} {_MONTHS[d.month - 1]}",
    lambda d, r: f"the |{_ordinal(d.day)} of {_MONTHS[d.month - 1]}",
)
_MONTH_DATES: tuple[_DateFmt, ...] = (
    lambda d, r: f"{_MONTHS[d.month - 1]} {d.year}",
    lambda d, r: f"{_MONTHS[d.month - 1][:3]} {d.year}",
    lambda d, r: f"{d.month}/{d.year}",
    lambda d, r: f"{r.choice(_SEASONS)} {d.year}",
    lambda d, r: f"{r.choice(_SEASONS[4:])} of {d.year}",
)


class _Person:
    __slots__ = ("first", "last", "middle")

    def __init__(self, first: str, middle: str, last: str) -> None:
        self.first, self.middle, self.last = first, middle, last


class _Renderer:
    """Fills one note's slots. Note-level people (patient, relative, attending...) stay the same within a note."""

    def __init__(self, lex: _Lexicon, fake: Faker, rng: random.Random, b: _Builder) -> None:
        self.lex, self.fake, self.rng, self.b = lex, fake, rng, b
        self.female = rng.random() < 0.5
        self.patient = self._person(female=self.female)
        rel_female = rng.random() < 0.5
        self.relative = self._person(female=rel_female)
        if rng.random() < 0.5:
            self.relative.last = self.patient.last
        self.rel = rng.choice(lex.relatives_female if rel_female else lex.relatives_male)
        self.attending = self._person(female=rng.random() < 0.5)
        self.pcp = self._person(female=rng.random() < 0.5)
        city, state = rng.choice(lex.cities).split(", ")
        self.home = (city, state)
        self.visit = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randint(0, 5800))

    # people --------------------------------------------------------------------------------------------------
    def _person(self, *, female: bool) -> _Person:
        rng, fake = self.rng, self.fake
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        if rng.random() < 0.25:
            first = rng.choice(self.lex.common_word_first_names)
        if rng.random() < 0.25:
            last = rng.choice(self.lex.common_word_last_names)
        return _Person(first, rng.choice("ABCDEFGHJKLMNPRSTW"), last)

    def _full(self, p: _Person) -> str:
        r = self.rng.random()
        if r < 0.6:
            return f"{p.first} {p.last}"
        if r < 0.85:
            return f"{p.first} {p.middle}. {p.last}"
        return f"{p.first[0]}. {p.last}"

    def _name(self, value: str) -> None:
        self.b.phi("NAME", value)

    def s_patient(self) -> None:
        self._name(self._full(self.patient))

    def s_patient_lf(self) -> None:
        p = self.patient
        self._name(self.rng.choice((f"{p.last}, {p.first}", f"{p.last}, {p.first} {p.middle}", f"{p.last},{p.first}")))

    def s_patient_last(self) -> None:
        self._name(self.patient.last)

    def s_relative(self) -> None:
        p = self.relative
        self._name(p.first if self.rng.random() < 0.3 else f"{p.first} {p.last}")

    def s_relative_first(self) -> None:
        self._name(self.relative.first)

    def s_rel(self) -> None:
        self.b.lit(self.rel)

    def s_attending(self) -> None:
        self._name(self._full(self.attending))

    def s_attending_last(self) -> None:
        self._name(self.attending.last)

    def s_clinician(self) -> None:
        self._name(self._full(self._person(female=self.rng.random() < 0.5)))

    def s_clinician_last(self) -> None:
        self._name(self._person(female=False).last)

    def s_clinician_first_last(self) -> None:
        p = self._person(female=self.rng.random() < 0.5)
        self._name(f"{p.first} {p.last}")

    def s_pcp(self) -> None:
        self.b.lit("Dr. ")
        self._name(self._full(self.pcp))

    def s_nurse(self) -> None:
        self.s_clinician_first_last()

    def s_pt_title(self) -> None:
        self.b.lit(self.rng.choice(("Ms.", "Mrs.")) if self.female else "Mr.")

    def s_pt_sex(self) -> None:
        self.b.lit("woman" if self.female else "man")

    def s_pt_He(self) -> None:
        self.b.lit("She" if self.female else "He")

    def s_pt_he(self) -> None:
        self.b.lit("she" if self.female else "he")

    def s_pt_His(self) -> None:
        self.b.lit("Her" if self.female else "His")

    def s_pt_his(self) -> None:
        self.b.lit("her" if self.female else "his")

    def s_pt_him(self) -> None:
        self.b.lit("her" if self.female else "him")

    # dates and ages ------------------------------------------------------------------------------------------
    def _near(self) -> dt.date:
        return self.visit + dt.timedelta(days=self.rng.randint(-400, 120))

    def _date(self, formats: tuple[_DateFmt, ...], d: dt.date | None = None) -> None:
        prefix, _, value = self.rng.choice(formats)(d or self._near(), self.rng).rpartition("|")
        if prefix:
            self.b.lit(prefix)
        self.b.phi("DATE", value)

    def s_date(self) -> None:
        self._date(self.rng.choice((_HDR_DATES, _TEXT_DATES, _NARRATIVE_DATES)))

    def s_date_hdr(self) -> None:
        self._date(_HDR_DATES)

    def s_date_short(self) -> None:
        self._date(_NARRATIVE_DATES[:1])

    def s_date_month(self) -> None:
        self._date(_MONTH_DATES)

    def s_date_text(self) -> None:
        self._date(_TEXT_DATES)

    def s_dob(self) -> None:
        d = dt.date(1920, 1, 1) + dt.timedelta(days=self.rng.randint(0, 30000))
        self._date(_HDR_DATES + _TEXT_DATES[:2], d)

    def s_datetime(self) -> None:
        d, hh, mm = self._near(), self.rng.randint(0, 23), self.rng.randint(0, 59)
        if self.rng.random() < 0.4:
            self.b.phi("DATE", f"{d.isoformat()}T{hh:02d}:{mm:02d}" + self.rng.choice(("", ":00")))
        else:
            self._date(_HDR_DATES, d)
            self.b.lit(f" {hh:02d}:{mm:02d}")

    def s_room(self) -> None:
        r = self.rng
        value = r.choice(
            (
                f"Room {r.randint(100, 999)}",
                f"Rm {r.randint(1, 9)}{_letters(r, 1)}-{r.randint(100, 399)}",
                f"{r.randint(2, 9)} West, bed {r.randint(1, 30)}",
                f"ICU-{r.randint(1, 20)}",
                f"Bed {r.randint(1, 40)}B",
            )
        )
        self.b.trap("ROOM", value)

    def s_time(self) -> None:
        self.b.lit(f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}")

    def s_age(self) -> None:
        if self.rng.random() < 0.35:
            self.b.phi("AGE", str(self.rng.randint(90, 106)))
        else:
            self.b.trap("AGE_UNDER_90", str(self.rng.randint(18, 89)))

    # contact -------------------------------------------------------------------------------------------------
    def _phone(self, type_: PhiType) -> None:
        r = self.rng
        a, x, n = f"{r.randint(2, 9)}{_digits(r, 2)}", f"{r.randint(2, 9)}{_digits(r, 2)}", _digits(r, 4)
        fmt = r.choice(
            (
                f"({a}) {x}-{n}",
                f"{a}-{x}-{n}",
                f"{a}.{x}.{n}",
                f"{a} {x} {n}",
                f"+1 {a}-{x}-{n}",
                f"1-{a}-{x}-{n}",
                f"{a}{x}{n}",
                f"({a}){x}-{n}",
            )
        )
        self.b.phi(type_, fmt)
        if r.random() < 0.15:
            self.b.lit(r.choice((" ext. ", " x", " ext ", " X")) + _digits(r, r.randint(2, 4)))

    def s_phone(self) -> None:
        self._phone("PHONE")

    def s_fax(self) -> None:
        self._phone("FAX")

    def s_email(self) -> None:
        fake = self.fake
        p = self.patient if self.rng.random() < 0.5 else self.relative
        user = self.rng.choice((f"{p.first}.{p.last}", f"{p.first[0]}{p.last}{_digits(self.rng, 2)}", fake.user_name()))
        domain = self.rng.choice((fake.free_email_domain(), fake.domain_name()))
        self.b.phi("EMAIL", f"{user.lower().replace(' ', '')}@{domain}")

    def s_url(self) -> None:
        fake = self.fake
        value = self.rng.choice(
            (
                fake.url(),
                fake.uri(),
                f"www.{fake.domain_name()}",
                f"https://portal.{fake.domain_name()}/patient/{_digits(self.rng, 6)}",
                f"http://{fake.ipv4_private()}/pacs/study?id={_digits(self.rng, 8)}",
            )
        )
        self.b.phi("URL", value.rstrip("/") if self.rng.random() < 0.5 else value)

    def s_ip(self) -> None:
        fake = self.fake
        self.b.phi("IP", self.rng.choice((fake.ipv4_private(), fake.ipv4_public(), fake.ipv4(), fake.ipv6())))

    # identifiers ---------------------------------------------------------------------------------------------
    def s_ssn(self) -> None:
        ssn = self.fake.ssn()
        self.b.phi("SSN", self.rng.choice((ssn, ssn.replace("-", ""), ssn.replace("-", " "))))

    def s_mrn(self) -> None:
        r = self.rng
        self.b.phi(
            "MRN", r.choice((_digits(r, 8), "00" + _digits(r, 6), _letters(r, 1) + _digits(r, 7), _digits(r, 7)))
        )

    def s_account(self) -> None:
        r = self.rng
        value = r.choice((_digits(r, 10), f"{_digits(r, 4)}-{_digits(r, 3)}-{_digits(r, 2)}", "V" + _digits(r, 9)))
        self.b.phi("ACCOUNT", value)

    def s_accession(self) -> None:
        r = self.rng
        yy = f"{self.visit.year % 100:02d}"
        value = r.choice(
            (
                f"RAD-{yy}-{_digits(r, 6)}",
                f"CT{yy}-{_digits(r, 6)}",
                f"S{yy}-{_digits(r, 5)}",
                f"{yy}-HP-{_digits(r, 6)}",
                f"A{_digits(r, 9)}",
            )
        )
        self.b.phi("ACCESSION", value)

    def s_health_plan(self) -> None:
        r = self.rng
        mbi = f"{r.randint(1, 9)}{_letters(r, 1)}{_letters(r, 1)}{r.randint(0, 9)}-{_letters(r, 1)}{_letters(r, 1)}"
        mbi += f"{r.randint(0, 9)}-{_letters(r, 2)}{_digits(r, 2)}"
        value = r.choice((_letters(r, 3) + _digits(r, 9), mbi, "W" + _digits(r, 9), f"BC{_digits(r, 9)}-01"))
        self.b.phi("HEALTH_PLAN", value)

    def s_license(self) -> None:
        r = self.rng
        value = r.choice(
            (
                "MD" + _digits(r, 6),
                _letters(r, 2) + _digits(r, 7),
                "1" + _digits(r, 9),
                f"{_letters(r, 1)}{_digits(r, 3)}-{_digits(r, 4)}-{_digits(r, 4)}",
                f"RN{_digits(r, 7)}",
            )
        )
        self.b.phi("LICENSE", value)

    def s_device_id(self) -> None:
        r = self.rng
        value = r.choice(
            (
                _letters(r, 3) + _digits(r, 6),
                f"SN-{r.randint(1, 9)}{_letters(r, 1)}{r.randint(0, 9)}{_letters(r, 1)}-{_digits(r, 5)}",
                _digits(r, 10),
                f"{_letters(r, 3)}{_digits(r, 6)}{_letters(r, 1)}",
            )
        )
        self.b.phi("DEVICE_ID", value)

    def s_vehicle_id(self) -> None:
        self.b.phi("VEHICLE_ID", self.fake.license_plate() if self.rng.random() < 0.6 else self.fake.vin())

    def s_other_id(self) -> None:
        r = self.rng
        value = r.choice(
            (_digits(r, 10), "E" + _digits(r, 9), f"SUBJ-{_digits(r, 4)}", _digits(r, 2) + "D" + _digits(r, 7))
        )
        self.b.phi("ID", value)

    # geography -----------------------------------------------------------------------------------------------
    def _city(self) -> tuple[str, str]:
        if self.rng.random() < 0.5:
            city, state = self.rng.choice(self.lex.cities).split(", ")
            return city, state
        return self.fake.city(), self.fake.state_abbr(include_territories=False)

    def s_street(self) -> None:
        self.b.phi("ADDRESS", self.fake.street_address())

    def s_city(self) -> None:
        self.b.phi("LOCATION", self.home[0] if self.rng.random() < 0.5 else self._city()[0])

    def s_county(self) -> None:
        self.b.phi("LOCATION", f"{self.fake.last_name()} County")

    def _zip(self) -> None:
        self.b.phi("ZIP", self.fake.zipcode_plus4() if self.rng.random() < 0.2 else self.fake.zipcode())

    def _address(self, sep: str) -> None:
        city, state = self._city()
        self.s_street()
        self.b.lit(sep)
        self.b.phi("LOCATION", city)
        self.b.lit(f", {state} ")
        self._zip()

    def s_address_block(self) -> None:
        self._address("\n")

    def s_address_inline(self) -> None:
        self._address(", ")

    def s_facility(self) -> None:
        lex, r = self.lex, self.rng
        pattern = r.choice(lex.facility_patterns)
        value = pattern.format(
            saint=r.choice(lex.saints),
            city=self._city()[0],
            last=self.fake.last_name(),
            word=r.choice(lex.facility_words),
        )
        self.b.phi("FACILITY", value)

    # tables --------------------------------------------------------------------------------------------------
    def s_lab_table(self) -> None:
        r, b = self.rng, self.b
        rows = r.sample(self.lex.labs, k=r.randint(4, 8))
        pipe = r.random() < 0.5
        d = self._near()
        date_fmt = r.choice(_HDR_DATES[:5])
        widths = (16, 12, 8, 9, 12)
        header = ("Collected", "Test", "Result", "Units", "Reference")
        sep, edge = (" | ", "| ") if pipe else ("  ", "")
        b.lit(edge + sep.join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip() + "\n")
        if pipe:
            b.lit("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
        for lab in rows:
            collected = date_fmt(d, r)
            value = f"{r.uniform(lab.low * 0.8, lab.high * 1.2):.{lab.decimals}f}"
            ref = f"{lab.low:.{lab.decimals}f}-{lab.high:.{lab.decimals}f}"
            b.lit(edge)
            b.phi("DATE", collected)
            b.lit(" " * max(1, widths[0] - len(collected) - 6) + f"{r.randint(5, 9):02d}:00" + sep)
            b.lit(lab.name.ljust(widths[1]) + sep)
            b.trap("LAB_RESULT", value)
            b.lit(" " * (widths[2] - len(value)) + sep + lab.unit.ljust(widths[3]) + sep + ref.ljust(widths[4]))
            b.lit(" |\n" if pipe else "\n")

    def s_demographics_table(self) -> None:
        b, r = self.b, self.rng
        pipe = r.random() < 0.5
        cells: list[tuple[str, Callable[[], None], int]] = [
            ("Patient", self.s_patient_lf, 24),
            ("MRN", self.s_mrn, 12),
            ("DOB", self.s_dob, 18),
            ("Phone", self.s_phone, 22),
            ("City", self.s_city, 16),
            ("ZIP", self._zip, 12),
            ("Insurance ID", self.s_health_plan, 18),
            ("PCP", lambda: self._name(self._full(self.pcp)), 24),
        ]
        for i in range(0, len(cells), 2):
            b.lit("| " if pipe else "")
            for j, (label, fill, width) in enumerate(cells[i : i + 2]):
                b.lit(f"{label}:".ljust(14) + (" | " if pipe else ""))
                start = b.pos
                fill()
                pad = max(1, width - (b.pos - start))
                b.lit(" " * pad + (" | " if pipe and j == 0 else ""))
            b.lit("|\n" if pipe else "\n")

    # rendering -----------------------------------------------------------------------------------------------
    def render(self, template: str, trap_kind: TrapKind | None = None) -> None:
        b, pos = self.b, 0
        for m in _SLOT.finditer(template):
            if m.start() > pos:
                b.lit(template[pos : m.start()])
            pos = m.end()
            slot, bracket = m.group(1), m.group(2)
            if bracket is not None:
                if trap_kind is None:  # pragma: no cover - rejected when the lexicon loads
                    raise ConfigError("[brackets] outside traps in synthetic_phi.yaml", code="ML205")
                b.trap(trap_kind, bracket)
            elif slot.startswith("s_"):
                self.render(self.rng.choice(self.lex.snippets[slot[2:]]))
            elif slot.startswith("t_"):
                kind = slot[2:]
                self.render(self.rng.choice(getattr(self.lex.traps, kind)), _TRAP_KIND_OF[kind])
            else:
                getattr(self, f"s_{slot}")()
        if pos < len(template):
            b.lit(template[pos:])


_SLOTS = frozenset(name[2:] for name in vars(_Renderer) if name.startswith("s_"))

_TRAP_KIND_OF: dict[str, TrapKind] = {
    "eponym": "EPONYM",
    "drug": "DRUG",
    "measure": "MEASURE",
    "dose": "DOSE",
    "duration": "DURATION",
    "room": "ROOM",
    "word": "WORD",
}

_CAPS_P = 0.15
_OCR_P = 0.15


@functools.cache
def _faker() -> Faker:
    try:
        from faker import Faker
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "the synthetic PHI generator needs Faker; install it with: pip install faker", code="ML501"
        ) from exc
    return Faker("en_US")


def generate(n: int, *, seed: int = 0) -> list[GoldNote]:
    """Generate ``n`` synthetic clinical notes with gold PHI spans.

    Deterministic: the same ``seed`` (and installed Faker version) gives the same notes, and note ``i`` is the same
    whatever ``n`` is. Conventions for what is labelled are in the module docstring.

    Args:
        n: Number of notes (>= 0).
        seed: Seed for every random choice.

    Returns:
        The notes, ids ``synth-<seed>-<index>``.

    Raises:
        MissingDependencyError: ML501 if Faker is not installed.
        ConfigError: ML205 if the packaged lexicon is invalid.
    """
    lex = _lexicon()
    fake = _faker()
    notes: list[GoldNote] = []
    for i in range(n):
        rng = random.Random(f"medlens-synthetic-phi:{seed}:{i}")
        fake.seed_instance(rng.getrandbits(64))
        variants: list[Variant] = []
        if rng.random() < _CAPS_P:
            variants.append("caps")
        if rng.random() < _OCR_P:
            variants.append("ocr")
        template = lex.templates[i % len(lex.templates)] if i < len(lex.templates) else rng.choice(lex.templates)
        builder = _Builder(rng, tuple(variants))
        _Renderer(lex, fake, rng, builder).render(template.text)
        notes.append(
            GoldNote(
                id=f"synth-{seed}-{i:05d}",
                text="".join(builder.parts),
                spans=tuple(builder.spans),
                traps=tuple(builder.traps),
                template=template.name,
                variants=tuple(variants),
            )
        )
    return notes
