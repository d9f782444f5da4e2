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

Sites without a stage table in :mod:`medlens.guidelines.ajcc` may carry their own size bands (``size_bands``, e.g.
adrenal cortical carcinoma). A site whose T combines several tumour features (liver: tumour count, size and vascular
invasion) carries a ``grid``: rows (focality, size range, vascular invasion) -> T that together cover every
combination. A feature the report does not state matches every row, and the lowest T among the rows still possible
is taken: again a floor (``source='tumour_features'``).

Decision support for review by a qualified reader, not for diagnostic use on its own.

Example:
    >>> t_from_extent("colon", ["submucosa", "beyond_muscularis_propria"]).category
    'T3'
    >>> t_from_extent("lung", ["visceral_pleura"], size_mm=45).category
    'T2b'
    >>> t_from_extent("liver", [], size_mm=30, focality="solitary", vascular_invasion="present").category
    'T2'
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
    "Focality",
    "GridRow",
    "SizeBand",
    "TInference",
    "extent_keys",
    "load_extent_site",
    "resolve_extent_site",
    "t_from_extent",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_GUIDELINE = "AJCC Cancer Staging Manual, 8th edition (Amin MB, et al., eds. Springer 2017)"

#: Site ids with encoded extent criteria; file ``lexicon/ajcc8_extent_<id>.yaml``.
EXTENT_SITES: tuple[str, ...] = ("colorectal", "stomach", "bladder", "kidney", "lung", "liver", "adrenal_cortex")

Focality = Literal["solitary", "multiple"]
Presence = Literal["present", "absent"]


class ExtentCriterion(BaseModel):
    """One T criterion: any of ``extents`` stated as present establishes at least ``t``."""

    model_config = _FROZEN

    id: str = Field(description="Criterion id (medlens), '<site>.<T>.<what>'.")
    t: str = Field(description="T (sub)category the criterion establishes, no prefix.")
    extents: tuple[str, ...] = Field(min_length=1, description="Extent keys (medlens vocabulary) that satisfy it.")
    label: str = Field(description="Short description in medlens's words (no AJCC wording).")


class SizeBand(BaseModel):
    """One size band of a site's own T table: ``above < size <= up_to`` (mm) gives ``category``."""

    model_config = _FROZEN

    category: str = Field(description="T (sub)category of the band.")
    above: float | None = Field(default=None, ge=0, description="Lower bound, exclusive (mm); None: from 0.")
    up_to: float | None = Field(default=None, gt=0, description="Upper bound, inclusive (mm); None: no bound.")

    def holds(self, size_mm: float) -> bool:
        """True when ``size_mm`` falls in the band."""
        return (self.above is None or size_mm > self.above) and (self.up_to is None or size_mm <= self.up_to)


class GridRow(BaseModel):
    """One row of a tumour-feature grid: focality, a size range and vascular invasion give a T (sub)category."""

    model_config = _FROZEN

    id: str = Field(description="Row id (medlens), '<site>.<T>.<what>'.")
    t: str = Field(description="T (sub)category, no prefix.")
    focality: Focality = Field(description="Solitary tumour or multiple tumours.")
    above: float | None = Field(default=None, ge=0, description="Largest tumour above this size (mm, exclusive).")
    up_to: float | None = Field(default=None, gt=0, description="Largest tumour at most this size (mm, inclusive).")
    vascular_invasion: Literal["present", "absent", "any"] = Field(description="Vascular invasion the row needs.")
    label: str = Field(description="Short description in medlens's words (no AJCC wording).")

    def possible(self, focality: Focality | None, size_mm: float | None, vascular: Presence | None) -> bool:
        """True when the row is consistent with the stated features (an unstated feature matches every row)."""
        if focality is not None and focality != self.focality:
            return False
        if size_mm is not None and not (
            (self.above is None or size_mm > self.above) and (self.up_to is None or size_mm <= self.up_to)
        ):
            return False
        return vascular is None or self.vascular_invasion in ("any", vascular)


class ExtentSiteTable(BaseModel):
    """Validated content of ``lexicon/ajcc8_extent_<site>.yaml``."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    site: str = Field(description="Site id (as in medlens.guidelines.ajcc where the site has a stage table).")
    aliases: tuple[str, ...] = Field(description="Site names accepted (lower case).")
    chapter: int = Field(description="Chapter of the AJCC 8th edition manual.")
    table: str = Field(description="Name of the T-definition table.")
    order: tuple[str, ...] = Field(description="T (sub)categories from lowest to highest (size bands included).")
    uses_size: bool = Field(
        description="True when T also depends on size: the file's size_bands, else the stage table's size_t bands."
    )
    size_bands: tuple[SizeBand, ...] = Field(
        default=(), description="The site's own size bands (sites without a stage table), lowest first."
    )
    grid: tuple[GridRow, ...] = Field(
        default=(), description="Tumour-feature grid (focality x size x vascular invasion), covering every case."
    )
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
        named = {b.category for b in self.size_bands} | {r.t for r in self.grid}
        if named - set(self.order):
            raise ValueError(f"size bands or grid rows name T categories missing from order: {sorted(named)}")
        if self.size_bands and not self.uses_size:
            raise ValueError("size_bands given but uses_size is false")
        return self


class TInference(BaseModel):
    """T inferred from stated extent and/or size: a floor the findings establish, not a stated pT."""

    model_config = _FROZEN

    site: str = Field(description="Site id.")
    category: str = Field(description="Highest T (sub)category the findings establish, no prefix, e.g. 'T3'.")
    inferred: Literal[True] = Field(default=True, description="Always True: inferred, not stated.")
    source: Literal["extent", "size", "tumour_features"] = Field(
        description="'extent' when an extent criterion gives the category (alone or tied), else 'size' (size band) "
        "or 'tumour_features' (grid of focality, size and vascular invasion)."
    )
    criteria: tuple[str, ...] = Field(description="Ids of the extent criteria that fired, lowest T first.")
    extents_used: tuple[str, ...] = Field(description="Extent keys that fired a criterion.")
    ignored: tuple[str, ...] = Field(default=(), description="Extent keys given that this site does not define.")
    size_mm: float | None = Field(default=None, description="Size used, mm (sites whose T uses size).")
    size_category: str | None = Field(
        default=None, description="T the size band (or, for a grid site, the tumour-feature grid) gives, when used."
    )
    focality: Focality | None = Field(default=None, description="Focality used by a grid site, when stated.")
    vascular_invasion: Presence | None = Field(
        default=None, description="Vascular invasion used by a grid site, when stated."
    )
    grid_rows: tuple[str, ...] = Field(
        default=(), description="Ids of the grid rows still possible; the lowest T among them was taken."
    )
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


def _size_category(table: ExtentSiteTable, canonical: str, size_mm: float | None) -> str | None:
    """T of the size band: the file's own bands, else the stage table's (None when size is unused or unknown)."""
    if not table.uses_size or size_mm is None:
        return None
    if table.size_bands:
        return next((b.category for b in table.size_bands if b.holds(size_mm)), None)
    by_size = ajcc.t_from_size(canonical, size_mm)
    return by_size.category if by_size is not None else None


def _grid_floor(
    table: ExtentSiteTable, focality: Focality | None, size_mm: float | None, vascular: Presence | None
) -> tuple[str | None, tuple[str, ...]]:
    """Lowest T among the grid rows the stated features leave possible, with those rows' ids."""
    if not table.grid or (focality is None and size_mm is None):
        return None, ()
    rank = {t: i for i, t in enumerate(table.order)}
    rows = [r for r in table.grid if r.possible(focality, size_mm, vascular)]
    if not rows:
        return None, ()
    return min(rows, key=lambda r: rank[r.t]).t, tuple(r.id for r in rows)


def t_from_extent(
    site: str,
    extents: Iterable[str],
    size_mm: float | None = None,
    *,
    focality: Focality | None = None,
    vascular_invasion: Presence | None = None,
) -> TInference | None:
    """The highest T category the stated extents (and size or tumour features, where T uses them) establish.

    Args:
        site: Site name, e.g. "colorectal" (or "colon", "rectum"), "stomach", "bladder", "kidney", "lung", "liver",
            "adrenal_cortex".
        extents: Extent keys stated as present (negated statements must already be left out).
        size_mm: Largest tumour dimension, mm; used only where the site's T uses size (kidney, lung, adrenal cortex,
            liver). For multiple tumours any stated size is a lower bound of the largest, which keeps the floor.
        focality: Solitary or multiple tumours, where stated (used by grid sites: liver).
        vascular_invasion: Vascular invasion stated present or absent (used by grid sites: liver).

    Returns:
        The inference, or None when the site has no extent criteria, or neither an extent nor (where used) the size
        or tumour features establish any category. A grid site needs the focality or the size to use its grid.

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
    grid_rows: tuple[str, ...] = ()
    if table.grid:
        size_t, grid_rows = _grid_floor(table, focality, size_mm, vascular_invasion)
        size_source: Literal["size", "tumour_features"] = "tumour_features"
    else:
        size_t, size_source = _size_category(table, canonical, size_mm), "size"
    if size_t is not None and size_t not in rank:
        size_t = None  # a size band outside the extent table's order (e.g. lung T1mi): leave size to the caller
    best_extent = max(fired, key=lambda c: rank[c.t], default=None)
    if best_extent is None and size_t is None:
        return None
    extent_rank = rank[best_extent.t] if best_extent is not None else -1
    size_rank = rank[size_t] if size_t is not None else -1
    source: Literal["extent", "size", "tumour_features"]
    if extent_rank >= size_rank and best_extent is not None:
        category, source = best_extent.t, "extent"
    else:
        assert size_t is not None
        category, source = size_t, size_source
    top = rank[category]
    higher = [(rank[c.t], f"{c.label} ({c.t})") for c in table.criteria if rank[c.t] > top]
    higher += [(rank[r.t], f"{r.label} ({r.t})") for r in table.grid if rank[r.t] > top]
    raised_by = tuple(dict.fromkeys(label for _, label in sorted(higher, key=lambda x: x[0])))
    uses_grid = bool(grid_rows)
    return TInference(
        site=canonical,
        category=category,
        source=source,
        criteria=tuple(c.id for c in sorted(fired, key=lambda c: rank[c.t])),
        extents_used=tuple(k for k in given if k in known),
        ignored=ignored,
        size_mm=size_mm if size_t is not None else None,
        size_category=size_t,
        focality=focality if uses_grid else None,
        vascular_invasion=vascular_invasion if uses_grid else None,
        grid_rows=grid_rows,
        raised_by=raised_by,
        citation=Citation(guideline=_GUIDELINE, version="8th edition", table=f"Chapter {table.chapter}, {table.table}"),
    )
