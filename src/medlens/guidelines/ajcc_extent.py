"""AJCC 8th edition: T category from the stated extent of the primary tumour (and its size, where T needs it).

Many pathology reports state no pT but say how far the tumour reaches ("through the muscularis propria into
pericolic fat", "invades the visceral pleura"). For the sites below, the manual defines T by such extents; each
site's criteria live in ``lexicon/ajcc8_extent_<site>.yaml`` as facts (extent keys -> T) with the chapter and table
named in the file, in medlens's own words.

Extent keys are a shared vocabulary (``muscularis_propria``, ``visceral_pleura``, ``perinephric_fat``...) that
:mod:`medlens.pathology.extent` reads from report text. A key the site does not define is ignored (``ignored``).
:func:`t_from_extent` returns the highest T the stated extents (and, for kidney and lung, the size band of
:func:`medlens.guidelines.ajcc.t_from_size`) establish: always marked ``inferred``, with the criteria that fired and
the higher criteria that the report would have to state to raise it. Absence of a statement is not evidence of
absence, so the result is a floor, never a ceiling.

Decision support for review by a qualified reader, not for diagnostic use on its own.

Example:
    >>> t_from_extent("colon", ["submucosa", "beyond_muscularis_propria"]).category
    'T3'
    >>> t_from_extent("lung", ["visceral_pleura"], size_mm=45).category
    'T2b'
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.errors import InputError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.guidelines import ajcc
from medlens.guidelines.schema import Citation, LexiconHeader

__all__ = [
    "EXTENT_SITES",
    "ExtentCriterion",
    "ExtentSiteTable",
    "TInference",
    "extent_keys",
    "load_extent_site",
    "resolve_extent_site",
    "t_from_extent",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_GUIDELINE = "AJCC Cancer Staging Manual, 8th edition (Amin MB, et al., eds. Springer 2017)"

#: Site ids with encoded extent criteria; file ``lexicon/ajcc8_extent_<id>.yaml``.
EXTENT_SITES: tuple[str, ...] = ("colorectal", "stomach", "bladder", "kidney", "lung")


class ExtentCriterion(BaseModel):
    """One T criterion: any of ``extents`` stated as present establishes at least ``t``."""

    model_config = _FROZEN

    id: str = Field(description="Criterion id (medlens), '<site>.<T>.<what>'.")
    t: str = Field(description="T (sub)category the criterion establishes, no prefix.")
    extents: tuple[str, ...] = Field(min_length=1, description="Extent keys (medlens vocabulary) that satisfy it.")
    label: str = Field(description="Short description in medlens's words (no AJCC wording).")


class ExtentSiteTable(BaseModel):
    """Validated content of ``lexicon/ajcc8_extent_<site>.yaml``."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    site: str = Field(description="Site id (as in medlens.guidelines.ajcc where the site has a stage table).")
    aliases: tuple[str, ...] = Field(description="Site names accepted (lower case).")
    chapter: int = Field(description="Chapter of the AJCC 8th edition manual.")
    table: str = Field(description="Name of the T-definition table.")
    order: tuple[str, ...] = Field(description="T (sub)categories from lowest to highest (size bands included).")
    uses_size: bool = Field(description="True when T also depends on size (the stage table's size_t bands).")
    criteria: tuple[ExtentCriterion, ...] = Field(min_length=1, description="Extent criteria, lowest T first.")

    @model_validator(mode="after")
    def _consistent(self) -> ExtentSiteTable:
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate criterion ids")
        unknown = sorted({c.t for c in self.criteria} - set(self.order))
        if unknown:
            raise ValueError(f"criteria name T categories missing from order: {unknown}")
        keys = [k for c in self.criteria for k in c.extents]
        if len(set(keys)) != len(keys):
            raise ValueError("an extent key appears in more than one criterion")
        return self


class TInference(BaseModel):
    """T inferred from stated extent and/or size: a floor the findings establish, not a stated pT."""

    model_config = _FROZEN

    site: str = Field(description="Site id.")
    category: str = Field(description="Highest T (sub)category the findings establish, no prefix, e.g. 'T3'.")
    inferred: Literal[True] = Field(default=True, description="Always True: inferred, not stated.")
    source: Literal["extent", "size"] = Field(
        description="'extent' when an extent criterion gives the category (alone or tied with size), else 'size'."
    )
    criteria: tuple[str, ...] = Field(description="Ids of the extent criteria that fired, lowest T first.")
    extents_used: tuple[str, ...] = Field(description="Extent keys that fired a criterion.")
    ignored: tuple[str, ...] = Field(default=(), description="Extent keys given that this site does not define.")
    size_mm: float | None = Field(default=None, description="Size used, mm (sites whose T uses size).")
    size_category: str | None = Field(default=None, description="T the size alone gives, when used.")
    raised_by: tuple[str, ...] = Field(description="Labels of criteria that would give a higher T (with their T).")
    citation: Citation = Field(description="Manual, chapter and T-definition table.")


@functools.cache
def load_extent_site(site: str) -> ExtentSiteTable:
    """Load and validate one site's packaged extent criteria (cached).

    Args:
        site: A site id from :data:`EXTENT_SITES`.

    Raises:
        ConfigError: ML205 if the packaged file is missing or invalid.
        KeyError: if ``site`` is not an encoded site id.
    """
    if site not in EXTENT_SITES:
        raise KeyError(site)
    return load_yaml_lexicon("medlens.guidelines", f"ajcc8_extent_{site}.yaml", ExtentSiteTable)


@functools.cache
def _alias_index() -> dict[str, str]:
    return {alias.lower(): site for site in EXTENT_SITES for alias in (site, *load_extent_site(site).aliases)}


def resolve_extent_site(site: str) -> str | None:
    """Site id with extent criteria for a site name ('colon' -> 'colorectal'), or None."""
    return _alias_index().get(re.sub(r"[\s\-]+", "_", site.strip().lower()))


def extent_keys(site: str) -> frozenset[str]:
    """Extent keys a site defines (empty for a site without extent criteria)."""
    canonical = resolve_extent_site(site)
    if canonical is None:
        return frozenset()
    return frozenset(k for c in load_extent_site(canonical).criteria for k in c.extents)


def t_from_extent(site: str, extents: Iterable[str], size_mm: float | None = None) -> TInference | None:
    """The highest T category the stated extents (and size, where T uses it) establish.

    Args:
        site: Site name, e.g. "colorectal" (or "colon", "rectum"), "stomach", "bladder", "kidney", "lung".
        extents: Extent keys stated as present (negated statements must already be left out).
        size_mm: Largest tumour dimension, mm; used only where the site's T uses size (kidney, lung).

    Returns:
        The inference, or None when the site has no extent criteria, or neither an extent nor (where used) the size
        establishes any category.

    Raises:
        InputError: ML104 when ``size_mm`` is given but not a positive finite number.
    """
    if size_mm is not None and (not math.isfinite(size_mm) or size_mm <= 0):
        raise InputError("tumour size must be a positive number of millimetres", code="ML104")
    canonical = resolve_extent_site(site)
    if canonical is None:
        return None
    table = load_extent_site(canonical)
    rank = {t: i for i, t in enumerate(table.order)}
    given = tuple(dict.fromkeys(extents))
    fired = [c for c in table.criteria if any(k in c.extents for k in given)]
    known = {k for c in table.criteria for k in c.extents}
    ignored = tuple(k for k in given if k not in known)
    by_size = ajcc.t_from_size(canonical, size_mm) if table.uses_size and size_mm is not None else None
    if by_size is not None and by_size.category not in rank:
        by_size = None  # a size band outside the extent table's order (e.g. lung T1mi): leave size to the caller
    best_extent = max(fired, key=lambda c: rank[c.t], default=None)
    if best_extent is None and by_size is None:
        return None
    extent_rank = rank[best_extent.t] if best_extent is not None else -1
    size_rank = rank[by_size.category] if by_size is not None else -1
    if extent_rank >= size_rank and best_extent is not None:
        category, source = best_extent.t, "extent"
    else:
        assert by_size is not None
        category, source = by_size.category, "size"
    top = rank[category]
    raised_by = tuple(f"{c.label} ({c.t})" for c in table.criteria if rank[c.t] > top)
    return TInference(
        site=canonical,
        category=category,
        source=source,
        criteria=tuple(c.id for c in sorted(fired, key=lambda c: rank[c.t])),
        extents_used=tuple(k for k in given if k in known),
        ignored=ignored,
        size_mm=size_mm if by_size is not None else None,
        size_category=by_size.category if by_size is not None else None,
        raised_by=raised_by,
        citation=Citation(guideline=_GUIDELINE, version="8th edition", table=f"Chapter {table.chapter}, {table.table}"),
    )
