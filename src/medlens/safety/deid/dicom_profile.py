"""PS3.15 Annex E Table E.1-1 (Basic Profile column) as data: ``lexicon/dicom_basic_profile.tsv`` and its lookups.

The table is data (CONVENTIONS.md 4): this module only loads and validates it and resolves the combined action
codes; :mod:`medlens.safety.deid.dicom` applies the actions to datasets.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import ConfigError

__all__ = ["CONFORMANT_ACTION", "ActionCode", "BasicProfile", "ProfileRow", "load_basic_profile"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_PACKAGE = "medlens.safety.deid"
_PROFILE_FILE = "dicom_basic_profile.tsv"
_COLUMNS = ("tag", "keyword", "name", "basic", "modified_dates")

ActionCode = Literal["D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"]
# Table E.1-1 legend: "Z/D: Z unless D is required to maintain IOD conformance (Type 2 versus Type 1)" etc. Without
# per-IOD Type tables, a combined code resolves to the action its Type 1 (or 2) case requires, which keeps every IOD
# conformant; a dummy carries no information, so this is as private as removal. U* = keep the sequence and remap the
# instance UIDs inside it. C (no Basic row has it) is treated as D.
CONFORMANT_ACTION: dict[str, str] = {
    "D": "D", "Z": "Z", "X": "X", "K": "K", "C": "D", "U": "U",
    "Z/D": "D", "X/Z": "Z", "X/D": "D", "X/Z/D": "D", "X/Z/U*": "U*",
}  # fmt: skip


class ProfileRow(BaseModel):
    """One row of PS3.15 Table E.1-1: an attribute and its Basic Profile action."""

    model_config = _FROZEN

    tag: str = Field(
        pattern=r"^\([0-9A-F]{2}(?:[0-9A-F]{2}|xx),(?:[0-9A-F]{4}|xxxx)\)$",
        description="(GGGG,EEEE) in hex capitals; 'xx' marks a repeating group such as (60xx,3000).",
    )
    keyword: str = Field(min_length=1, description="DICOM keyword (PS3.6), e.g. PatientName.")
    name: str = Field(min_length=1, description="Attribute name as in PS3.6.")
    basic: ActionCode = Field(description="Action code of the Basic Profile column.")
    modified_dates: Literal["", "C"] = Field(
        default="", description="'C' if the Retain Longitudinal Temporal Information Modified Dates Option cleans it."
    )


class BasicProfile:
    """Table E.1-1 as lookups: exact tags and masked repeating groups (50xx curves, 60xx overlays)."""

    def __init__(self, rows: tuple[ProfileRow, ...]) -> None:
        self.rows = rows
        self._exact: dict[int, ProfileRow] = {}
        self._masked: list[tuple[int, int, ProfileRow]] = []
        for row in rows:
            digits = row.tag[1:-1].replace(",", "")
            if "x" in digits:
                mask = int("".join("0" if c == "x" else "F" for c in digits), 16)
                self._masked.append((mask, int(digits.replace("x", "0"), 16), row))
            else:
                self._exact[int(digits, 16)] = row

    def lookup(self, tag: int) -> ProfileRow | None:
        """The row for a tag (exact first, then repeating groups), or None if the attribute is not in the table."""
        row = self._exact.get(tag)
        if row is not None:
            return row
        for mask, value, masked in self._masked:
            if tag & mask == value:
                return masked
        return None


@functools.cache
def load_basic_profile() -> BasicProfile:
    """Load and validate ``lexicon/dicom_basic_profile.tsv`` (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable, has other columns, a duplicate tag or an invalid row.
    """
    where = f"{_PACKAGE}/lexicon/{_PROFILE_FILE}"
    try:
        # joinpath one part at a time: also works while medlens.safety.deid is a namespace package
        text = resources.files(_PACKAGE).joinpath("lexicon").joinpath(_PROFILE_FILE).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise ConfigError(f"cannot read lexicon {where}: {exc}; reinstall medlens", code="ML205") from exc
    header: list[str] | None = None
    rows: list[ProfileRow] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            if tuple(cells) != _COLUMNS:
                raise ConfigError(f"lexicon {where}:{lineno}: columns must be {', '.join(_COLUMNS)}", code="ML205")
            header = cells
            continue
        if len(cells) != len(header):
            raise ConfigError(f"lexicon {where}:{lineno}: expected {len(header)} tab-separated cells", code="ML205")
        try:
            row = ProfileRow.model_validate(dict(zip(header, cells, strict=True)))
        except ValidationError as exc:
            raise ConfigError(f"lexicon {where}:{lineno}: invalid row: {exc}", code="ML205") from exc
        if row.tag in seen:
            raise ConfigError(f"lexicon {where}:{lineno}: duplicate tag {row.tag}", code="ML205")
        seen.add(row.tag)
        rows.append(row)
    if not rows:
        raise ConfigError(f"lexicon {where} has no rows", code="ML205")
    return BasicProfile(tuple(rows))
