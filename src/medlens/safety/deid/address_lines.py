"""Postal address lines: "City, ST 12345" and the street written before it, OCR noise included.

Safe Harbor identifier (B): all geographic subdivisions smaller than a state, street address, city and ZIP code,
45 CFR §164.514(b)(2)(i)(B). A city, state and ZIP line is unambiguous even when OCR has split its words ("Grantvi
lle, IL 55994") or when the city is also a common word ("Hope, AR 71801"); the street line above it, or the street
before it on the same line, is the street address even when OCR has broken its suffix ("9 8638 Stephanie Hil1").
The other place patterns the detector uses around address lines live here too: labelled city fields, the city after
a unit designator ("Apt. 188, Burlington.") and the place after a job ("works as a teacher in Erie").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from medlens.safety.deid.config import PhiType

__all__ = [
    "CITY_FIELD_RE",
    "FIELD_NOT_PLACE",
    "UNIT_BEFORE_RE",
    "UNIT_CITY_RE",
    "WORKS_AS_RE",
    "find_address_lines",
]

# "City, ST 12345" at a line start or after a comma: the words before the state are the city whatever they are
# ("Hope, AR 72801"); OCR may split the city, the state ("W A") or the ZIP ("55 6l2") with one space.
# Found from the comma before the state (a literal, so the scan is fast); the city is read back from it.
_ST_ZIP_RE = re.compile(
    r",[ \t]*[A-Z][ ]?[A-Za-z][ \t]+"
    r"(?P<zip>[0-9OolI](?:[ ]?[0-9OolI]){4}(?:[ ]?-[ ]?[0-9OolI](?:[ ]?[0-9OolI]){3})?)(?![\w\-])"
)
_CITY_RE = re.compile(r"[ \t]*([A-Z0][A-Za-z0-9.'’\-]*(?:[ \t][A-Za-z0-9][A-Za-z0-9.'’\-]*){0,4})[ \t]*")
# A labelled city field ("City: Hope", "| Town: | R aleigh |"): the value up to the end of its cell or line.
CITY_FIELD_RE = re.compile(
    r"(?<![A-Za-z])(?i:city|town|hometown|birthplace|place[ \t]+of[ \t]+birth)[ \t]*:[ \t|]*"
    r"(?P<v>[A-Z][A-Za-z.'’\-]*(?:[ ][A-Za-z][A-Za-z.'’\-]*){0,3})(?=[ \t]*(?:\||\n|$|,)|[ \t]{2})"
)
# "works as a teacher in Erie": the place of work after a job title.
WORKS_AS_RE = re.compile(
    r"(?<![A-Za-z])(?i:work(?:s|ed|ing)?[ \t]+as[ \t]+an?[ \t]+[a-z]+(?:[ \t][a-z]+)?[ \t]+in)[ \t]+"
)
# "Apt. 188, Burlington." after a unit designator even where OCR broke the street before it.
UNIT_CITY_RE = re.compile(
    r",[ \t]*(?P<c>[A-Z][A-Za-z.'’\-]*(?:[ \t][A-Za-z][A-Za-z.'’\-]*){0,2}?)(?=[ \t]*(?:,|\.|;|$|\n|\)))"
)
UNIT_BEFORE_RE = re.compile(r"(?<![A-Za-z])(?i:apt|apartment|suite|ste|unit)\.?[ \t]*#?[ \t]*[A-Za-z0-9\-]{1,6}$")
FIELD_NOT_PLACE = frozenset({"UNKNOWN", "NONE", "OTHER", "SAME", "HOMELESS", "DECLINED"})
# A house number (OCR may split it once) and at least one word: the start of a street.
_HOUSE_RE = re.compile(r"(?<![\w.\-])\d[\dOolI]*(?: \d+)?[ \t]+[A-Za-z0-9]")
_STREET_LINE_RE = re.compile(r"[ \t]*(?P<s>\d[\dOolI]*(?: \d+)?[ \t]+[A-Za-z][^\n]{2,60}?)[ \t]*\n[ \t]*$")


def find_address_lines(text: str) -> Iterator[tuple[int, int, PhiType, str, float]]:
    """City, ZIP and street hits of "City, ST 12345" address lines as (start, end, type, detector id, confidence).

    Args:
        text: the text.

    Yields:
        Hits, possibly overlapping other detectors' (the caller merges).
    """
    for m in _ST_ZIP_RE.finditer(text):
        zip_code = m.group("zip")
        if zip_code.count(" ") > 1 or sum(c.isdigit() for c in zip_code) < 3:
            continue
        comma = m.start()
        start = max(text.rfind("\n", 0, comma), text.rfind(",", max(0, comma - 60), comma)) + 1
        if comma - start > 60 or (city := _CITY_RE.fullmatch(text, start, comma)) is None:
            continue
        yield (city.start(1), city.end(1), "LOCATION", "medlens.deid.location.city_state_zip.v1", 0.9)
        yield (m.start("zip"), m.end("zip"), "ZIP", "medlens.deid.zip.city_state.v1", 0.9)
        street = _street_before(text, start)
        if street is not None:
            yield (street[0], street[1], "ADDRESS", "medlens.deid.address.before_city.v1", 0.95)


def _street_before(text: str, start: int) -> tuple[int, int] | None:
    """The street written just before a "City, ST ZIP" match: the line above, or the same line up to the comma."""
    if start > 0 and text[start - 1] == ",":  # "... at 12 Elm Oval Apt. 3, City, ST 12345": back to a house number
        end = start - 1
        line_start = text.rfind("\n", 0, end) + 1
        cut = max(line_start, end - 80, *(text.rfind(c, line_start, end) + 1 for c in ",;:"))
        house = _HOUSE_RE.search(text, cut, end)
        if house is None:
            return None
        seg = text[house.start() : end].rstrip()
        return (house.start(), house.start() + len(seg)) if len(seg.split()) <= 8 else None
    line = _STREET_LINE_RE.search(text, max(0, start - 80), start)
    if line is None or (line.start() > 0 and text[line.start() - 1] != "\n"):
        return None
    return line.start("s"), line.end("s")
