"""PHI detection: every Safe Harbor identifier plus clinical ones, recall first, each span typed and attributed.

Detectors run independently over the text (names: :mod:`.names`; dates and ages: :mod:`.dates`; e-mail, URL and
IP: :mod:`.contacts`; the rest here) and their spans are merged: overlapping spans become one span covering all of
them (recall first), typed by the most confident detector. Site configuration (:class:`DeidConfig`) adds patterns
and deny terms, drops allowed terms and low-confidence spans, and chooses the PHI types.

Detector ids are versioned (``medlens.deid.<type>.<rule>.v1``); a rule whose behaviour changes gets ``v2``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import cast

from medlens.safety.deid.address_lines import (
    CITY_FIELD_RE,
    FIELD_NOT_PLACE,
    UNIT_BEFORE_RE,
    UNIT_CITY_RE,
    WORKS_AS_RE,
    find_address_lines,
)
from medlens.safety.deid.config import DeidConfig, PhiSpan, PhiType
from medlens.safety.deid.contacts import find_net_contacts
from medlens.safety.deid.cues import CueHit, find_cues
from medlens.safety.deid.dates import find_ages, find_dates
from medlens.safety.deid.lexicon import lexicons
from medlens.safety.deid.names import find_names
from medlens.safety.deid.ocr import ocr_alternation, ocr_key

__all__ = ["Detector", "merge_spans"]

# (start, end, type, detector, confidence): plain tuples inside the hot path, PhiSpan at the boundary.
Hit = tuple[int, int, PhiType, str, float]

# On a tie of confidence the more specific type wins.
_PRIORITY: dict[str, int] = {
    t: i
    for i, t in enumerate(
        (
            "SSN",
            "MRN",
            "ACCOUNT",
            "ACCESSION",
            "HEALTH_PLAN",
            "LICENSE",
            "DEVICE_ID",
            "VEHICLE_ID",
            "BIOMETRIC",
            "EMAIL",
            "URL",
            "IP",
            "FAX",
            "PHONE",
            "DATE",
            "AGE",
            "ADDRESS",
            "ZIP",
            "FACILITY",
            "LOCATION",
            "NAME",
            "ID",
        )
    )
}


def _alt(words: list[str] | set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda s: (-len(s), s)))


def _cased(words: list[str]) -> list[str]:
    """Title-case and upper-case spellings (proper nouns in running text and in ALL-CAPS notes)."""
    out: set[str] = set()
    for w in words:
        out.add(" ".join(p if p in {"and", "of", "the", "&"} else p[:1].upper() + p[1:] for p in w.split(" ")))
        out.add(w.upper())
    return sorted(out)


_SSN_RE = re.compile(r"(?<![\d\-/.])\d{3}[ \t]?[- ][ \t]?\d{2}[ \t]?[- ][ \t]?\d{4}(?![\d\-]|/\d)")
_PD = "[0-9OolI]"  # a phone digit, OCR look-alikes included
_PD3S = f"{_PD}(?:[ ]?{_PD}){{2}}"  # three digits; OCR may put a space inside where separators are explicit
_PHONE_RE = re.compile(
    rf"(?<![\w+\-/.])(?:\+?1[ \t]?[.\-]?[ \t]?)?"
    rf"(?:\([ \t]?{_PD3S}[ \t]?\)[ \t]?|{_PD3S}[ \t]?[.\-][ \t]?|{_PD}{{3}}[ \t])"
    rf"(?:{_PD3S}[ \t]?[.\-][ \t]?|{_PD}{{3}}[ \t]){_PD}(?:[ ]?{_PD}){{3}}"
    r"(?:[ \t]*(?:x|ext\.?|extension|#)[ \t]*\d{1,6})?(?![\w\-]|\.\d)",
    re.IGNORECASE,
)
_PHONE7_RE = re.compile(r"(?<![\w\-/.])\d{3}-\d{4}(?![\d\-]|\.\d)")
# Ten digits with stray single spaces or dots (OCR: "Fax 542 90 5 9541"), taken only right after a phone/fax cue.
_SPACED_PHONE_RE = re.compile(r"(?<![\w.,/\-])\d(?:[ .]?\d){9}(?![\w/\-]|[.,]\d)")
_BARE_PHONE_RE = re.compile(r"(?<![\w.,/\-])(?:\d{10}|\d{7})(?![\w/\-]|[.,]\d)")
_DIGITS_RE = re.compile(r"(?<![\w.,/\-])\d{7,}(?![\w/\-]|[.,]\d)")
_ALNUM_ID_RE = re.compile(r"(?<![\w\-/.])(?=[A-Z]{0,4}\d)[A-Z]{1,4}-?\d{5,}[A-Z]?(?![\w\-/])")
_DASHED_ID_RE = re.compile(r"(?<![\w\-/.])[A-Z0-9]{1,6}(?:-[A-Z0-9]{1,10}){1,4}(?![\w\-/])")
_VIN_RE = re.compile(r"(?<![A-Z0-9])(?=(?:[A-Z]*\d){3})(?=(?:\d*[A-HJ-NPR-Z]){3})[A-HJ-NPR-Z0-9]{17}(?![A-Z0-9])")
_MAC_RE = re.compile(r"(?<![\w:\-])[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}(?![\w:\-])")
_PO_BOX_RE = re.compile(r"(?<![A-Za-z])(?:P\.?[ \t]?O\.?[ \t]*Box|Post[ \t]+Office[ \t]+Box)[ \t]*#?[ \t]*\d+", re.I)
_ZIP_CUE_RE = re.compile(
    r"(?<![A-Za-z])(?:z[il]p(?:[ \t]*code)?|postal[ \t]+code)[ \t:#|]*(?P<z>[0-9OolI]{5}(?:-[0-9OolI]{4})?)(?![\w\-])",
    re.I,
)
_COUNTY_RE = re.compile(
    r"(?<![A-Za-z])(?:[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?[ \t](?:County|Parish|Township|Borough)"
    r"|[A-Z]{3,}(?:[ \t][A-Z]{3,})?[ \t](?:COUNTY|PARISH|TOWNSHIP|BOROUGH))(?![A-Za-z])"
)
_STREET_WORD_RE = re.compile(r"[A-Za-z0-9'’.\-#]+")
_STREET_STOP = frozenset(
    [
        "OF",
        "AND",
        "TO",
        "WITH",
        "BY",
        "PER",
        "THE",
        "A",
        "AN",
        "IN",
        "ON",
        "AT",
        "FOR",
        "FROM",
        "AGO",
        "MM",
        "CM",
        "ML",
        "CC",
        "MG",
        "KG",
        "YEARS",
        "YEAR",
        "DAYS",
        "DAY",
        "MONTHS",
        "MONTH",
        "WEEKS",
        "WEEK",
        "HOURS",
        "HOUR",
        "MINUTES",
        "MINUTE",
        "DEGREES",
        "TIMES",
        "PERCENT",
        "UNITS",
        "TABLETS",
        "PILLS",
    ]
)
_STRONG_STREET_SUFFIXES = frozenset(
    [
        "street",
        "st",
        "avenue",
        "ave",
        "av",
        "road",
        "rd",
        "boulevard",
        "blvd",
        "lane",
        "ln",
        "drive",
        "dr",
        "court",
        "ct",
        "place",
        "pl",
        "terrace",
        "ter",
        "circle",
        "cir",
        "parkway",
        "pkwy",
        "highway",
        "hwy",
        "route",
        "rte",
        "rt",
        "square",
        "sq",
        "trail",
        "trl",
        "pike",
        "plaza",
        "plz",
        "expressway",
        "expy",
        "freeway",
        "fwy",
        "turnpike",
        "tpke",
    ]
)
_AFTER_STREET_RE = re.compile(
    r",[ \t]*([A-Z][A-Za-z.'’\-]*(?:[ \t][A-Z][A-Za-z.'’\-]*){0,2})(?=[ \t]*(?:,|\.|;|$|\n|\)))"
)
_PLACE_TAIL_RE = re.compile(r"[ \t]*[:|]?[ \t:|]*[ \t]+(?=[A-Z])|[ \t]*[:|][ \t:|]*(?=[A-Z])")
_CAP_RUN_RE = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z.'’\-]*(?:[ \t][A-Z][A-Za-z.'’\-]*)+")
_PLACE_PREFIXES = frozenset(
    [
        "NORTH",
        "SOUTH",
        "EAST",
        "WEST",
        "NEW",
        "LAKE",
        "PORT",
        "MOUNT",
        "MT",
        "FORT",
        "FT",
        "SAINT",
        "ST",
        "ST.",
        "GLEN",
        "GRAND",
        "LITTLE",
        "BIG",
        "UPPER",
        "LOWER",
        "OLD",
        "POINT",
        "PALM",
        "SANTA",
        "SAN",
        "LOS",
        "LAS",
        "EL",
        "LA",
    ]
)
_PLACE_SUFFIX_RE = re.compile(
    r"(?i:ton|ville|burgh?|berg|borough|bury|port|mouth|haven|chester|field|ford|land|shire|stad|view|side|town|fort|"
    r"furt|wood|dale|mont|polis|city|stead|worth|ham)$"
)
_CAP_WORD_RE = re.compile(r"[A-Z][A-Za-z.'’\-]*")


class _Patterns:
    """Patterns built from the cue lexicon, compiled once per process."""

    def __init__(self) -> None:
        lex = lexicons()
        cues = lex.cues
        self.id_cue = {}
        ambiguous: set[str] = set()
        strong_abbr = {"mrn", "ssn", "npi", "dea", "vin", "mbi", "csn", "empi", "hicn", "udi", "imei", "itin", "ss#"}
        for phi_type, words in cues.ids.cues.items():
            for w in words:
                key = w.lower()
                self.id_cue[key] = phi_type
                if key.isalpha() and key not in strong_abbr and (len(key) <= 3 or key.upper() in lex.english):
                    ambiguous.add(key)
        self.ambiguous_id_cues = frozenset(ambiguous)
        sep = r"(?:[ \t]*(?:[:#=|]|\bno\.?(?![A-Za-z])|\bnumber\b|\bnum\b|\bid\b)[ \t]*)"
        self.id_tail_re = re.compile(
            rf"(?P<sep>{sep}*|[ \t]+)"
            r"(?P<val>(?:[A-Za-z0-9](?:[A-Za-z0-9]|[\-/](?=[A-Za-z0-9])|\.(?=\d))*)"
            r"(?:[ ](?=[A-Za-z0-9\-]*\d)[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*(?![\w/]))*)",
            re.IGNORECASE,
        )
        self.plate_tail_re = re.compile(
            r"(?:[ \t]*(?:[:#=|]|\bno\.?|\bnumber\b|\bplate\b|\bplates\b)[ \t]*)*[ \t]*"
            r"(?P<val>[A-Z0-9]{1,17}(?:[ \-•][A-Z0-9]{1,8})?)(?![A-Za-z0-9])"
        )
        self.value_stop = frozenset(w.lower() for w in cues.ids.value_stopwords)
        self.fax_re = re.compile(rf"(?<![A-Za-z])(?:{_alt(cues.phones.fax_cues)})", re.IGNORECASE)
        self.phone_cue_re = re.compile(
            rf"(?<![A-Za-z])(?:{_alt(cues.phones.phone_cues)})[ \t]*[:#]?[ \t]*(?:number)?[ \t]*[:#]?[ \t]*$",
            re.IGNORECASE,
        )
        addr = cues.addresses
        suffixes = _cased(addr.street_suffixes)
        self.street_suffixes = frozenset(w.lower() for w in addr.street_suffixes)
        units = _alt([u for u in _cased(addr.unit_words)] + ["#"])
        direction = _alt(_cased(addr.directionals))
        self.street_re = re.compile(
            rf"(?<![\w\-/.:])\d{{1,6}}[A-Za-z]?(?:-\d{{1,5}})?[ \t]+(?:(?:{direction})\.?[ \t]+)?"
            rf"(?:[A-Z][A-Za-z'’.\-]*|\d{{1,3}}(?:st|nd|rd|th|ST|ND|RD|TH))(?:[ \t]+[A-Z][A-Za-z'’.\-]*){{0,3}}"
            rf"[ \t]+(?:{_alt(suffixes)})\.?(?![A-Za-z])(?:[ \t]+(?:{direction})\.?(?![A-Za-z]))?"
            rf"(?:[ \t]*,?[ \t]*(?:{units})\.?[ \t]*#?[ \t]*[A-Za-z0-9\-]{{1,6}}(?![A-Za-z0-9]))?"
        )
        states = lex.states
        state_alt = _alt(list(states) + _cased(list(states.values())))
        self.city_state_re = re.compile(
            rf"(?P<city>[A-Z][A-Za-z.'’\-]*(?:[ \t]+[A-Z][A-Za-z.'’\-]*){{0,4}}),[ \t]*(?P<st>{state_alt})(?![A-Za-z])"
            r"(?:[ \t,]+(?P<zip>(?=(?:[^\d\s]*\d){3})[0-9OolI]{5}(?:-[0-9OolI]{4})?)(?![\w\-]))?"
        )
        self.state_zip_re = re.compile(
            rf"(?<![A-Za-z])(?:{_alt(list(states))})[ \t]+"
            r"(?P<zip>(?=(?:[^\d\s]*\d){3})[0-9OolI]{5}(?:-[0-9OolI]{4})?)(?![\w\-])"
        )
        self.state_names = frozenset(n.upper() for n in states.values())
        places = cues.places
        self.not_places = frozenset(w.upper() for w in places.not_places)
        self.residence_cues = frozenset(" ".join(c.lower().split()) for c in places.residence_cues)
        fac = cues.facilities
        # OCR: one space inside a suffix and look-alike letters ("Ho spital", "CLlNlC"), checked in _facilities
        suffixes = _cased(fac.suffixes)
        self.facility_suffix_re = re.compile(rf"(?<![A-Za-z]){ocr_alternation(suffixes, swaps=True)}(?![A-Za-z])")
        self.facility_suffix_keys = {ocr_key(w): w.count(" ") for w in suffixes}
        self.facility_names_re = re.compile(rf"(?<![A-Za-z])(?:{_alt(_cased(fac.names))})(?![A-Za-z])")
        self.generic = frozenset(w.upper() for w in fac.generic_words)
        self.facility_words = frozenset(w.upper() for w in fac.name_words)
        self.name_stop = frozenset(w.upper() for w in cues.names.stopwords) - {"ST"}


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


class Detector:
    """Finds PHI spans in text according to a :class:`DeidConfig`.

    Args:
        config: site configuration; defaults detect every type.
    """

    def __init__(self, config: DeidConfig | None = None) -> None:
        self.config = config or DeidConfig()
        self._p = _patterns()
        self._lex = lexicons()
        self._types = frozenset(self.config.types)
        self._extra = [
            (re.compile(p.regex, re.IGNORECASE if p.ignore_case else 0), p.type, p.confidence)
            for p in self.config.extra_patterns
        ]
        self._deny = [
            (re.compile(rf"(?<!\w){re.escape(d.term)}(?!\w)", re.IGNORECASE), d.type) for d in self.config.deny
        ]
        self._allow = (
            re.compile(rf"(?<!\w)(?:{_alt([a.strip() for a in self.config.allow])})(?!\w)", re.IGNORECASE)
            if self.config.allow
            else None
        )

    def detect(self, text: str) -> list[PhiSpan]:
        """PHI spans of ``text``: sorted, non-overlapping, merged, at or above ``min_confidence``."""
        hits = [h for h in self._hits(text) if h[2] in self._types and h[4] >= self.config.min_confidence]
        if self._allow is not None:
            allowed = [m.span() for m in self._allow.finditer(text)]
            if allowed:
                hits = [h for h in hits if not any(s <= h[0] and h[1] <= e for s, e in allowed)]
        return merge_spans(hits)

    # --- all detectors ----------------------------------------------------------------------------------------

    def _hits(self, text: str) -> Iterator[Hit]:
        cues = find_cues(text)
        yield from self._dates(text)
        yield from self._contacts(text)
        yield from self._ids(text, cues)
        yield from self._places(text, cues)
        yield from self._facilities(text)
        for h in find_names(text, cues):
            yield (h.start, h.end, "NAME", f"medlens.deid.name.{h.rule}.v1", h.confidence)
        for pattern, phi_type, conf in self._extra:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    yield (m.start(), m.end(), phi_type, "medlens.deid.site.pattern.v1", conf)
        for pattern, phi_type in self._deny:
            for m in pattern.finditer(text):
                yield (m.start(), m.end(), phi_type, "medlens.deid.site.deny.v1", 1.0)

    def _dates(self, text: str) -> Iterator[Hit]:
        for d in find_dates(text, keep_year=self.config.keep_year):
            yield (d.start, d.end, "DATE", f"medlens.deid.date.{d.form}.v1", d.confidence)
        for a in find_ages(text):
            yield (a.start, a.end, "AGE", f"medlens.deid.age.{a.form}.v1", a.confidence)

    def _contacts(self, text: str) -> Iterator[Hit]:
        p = self._p
        yield from find_net_contacts(text, self._lex.english)
        for m in _SSN_RE.finditer(text):
            yield (m.start(), m.end(), "SSN", "medlens.deid.ssn.pattern.v1", 0.9)
        for m in _PHONE_RE.finditer(text):
            if sum(c.isdigit() for c in m.group()) >= 8:
                yield (m.start(), m.end(), self._phone_type(text, m.start()), "medlens.deid.phone.pattern.v1", 0.9)
        for m in _PHONE7_RE.finditer(text):
            yield (m.start(), m.end(), self._phone_type(text, m.start()), "medlens.deid.phone.local.v1", 0.7)
        for m in _BARE_PHONE_RE.finditer(text):
            s, e = m.span()
            if p.phone_cue_re.search(text, max(0, s - 30), s) or self._p.fax_re.search(text, max(0, s - 16), s):
                yield (s, e, self._phone_type(text, s), "medlens.deid.phone.cue.v1", 0.85)
            elif e - s == 10 and text[s] in "23456789" and text[s + 3] in "23456789":
                yield (s, e, self._phone_type(text, s), "medlens.deid.phone.nanp.v1", 0.65)
        for m in _SPACED_PHONE_RE.finditer(text):
            s, e = m.span()
            if p.phone_cue_re.search(text, max(0, s - 16), s) or p.fax_re.search(text, max(0, s - 16), s):
                yield (s, e, self._phone_type(text, s), "medlens.deid.phone.spaced.v1", 0.9)

    def _phone_type(self, text: str, start: int) -> PhiType:
        return "FAX" if self._p.fax_re.search(text, max(0, start - 16), start) else "PHONE"

    def _ids(self, text: str, cues: dict[str, list[CueHit]]) -> Iterator[Hit]:
        p = self._p
        id_cues = sorted(
            (hit, category[3:]) for category, hits in cues.items() if category.startswith("id:") for hit in hits
        )
        for (_, cue_end, cue), phi_type in id_cues:
            if phi_type == "VEHICLE_ID" and (plate := p.plate_tail_re.match(text, cue_end)) is not None:
                value = plate.group("val")
                if any(c.isdigit() for c in value) and len(value.replace(" ", "").replace("-", "")) >= 4:
                    s = plate.start("val")
                    yield (s, s + len(value), "VEHICLE_ID", "medlens.deid.vehicle_id.plate.v1", 0.9)
                    continue
            m = p.id_tail_re.match(text, cue_end)
            if m is None:
                continue
            sep = m.group("sep")
            value = m.group("val").rstrip(".-/")
            unmarked = not any(c in sep for c in ":#=|") and not sep.strip()
            if cue in p.ambiguous_id_cues and unmarked and sum(c.isdigit() for c in value) < 4:
                continue
            head = value.split()[0] if value.split() else ""
            if not head or head.lower() in p.value_stop or not any(c.isdigit() for c in head):
                continue
            if "/" in head and re.fullmatch(r"[A-Za-z]*\d{2,3}/\d{2,3}[A-Za-z]*", head):
                continue  # a blood pressure after "exam", not an identifier
            if len(value) < 2 or (phi_type == "ID" and len(value) < 3):
                continue
            s = m.start("val")
            yield (s, s + len(value), cast(PhiType, phi_type), f"medlens.deid.{phi_type.lower()}.cue.v1", 0.95)
        for m in _DIGITS_RE.finditer(text):
            yield (m.start(), m.end(), "ID", "medlens.deid.id.digits.v1", 0.6)
        for m in _ALNUM_ID_RE.finditer(text):
            yield (m.start(), m.end(), "ID", "medlens.deid.id.alphanumeric.v1", 0.65)
        for m in _DASHED_ID_RE.finditer(text):
            value = m.group()
            digits = sum(c.isdigit() for c in value)
            if digits >= 5 and any(c.isalpha() for c in value) and not _PHONE_RE.fullmatch(value):
                yield (m.start(), m.end(), "ID", "medlens.deid.id.dashed.v1", 0.6)
        for m in _VIN_RE.finditer(text):
            yield (m.start(), m.end(), "VEHICLE_ID", "medlens.deid.vehicle_id.vin.v1", 0.7)
        for m in _MAC_RE.finditer(text):
            yield (m.start(), m.end(), "DEVICE_ID", "medlens.deid.device_id.mac.v1", 0.8)

    # --- places -------------------------------------------------------------------------------------------------

    def _places(self, text: str, cues: dict[str, list[CueHit]]) -> Iterator[Hit]:
        p = self._p
        lex = self._lex
        for m in p.street_re.finditer(text):
            if self._street_ok(text, m):
                yield (m.start(), m.end(), "ADDRESS", "medlens.deid.address.street.v1", 0.9)
                city = _AFTER_STREET_RE.match(text, m.end())
                if city is not None and city.group(1).upper() not in p.state_names:
                    words = city.group(1)
                    yield (
                        city.start(1),
                        city.start(1) + len(words),
                        "LOCATION",
                        "medlens.deid.location.address.v1",
                        0.85,
                    )
        yield from find_address_lines(text)
        low = text.lower()
        fields = "city" in low or "town" in low or "birth" in low
        for m in CITY_FIELD_RE.finditer(text) if fields else ():
            value = m.group("v").rstrip(".").upper()
            if value not in FIELD_NOT_PLACE and value not in p.not_places:
                yield (m.start("v"), m.start("v") + len(value), "LOCATION", "medlens.deid.location.field.v1", 0.85)
        for m in UNIT_CITY_RE.finditer(text):
            if (
                UNIT_BEFORE_RE.search(text, max(0, m.start() - 20), m.start()) is not None
                and m.group("c").split()[0].rstrip(".").upper() not in p.state_names
            ):
                yield (m.start("c"), m.end("c"), "LOCATION", "medlens.deid.location.unit_city.v1", 0.85)
        for m in WORKS_AS_RE.finditer(text) if "work" in low else ():
            found = self._place_after(text, m.end(), require_known=False)
            if found is not None:
                yield (found[0], found[1], "LOCATION", "medlens.deid.location.works_in.v1", 0.9)
        for m in _PO_BOX_RE.finditer(text):
            yield (m.start(), m.end(), "ADDRESS", "medlens.deid.address.po_box.v1", 0.9)
        for m in p.city_state_re.finditer(text):
            city_span = self._city_words(text, m.start("city"), m.end("city"))
            zip_code = m.group("zip")
            if city_span is not None:
                s, e = city_span
                known = text[s:e].upper() in lex.places
                credential = m.group("st") in {"MD", "PA", "DO", "NP", "RN", "MS", "DE", "ME", "OR", "IN", "OK"}
                caps = text[s:e].isupper()
                if known or zip_code or not (credential or caps):
                    yield (s, e, "LOCATION", "medlens.deid.location.city_state.v1", 0.9 if known or zip_code else 0.7)
            if zip_code:
                yield (m.start("zip"), m.end("zip"), "ZIP", "medlens.deid.zip.address.v1", 0.95)
        for m in p.state_zip_re.finditer(text):
            yield (m.start("zip"), m.end("zip"), "ZIP", "medlens.deid.zip.state.v1", 0.9)
        for m in _ZIP_CUE_RE.finditer(text):
            yield (m.start("z"), m.end("z"), "ZIP", "medlens.deid.zip.cue.v1", 0.95)
        for m in _COUNTY_RE.finditer(text):
            if m.group().split()[0].upper() in p.name_stop:
                continue
            yield (m.start(), m.end(), "LOCATION", "medlens.deid.location.county.v1", 0.85)
        for category, known, detector, conf in (
            ("place_strong", False, "medlens.deid.location.cue.v1", 0.85),
            ("place_weak", True, "medlens.deid.location.gazetteer.v1", 0.75),
        ):
            for start, end, _ in cues.get(category, ()):
                tail = _PLACE_TAIL_RE.match(text, end)
                if tail is None:
                    continue
                home = not known and " ".join(text[start:end].lower().split()) in p.residence_cues
                found = self._place_after(text, tail.end(), require_known=known, common_ok=home)
                if found is not None:
                    yield (found[0], found[1], "LOCATION", detector, 0.95 if home else conf)
        for m in _CAP_RUN_RE.finditer(text):
            found = self._multiword_place(text, m)
            if found is not None:
                yield (found[0], found[1], "LOCATION", "medlens.deid.location.gazetteer_multiword.v1", 0.92)

    def _multiword_place(self, text: str, run: re.Match[str]) -> tuple[int, int] | None:
        """The longest known place of two or more words inside a run of capitalised words ("San Diego")."""
        words = list(_CAP_WORD_RE.finditer(run.group()))
        places = self._lex.places
        base = run.start()
        for size in (4, 3, 2):
            for k in range(0, len(words) - size + 1):
                s, e = words[k].start(), words[k + size - 1].end()
                key = run.group()[s:e].upper()
                if key in places and key not in self._p.state_names:
                    return base + s, base + e
        return None

    def _street_ok(self, text: str, m: re.Match[str]) -> bool:
        """Reject street-shaped phrases that are measurements or prose ("5 MM PORT", "5 YEARS AGO WITH DR.")."""
        words = _STREET_WORD_RE.findall(m.group())
        suffix_at = next(
            (k for k in range(len(words) - 1, 0, -1) if words[k].rstrip(".").lower() in self._p.street_suffixes), 0
        )
        name_words = [w.rstrip(".").upper() for w in words[1:suffix_at]]
        if any(w in _STREET_STOP or w in self._p.name_stop for w in name_words):
            return False
        suffix = words[suffix_at].rstrip(".").lower() if suffix_at else ""
        if any(w.endswith(".") and len(w) > 2 and w.upper() not in {"ST.", "MT.", "FT."} for w in words[1:suffix_at]):
            return False  # a sentence ends inside
        if m.group().isupper() and suffix not in _STRONG_STREET_SUFFIXES:
            lex = self._lex
            if all(w in lex.english and w not in lex.last_rank and w not in lex.first_sex for w in name_words):
                return False  # "12 STEP TROCAR PORT"
        # "... Dr. Smith": a title, not a drive
        return not (suffix == "dr" and re.match(r"\.?[ \t]+[A-Z]", text[m.end() : m.end() + 3]))

    def _city_words(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """The city part of the words before ", ST".

        The longest known place at the end, else the last words that are not common words.
        """
        words = list(_CAP_WORD_RE.finditer(text, start, end))
        lex = self._lex
        words = [w for w in words if len(w.group()) >= 3 and not (w.group().isupper() and len(w.group()) <= 3)]
        if not words:
            return None
        for k in range(max(0, len(words) - 4), len(words)):
            candidate = text[words[k].start() : end].upper()
            if candidate in lex.places and candidate not in self._p.state_names:
                return words[k].start(), end
        keep: list[re.Match[str]] = []
        for w in reversed(words):
            key = w.group().rstrip(".").upper()
            if keep and key in _PLACE_PREFIXES:
                keep.append(w)
                break
            if key in self._p.name_stop or key in self._p.not_places or (key in lex.english and key not in lex.places):
                break
            keep.append(w)
            if len(keep) == 3:
                break
        if not keep:
            return None
        return keep[-1].start(), end

    def _place_after(
        self, text: str, pos: int, *, require_known: bool, common_ok: bool = False
    ) -> tuple[int, int] | None:
        """A place name starting at ``pos``.

        A known place (longest first); or, unless ``require_known``, up to three capitalised words that are not
        common words; with ``require_known``, one word shaped like a town name ("...ville", "Port ...").
        With ``common_ok`` (after a residence cue) a capitalised common word counts too ("lives in Hope"), and so
        does any word after a place prefix ("Port Tony").
        """
        words: list[re.Match[str]] = []
        for m in _CAP_WORD_RE.finditer(text, pos, min(len(text), pos + 80)):
            if words and text[words[-1].end() : m.start()] not in {" ", "\t"}:
                break
            if not words and m.start() != pos:
                break
            words.append(m)
            if len(words) == 4:
                break
        if not words:
            return None
        lex = self._lex
        for k in range(len(words), 0, -1):
            name = text[pos : words[k - 1].end()].rstrip(".")
            key = name.upper()
            if key in lex.places and key not in self._p.state_names:
                caps_word = name.isupper() and len(name) > 2
                if require_known and (key in lex.english or (caps_word and k == 1 and key in lex.last_rank)):
                    continue
                if (
                    require_known
                    and k == 1
                    and (key in lex.first_sex or key in lex.last_rank)
                    and lex.places[key][1] < 100_000
                ):
                    continue
                return pos, pos + len(name)
        if require_known:
            first = words[0].group().rstrip(".,")
            if (
                _PLACE_SUFFIX_RE.search(first)
                and first.upper() not in lex.english
                and first.upper() not in self._p.not_places
            ):
                return pos, pos + len(first)
            if len(words) > 1 and first.upper() in _PLACE_PREFIXES:
                second = words[1].group().rstrip(".,")
                if second.upper() not in lex.english and second.upper() not in self._p.not_places:
                    return pos, words[1].start() + len(second)
            return None
        keep = []
        for k, w in enumerate(words[:3]):
            key = w.group().rstrip(".,").upper()
            if k == 0 and key in _PLACE_PREFIXES and len(words) > 1:
                keep.append(w)
                continue
            prefixed = k == 1 and keep and keep[0].group().rstrip(".,").upper() in _PLACE_PREFIXES
            common = key in lex.english and not ((common_ok and w.group()[1:].islower()) or prefixed)
            if key in self._p.not_places or key in self._p.name_stop or common or key in self._p.generic:
                break
            if key in self._p.state_names:
                break
            keep.append(w)
        if not keep:
            return None
        return pos, keep[-1].start() + len(keep[-1].group().rstrip(".,"))

    # --- facilities ---------------------------------------------------------------------------------------------

    def _facilities(self, text: str) -> Iterator[Hit]:
        p = self._p
        for m in p.facility_suffix_re.finditer(text):
            s, e = m.span()
            key = ocr_key(m.group())
            spaces = p.facility_suffix_keys.get(key)
            if spaces is None or m.group().count(" ") > spaces + 1:
                continue
            suffix = key.lower()
            caps = key.isupper() and len(key) > 3
            words: list[tuple[int, str]] = []
            pos = s
            # walk back over capitalised words (ALL-CAPS words in ALL-CAPS text), "of", "and", "&", "St."
            for _ in range(6):
                back = _FACILITY_WORD_BACK_RE.search(text, max(0, pos - 40), pos)
                if back is None:
                    break
                word = back.group(1)
                key = word.rstrip(".").upper()
                if word.endswith(".") and key not in {"ST", "MT", "FT"}:
                    break  # the end of a sentence
                if (key in p.name_stop or key in _FACILITY_STOP) and key not in {"OF", "AND"}:
                    break
                if key not in {"OF", "AND", "&"} and caps != word.isupper():
                    break
                words.append((back.start(1), word))
                pos = back.start()
            while words and words[-1][1].lower() in {"of", "and", "the", "&"}:
                words.pop()
            start = words[-1][0] if words else s
            tail = _FACILITY_OF_RE.match(text, e)
            tail_words = tail.group(1).split() if tail else []
            if caps:  # on ALL-CAPS text the words after "OF" stop at the first common word ("... OF X TODAY")
                lex = self._lex
                keep = 0
                for w in tail_words:
                    if w in lex.english and w not in lex.places and w not in lex.last_rank and w != "THE":
                        break
                    keep += 1
                tail_words = tail_words[:keep]
            end = e
            if tail is not None and tail_words:
                end = text.index(tail_words[-1], tail.start(1)) + len(tail_words[-1])
            named = [w for _, w in words] + tail_words
            strict = suffix in _WEAK_FACILITY_SUFFIXES
            if any(self._identifying(w, strict=strict) for w in named):
                yield (start, end, "FACILITY", "medlens.deid.facility.suffix.v1", 0.93)
        for m in p.facility_names_re.finditer(text):
            yield (m.start(), m.end(), "FACILITY", "medlens.deid.facility.known.v1", 0.85)

    def _identifying(self, word: str, *, strict: bool) -> bool:
        """Whether a word before a facility suffix names the place ("Mercy", "Jefferson") rather than describes it."""
        key = word.rstrip(".").upper()
        key = re.sub(r"['’]S$", "", key)
        if key in {"OF", "AND", "THE", "&"} or key in self._p.generic:
            return False
        lex = self._lex
        if key in self._p.facility_words or key in {"ST", "SAINT", "MT"} or key in lex.places:
            return True
        if key in lex.first_sex or key in lex.last_rank:
            return lex.word_level.get(key, 99) > 10
        if key in lex.english:
            return not strict and word[:1].isupper()
        return True


_FACILITY_WORD_BACK_RE = re.compile(r"(?<![\w.'’\-])([A-Z][A-Za-z'’\-]*\.?|&|of|and|the)[ \t]+$")
_FACILITY_OF_RE = re.compile(
    r"[ \t]+(?:of|OF)[ \t]+((?:(?:the|THE)[ \t]+)?(?:[A-Z][A-Za-z'’\-]*(?:[ \t](?=[A-Z]))?){1,4})"
)
_FACILITY_STOP = frozenset(
    [
        "THE",
        "INTO",
        "ONTO",
        "TO",
        "AT",
        "IN",
        "ON",
        "FROM",
        "WITH",
        "BY",
        "FOR",
        "WAS",
        "WERE",
        "IS",
        "ARE",
        "HAS",
        "HAD",
        "BEEN",
        "THEN",
        "WHEN",
        "WHILE",
        "AFTER",
        "BEFORE",
        "DURING",
        "UNTIL",
        "SINCE",
        "VIA",
        "PER",
        "ADMITTED",
        "TRANSFERRED",
        "SEEN",
        "FOLLOWED",
        "DISCHARGED",
        "REFERRED",
        "CALLED",
        "WENT",
    ]
)
_WEAK_FACILITY_SUFFIXES = frozenset(
    {
        "pediatrics",
        "associates",
        "partners",
        "physicians",
        "specialists",
        "rehabilitation",
        "orthopedics",
        "dermatology",
        "primary care",
        "medical clinic",
        "radiology",
        "imaging",
        "laboratory",
        "laboratories",
        "pharmacy",
        "health",
        "institute",
        "university",
        "college",
        "school",
        "foundation",
        "health care",
        "healthcare",
        "memorial",
    }
)


def merge_spans(hits: list[Hit]) -> list[PhiSpan]:
    """Merge overlapping hits into sorted, non-overlapping spans.

    A group of overlapping hits becomes one span covering all of them (recall first); its type, detector and
    confidence are those of the best hit (highest confidence, then the more specific type, then the longer).
    """
    if not hits:
        return []
    ordered = sorted(hits, key=lambda h: (h[0], -h[1]))
    out: list[PhiSpan] = []
    group: list[Hit] = [ordered[0]]
    end = ordered[0][1]
    for h in ordered[1:]:
        if h[0] < end:
            group.append(h)
            end = max(end, h[1])
            continue
        out.append(_merged(group, end))
        group = [h]
        end = h[1]
    out.append(_merged(group, end))
    return out


def _merged(group: list[Hit], end: int) -> PhiSpan:
    best = min(group, key=lambda h: (-h[4], _PRIORITY.get(h[2], 99), h[0] - h[1]))
    return PhiSpan.model_construct(start=group[0][0], end=end, type=best[2], detector=best[3], confidence=best[4])
