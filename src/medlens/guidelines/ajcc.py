"""AJCC Cancer Staging Manual, 8th edition: stage group from T, N and M categories (and PSA, Grade Group, age).

Source: Amin MB, et al., eds. AJCC Cancer Staging Manual, 8th edition (Springer, 2017). Each supported site's
stage-group table lives in ``lexicon/ajcc8_<site>.yaml`` as rows of facts (T set, N set, M set, extra conditions ->
group) with the chapter and table named in the file; no AJCC wording is reproduced. The loader checks that every
combination of the site's categories falls in exactly one row (no gaps, no overlaps); combinations the table does
not list are explicit rows without a group.

Outcomes (``StageResult.status``):
    * ``staged``: one group follows from the inputs. A component given as X or not given at all does not prevent
      staging when the group does not depend on it (e.g. any T, any N, M1c -> IVC for colorectal).
    * ``insufficient``: the group depends on a component (or PSA, Grade Group, age) that is X, missing or not
      recognised; ``missing`` names which.
    * ``ambiguous``: a main category without the sub-category the table needs (lung "T1" N0 -> IA1, IA2 or IA3);
      ``candidates`` lists the groups.
    * ``not_applicable``: site or classification not encoded, or the table assigns no group to the combination
      (e.g. breast ypT0 ypN0 cM0).

Decision support for review by a qualified reader, not for diagnostic use on its own.

Example:
    >>> stage("breast", "pT2", "pN1a", "cM0").stage_group
    'IIB'
    >>> stage("lung", "T1", "N0", "M0").candidates
    ('IA1', 'IA2', 'IA3')
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.core.errors import ConfigError, InputError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.guidelines.schema import Citation, LexiconHeader

__all__ = [
    "AJCC_SITES",
    "AjccBand",
    "AjccCategories",
    "AjccFactor",
    "AjccRow",
    "AjccSiteTable",
    "AjccSizeBand",
    "AjccSizeRule",
    "StageResult",
    "StageStatus",
    "TFromSize",
    "load_ajcc_site",
    "normalise_category",
    "stage",
    "supported_sites",
    "t_from_size",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_GUIDELINE = "AJCC Cancer Staging Manual, 8th edition (Amin MB, et al., eds. Springer 2017)"

#: Site ids with an encoded table, in the order they were added; file ``lexicon/ajcc8_<id>.yaml``.
AJCC_SITES: tuple[str, ...] = ("breast", "colorectal", "lung", "kidney", "bladder", "melanoma", "thyroid", "prostate")

StageStatus = Literal["staged", "insufficient", "ambiguous", "not_applicable"]
Component = Literal["T", "N", "M"]
FactorName = Literal["psa", "grade_group", "age"]
_ANY: Final = "any"
_H = TypeVar("_H", bound=Hashable)
_ResultFactory = Callable[..., "StageResult"]
_NO_GROUP = "no stage group"

# Prefixes: r (recurrence) or a (autopsy), y (after neoadjuvant therapy), c or p (clinical / pathological).
_CATEGORY_RE = re.compile(r"^(?P<prefix>[ra]?y?[cp]?)(?P<letter>[tnm])(?P<body>.*)$", re.IGNORECASE)
_PREFIX_RE = re.compile(r"^[ra]?y?[cp]?$")
# Descriptors that never change the category: (sn) sentinel node, (f) FNA/core biopsy, (m)/(mN) multiple tumours.
_DESCRIPTOR_RE = re.compile(r"\((?:sn|f|m\d*)\)", re.IGNORECASE)


def normalise_category(value: str, component: Component) -> tuple[str, str] | None:
    """Split a written category into (prefix, canonical spelling).

    The prefix letters (c, p, y, r, a) are lower-cased, the component letter upper-cased, X upper-cased and the rest
    lower-cased except inside a parenthesised site descriptor, which keeps the case of the lexicon
    (``"ypt1MI"`` -> ``("yp", "T1mi")``, ``"pN0(i+)"`` -> ``("p", "N0(i+)")``, ``"Tis (DCIS)"`` -> ``("", "Tis(dcis)")``
    before lexicon matching, which is case-insensitive). Whitespace and the descriptors (sn), (f) and (m) are dropped.

    Args:
        value: The category as written, e.g. "pT2a", "N1mi(sn)", "cM0".
        component: Which component the value must be.

    Returns:
        ``(prefix, spelling)``, or None when the value is not a category of that component.
    """
    compact = _DESCRIPTOR_RE.sub("", "".join(value.split()))
    match = _CATEGORY_RE.match(compact)
    if match is None or match.group("letter").upper() != component:
        return None
    body = match.group("body")
    if not body:
        return None
    body = "X" if body.lower() == "x" else body.lower()
    return match.group("prefix").lower(), component + body


class AjccCategories(BaseModel):
    """The categories of one component (T, N or M) as the stage table uses them."""

    model_config = _FROZEN

    x: str = Field(description="Spelling of 'cannot be assessed', e.g. 'TX'.")
    categories: tuple[str, ...] = Field(description="Categories the table's rows are written in (the domain).")
    subcategories: dict[str, str] = Field(
        default_factory=dict, description="Spelling -> table category it stages as (e.g. T1mi -> T1 for breast)."
    )
    main: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Main category written without the sub-category the table needs -> the categories it may be.",
    )
    pathological: dict[str, str] = Field(
        default_factory=dict, description="Spelling -> category, used only under the pathological classification."
    )
    clinical_only: tuple[str, ...] = Field(
        default=(), description="Categories that exist only in the clinical classification."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AjccCategories:
        known = set(self.categories)
        targets = list(self.subcategories.values()) + list(self.pathological.values())
        targets += [c for values in self.main.values() for c in values] + list(self.clinical_only)
        unknown = sorted(set(targets) - known)
        if unknown:
            raise ValueError(f"categories referenced but not declared: {unknown}")
        clash = sorted((set(self.subcategories) | set(self.main)) & known)
        if clash:
            raise ValueError(f"spellings declared both as category and as sub/main category: {clash}")
        return self


class AjccBand(BaseModel):
    """One band of a numeric factor: ``min <= value < max``."""

    model_config = _FROZEN

    id: str = Field(description="Band id used in rows.")
    min: float | None = Field(default=None, description="Inclusive lower bound.")
    max: float | None = Field(default=None, description="Exclusive upper bound.")


class AjccFactor(BaseModel):
    """A non-anatomic factor the table needs (PSA, Grade Group, age at diagnosis)."""

    model_config = _FROZEN

    name: FactorName = Field(description="Keyword argument of ``stage`` that supplies the value.")
    unit: str = Field(description="Unit of the value, e.g. 'ng/mL', 'years'.")
    bands: tuple[AjccBand, ...] = Field(description="Contiguous bands, lowest first.")

    @model_validator(mode="after")
    def _contiguous(self) -> AjccFactor:
        for low, high in itertools.pairwise(self.bands):
            if low.max is None or low.max != high.min:
                raise ValueError(f"factor {self.name}: bands {low.id} and {high.id} are not contiguous")
        return self

    def band(self, value: float) -> str | None:
        """Id of the band holding ``value``, or None."""
        for band in self.bands:
            if (band.min is None or value >= band.min) and (band.max is None or value < band.max):
                return band.id
        return None


Selector = tuple[str, ...] | Literal["any"]


class AjccRow(BaseModel):
    """One line of a stage table: the sets a case must fall in, and the group (None: the table assigns none)."""

    model_config = _FROZEN

    id: str = Field(description="Row id (medlens), reported as the rule.")
    t: Selector = Field(description="T categories, or 'any'.")
    n: Selector = Field(description="N categories, or 'any'.")
    m: Selector = Field(description="M categories, or 'any'.")
    psa: Selector = Field(default=_ANY, description="PSA band ids, or 'any'.")
    grade_group: Selector = Field(default=_ANY, description="Grade Group band ids, or 'any'.")
    age: Selector = Field(default=_ANY, description="Age band ids, or 'any'.")
    group: str | None = Field(description="Stage group, or null where the table assigns no group.")
    note: str = Field(default="", description="Why the row reads as it does, when not obvious.")

    def selector(self, key: str) -> Selector:
        """The selector for a component ('t', 'n', 'm') or factor name."""
        value: Selector = getattr(self, key)
        return value


class AjccSizeBand(BaseModel):
    """T by size: ``above < size <= up_to`` (mm)."""

    model_config = _FROZEN

    category: str = Field(description="T category assigned.")
    above: float | None = Field(default=None, description="Exclusive lower bound, mm.")
    up_to: float | None = Field(default=None, description="Inclusive upper bound, mm.")


class AjccSizeRule(BaseModel):
    """Where the T definition is purely size-based below the extension criteria."""

    model_config = _FROZEN

    measure: str = Field(description="What is measured.")
    bands: tuple[AjccSizeBand, ...] = Field(description="Contiguous bands, smallest first.")
    raised_by: tuple[str, ...] = Field(description="Other criteria that give a higher T whatever the size.")
    lowered_by: tuple[str, ...] = Field(default=(), description="Criteria that give a lower T whatever the size.")

    @model_validator(mode="after")
    def _contiguous(self) -> AjccSizeRule:
        if not self.bands or self.bands[0].above is not None or self.bands[-1].up_to is not None:
            raise ValueError("size bands must start unbounded below and end unbounded above")
        for low, high in itertools.pairwise(self.bands):
            if low.up_to is None or low.up_to != high.above:
                raise ValueError(f"size bands {low.category} and {high.category} are not contiguous")
        return self


class AjccSiteTable(BaseModel):
    """Validated content of ``lexicon/ajcc8_<site>.yaml``: categories, rows and the optional size rule."""

    model_config = _FROZEN

    header: LexiconHeader = Field(description="Provenance.")
    site: str = Field(description="Site id.")
    aliases: tuple[str, ...] = Field(description="Site names accepted by ``stage`` (lower case).")
    chapter: int = Field(description="Chapter of the AJCC 8th edition manual.")
    table: str = Field(description="Name of the stage-group table.")
    classifications: tuple[Literal["c", "p"], ...] = Field(description="Classifications the table applies to.")
    post_therapy: bool = Field(description="True when y-prefixed (post-therapy) cases use the same table.")
    t: AjccCategories = Field(description="T categories.")
    n: AjccCategories = Field(description="N categories.")
    m: AjccCategories = Field(description="M categories.")
    factors: tuple[AjccFactor, ...] = Field(default=(), description="Non-anatomic factors the table needs.")
    x_rows: tuple[AjccRow, ...] = Field(
        default=(), description="Rows the table writes with an X category (matched before X is read as unknown)."
    )
    rows: tuple[AjccRow, ...] = Field(description="Rows covering every combination of the categories exactly once.")
    size_t: AjccSizeRule | None = Field(default=None, description="T by size, where the site defines it.")

    @property
    def keys(self) -> tuple[str, ...]:
        """Row keys in lookup order: t, n, m, then the factor names."""
        return ("t", "n", "m", *(f.name for f in self.factors))

    @model_validator(mode="after")
    def _exhaustive(self) -> AjccSiteTable:
        keys = ("t", "n", "m", *(f.name for f in self.factors))
        domains = {k: _domain(self, k) for k in keys}
        seen: set[str] = set()
        for row in (*self.rows, *self.x_rows):
            if row.id in seen:
                raise ValueError(f"duplicate row id {row.id}")
            seen.add(row.id)
            for key in ("t", "n", "m", "psa", "grade_group", "age"):
                selector = row.selector(key)
                if key not in keys:
                    if selector != _ANY:
                        raise ValueError(f"row {row.id}: {key} is not a factor of this site")
                    continue
                if selector == _ANY:
                    continue
                allowed = set(domains[key])
                if row in self.x_rows and key in ("t", "n", "m"):
                    allowed.add(getattr(self, key).x)
                bad = sorted(set(selector) - allowed)
                if bad:
                    raise ValueError(f"row {row.id}: unknown {key} values {bad}")
        if (
            not any(
                row.selector(k) != _ANY and getattr(self, k).x in row.selector(k)
                for row in self.x_rows
                for k in ("t", "n", "m")
            )
            and self.x_rows
        ):
            raise ValueError("every x_row must name an X category")
        for combo in itertools.product(*(domains[k] for k in keys)):
            hits = [row.id for row in self.rows if _row_covers(row, keys, combo)]
            if len(hits) != 1:
                what = "no row" if not hits else f"rows {hits}"
                raise ValueError(f"combination {dict(zip(keys, combo, strict=True))} matches {what}")
        for a, b in itertools.combinations(self.x_rows, 2):
            if all(_selectors_overlap(a.selector(k), b.selector(k)) for k in keys):
                raise ValueError(f"x_rows {a.id} and {b.id} overlap")
        return self


def _domain(table: AjccSiteTable, key: str) -> tuple[str, ...]:
    if key in ("t", "n", "m"):
        spec: AjccCategories = getattr(table, key)
        return spec.categories
    return tuple(b.id for f in table.factors if f.name == key for b in f.bands)


def _row_covers(row: AjccRow, keys: Iterable[str], combo: Iterable[str]) -> bool:
    for key, value in zip(keys, combo, strict=True):
        selector = row.selector(key)
        if selector != _ANY and value not in selector:
            return False
    return True


def _selectors_overlap(a: Selector, b: Selector) -> bool:
    return a == _ANY or b == _ANY or bool(set(a) & set(b))


class StageResult(BaseModel):
    """AJCC 8th edition stage group of one case (decision support, to be confirmed by a qualified reader)."""

    model_config = _FROZEN

    site: str = Field(description="Site id (as encoded), or the name given when the site is not supported.")
    status: StageStatus = Field(description="staged, insufficient, ambiguous or not_applicable.")
    stage_group: str | None = Field(description="Stage group when status is 'staged', else None.")
    candidates: tuple[str, ...] = Field(
        default=(), description="Groups the inputs allow when not staged (table order); 'no stage group' included."
    )
    missing: tuple[str, ...] = Field(
        default=(),
        description="Inputs the group depends on that are X, missing or unrecognised ('T', 'N', 'M', 'psa', ...).",
    )
    needs_subcategory: tuple[str, ...] = Field(
        default=(), description="Components given as a main category where the table needs the sub-category."
    )
    classification: str = Field(description="Prefix used: c, p, yc, yp (with r or a when given).")
    t: str | None = Field(description="T as normalised (canonical spelling), or None.")
    n: str | None = Field(description="N as normalised, or None.")
    m: str | None = Field(description="M as normalised, or None.")
    rule: str = Field(description="Row id(s) that fired, '<site>.<row>', or the reason code when none did.")
    citation: Citation | None = Field(description="Manual, chapter and table; None when the site is not supported.")
    reasons: tuple[str, ...] = Field(description="Steps, with the values used.")


class TFromSize(BaseModel):
    """T category from tumour size alone: a size-only reading, not the T of the case."""

    model_config = _FROZEN

    site: str = Field(description="Site id.")
    category: str = Field(description="T category the size alone gives, e.g. 'T1c'.")
    inferred: Literal[True] = Field(default=True, description="Always True: inferred from size, not stated.")
    size_mm: float = Field(description="Size used, mm.")
    measure: str = Field(description="What the size must be, per the site's definition.")
    raised_by: tuple[str, ...] = Field(description="Other criteria that would give a higher T (size is a floor).")
    lowered_by: tuple[str, ...] = Field(description="Criteria that would give a lower T regardless of size.")
    citation: Citation = Field(description="Manual, chapter and table.")


@functools.cache
def load_ajcc_site(site: str) -> AjccSiteTable:
    """Load and validate one site's packaged table (cached).

    Args:
        site: A site id from :data:`AJCC_SITES`.

    Raises:
        ConfigError: ML205 if the packaged file is missing, invalid, or its rows leave a gap or overlap.
        KeyError: if ``site`` is not an encoded site id.
    """
    if site not in AJCC_SITES:
        raise KeyError(site)
    table = load_yaml_lexicon("medlens.guidelines", f"ajcc8_{site}.yaml", AjccSiteTable)
    if table.site != site:
        raise ConfigError(f"lexicon ajcc8_{site}.yaml declares site {table.site!r}; expected {site!r}", code="ML205")
    return table


@functools.cache
def _site_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for site in AJCC_SITES:
        for alias in (site, *load_ajcc_site(site).aliases):
            index[alias.lower()] = site
    return index


def supported_sites() -> tuple[str, ...]:
    """Site ids with an encoded table."""
    return AJCC_SITES


def _resolve_site(site: str) -> str | None:
    return _site_index().get(re.sub(r"[\s\-]+", "_", site.strip().lower()))


@functools.cache
def _site_citation(site: str) -> Citation:
    table = load_ajcc_site(site)
    return Citation(guideline=_GUIDELINE, version="8th edition", table=f"Chapter {table.chapter}, {table.table}")


class _Resolved:
    """One input resolved against a site: its canonical spelling and the table values it may be."""

    __slots__ = ("kind", "spelling", "values")

    def __init__(
        self, kind: Literal["exact", "main", "unknown", "unrecognised"], spelling: str | None, values: tuple[str, ...]
    ) -> None:
        self.kind = kind
        self.spelling = spelling
        self.values = values


@functools.cache
def _lookups(site: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per component and classification: lower-cased spelling -> table values (exact or main)."""
    table = load_ajcc_site(site)
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for key in ("t", "n", "m"):
        spec: AjccCategories = getattr(table, key)
        for base in ("c", "p"):
            excluded = set(spec.clinical_only) if base == "p" else set(spec.pathological.values())
            mapping: dict[str, tuple[str, ...]] = {}
            for cat in spec.categories:
                if cat not in excluded:
                    mapping[cat.lower()] = (cat,)
            for spelling, cat in spec.subcategories.items():
                if cat not in excluded:
                    mapping[spelling.lower()] = (cat,)
            for spelling, cats in spec.main.items():
                kept = tuple(c for c in cats if c not in excluded)
                if kept:
                    mapping[spelling.lower()] = kept
            if base == "p":
                for spelling, cat in spec.pathological.items():
                    mapping[spelling.lower()] = (cat,)
            mapping["<domain>"] = tuple(c for c in spec.categories if c not in excluded)
            out[f"{key}.{base}"] = mapping
    return out


def _resolve(site: str, key: str, base: str, spelling: str | None) -> _Resolved:
    mapping = _lookups(site)[f"{key}.{base}"]
    table = load_ajcc_site(site)
    spec: AjccCategories = getattr(table, key)
    if spelling is None or spelling == spec.x:
        return _Resolved("unknown", spelling, mapping["<domain>"])
    values = mapping.get(spelling.lower())
    if values is None:
        return _Resolved("unrecognised", spelling, ())
    main_spellings = {s.lower() for s in spec.main}
    kind: Literal["exact", "main"] = "main" if spelling.lower() in main_spellings and len(values) > 1 else "exact"
    return _Resolved(kind, spelling, values)


def _resolve_factor(factor: AjccFactor, value: float | None) -> _Resolved:
    if value is None:
        return _Resolved("unknown", None, tuple(b.id for b in factor.bands))
    if math.isnan(value):
        return _Resolved("unrecognised", None, ())
    band = factor.band(value)
    return _Resolved("exact", band, (band,)) if band is not None else _Resolved("unrecognised", None, ())


def _parse(value: str | None, component: Component) -> tuple[str, str | None] | None:
    """(prefix, spelling) of an input; ("", None) when absent; None when not a category of the component."""
    if value is None or not value.strip():
        return "", None
    return normalise_category(value, component)


def stage(
    site: str,
    t: str | None,
    n: str | None,
    m: str | None,
    *,
    prefix: str = "p",
    grade: int | None = None,
    psa: float | None = None,
    grade_group: int | None = None,
    age: float | None = None,
) -> StageResult:
    """AJCC 8th edition stage group of one case.

    Args:
        site: Site name, e.g. "breast", "colorectal" (or "colon", "rectum"), "lung".
        t: T category as written ("pT2a", "T1mi", "Tis", "TX", "ypT0"), or None when not given.
        n: N category ("pN1mi", "N0(i+)", "N2b", "NX"), or None.
        m: M category ("cM0", "M1c"), or None. An absent M is not assumed to be M0.
        prefix: Classification used when T carries no prefix: "c", "p", "yc", "yp" (r or a may lead).
        grade: Histologic grade. Not used by any encoded table (anatomic groups); accepted for a stable signature.
        psa: Serum PSA, ng/mL (prostate, when encoded).
        grade_group: Grade Group 1-5 (prostate, when encoded).
        age: Age at diagnosis, years (differentiated thyroid, when encoded).

    Returns:
        The frozen result; see the module docstring for the four statuses.

    Raises:
        InputError: ML104 when ``prefix`` is not a valid classification prefix.
    """
    if not _PREFIX_RE.match(prefix) or not prefix.strip():
        raise InputError(f"invalid classification prefix {prefix!r}; expected one of c, p, yc, yp", code="ML104")
    parsed = {"t": _parse(t, "T"), "n": _parse(n, "N"), "m": _parse(m, "M")}
    given_prefix = next((p[0] for k in ("t", "n") if (p := parsed[k]) is not None and p[0]), prefix)
    classification = given_prefix if given_prefix[-1:] in ("c", "p") else given_prefix + prefix[-1]
    spellings = {k: (p[1] if p is not None else None) for k, p in parsed.items()}
    reasons: list[str] = []
    canonical = _resolve_site(site)

    def result(
        status: StageStatus,
        rule: str,
        table: AjccSiteTable | None,
        *,
        stage_group: str | None = None,
        candidates: tuple[str, ...] = (),
        missing: tuple[str, ...] = (),
        needs_subcategory: tuple[str, ...] = (),
    ) -> StageResult:
        return StageResult(
            site=canonical or site,
            status=status,
            stage_group=stage_group,
            candidates=candidates,
            missing=missing,
            needs_subcategory=needs_subcategory,
            classification=classification,
            t=spellings["t"],
            n=spellings["n"],
            m=spellings["m"],
            rule=rule,
            citation=_site_citation(table.site) if table is not None else None,
            reasons=tuple(reasons),
        )

    if canonical is None:
        reasons.append(f"site not encoded; supported: {', '.join(AJCC_SITES)}")
        return result("not_applicable", "not_applicable.site", None)
    table = load_ajcc_site(canonical)
    base = classification[-1]
    if base not in table.classifications or ("y" in classification and not table.post_therapy):
        reasons.append(
            f"{canonical}: classification {classification!r} not encoded (table applies to "
            f"{', '.join(table.classifications)}{', y' if table.post_therapy else ''})"
        )
        return result("not_applicable", "not_applicable.classification", table)
    if grade is not None:
        reasons.append("grade given: not used by the anatomic stage table")
    resolved: dict[str, _Resolved] = {}
    for key in ("t", "n", "m"):
        if parsed[key] is None:
            resolved[key] = _Resolved("unrecognised", None, ())
        else:
            resolved[key] = _resolve(canonical, key, base, spellings[key])
    supplied = {"psa": psa, "grade_group": grade_group, "age": age}
    for factor in table.factors:
        resolved[factor.name] = _resolve_factor(factor, supplied[factor.name])
    for name, value in supplied.items():
        if value is not None and name not in resolved:
            reasons.append(f"{name} given: not used by the {canonical} table")
    unrecognised = [k for k, r in resolved.items() if r.kind == "unrecognised"]
    if unrecognised:
        labels = tuple(_label(k) for k in unrecognised)
        reasons.append(f"{', '.join(labels)}: value not recognised as a {canonical} category of the 8th edition")
        return result("insufficient", "insufficient.unrecognised", table, missing=labels)
    return _decide(canonical, table, resolved, reasons, result)


def _label(key: str) -> str:
    return key.upper() if key in ("t", "n", "m") else key


def _decide(
    site: str, table: AjccSiteTable, resolved: Mapping[str, _Resolved], reasons: list[str], result: _ResultFactory
) -> StageResult:
    keys = table.keys
    # Every combination the inputs allow; X or missing inputs range over the whole domain, except that a row the
    # table writes with an X category (lung TX N0 M0, thyroid NX at 55 or older) takes the X as given.
    index = _row_index(site)
    x_given = [
        i for i, k in enumerate(keys) if k in ("t", "n", "m") and resolved[k].kind == "unknown" and resolved[k].spelling
    ]
    all_rows = (*table.x_rows, *table.rows)
    position = {row.id: i for i, row in enumerate(all_rows)}
    outcomes: dict[tuple[str, ...], AjccRow] = {}
    for combo in itertools.product(*(resolved[k].values for k in keys)):
        row = _x_row_for(table, keys, combo, x_given, resolved) if x_given and table.x_rows else None
        outcomes[combo] = row if row is not None else table.rows[index[combo]]
    # Table order, so candidates read as in the manual.
    fired = sorted({row.id: row for row in outcomes.values()}.values(), key=lambda r: position[r.id])
    groups = _ordered(row.group for row in fired)
    row_ids = [row.id for row in fired]
    rule = "|".join(f"{site}.{r}" for r in row_ids)
    if len(groups) == 1:
        group = groups[0]
        notes = _ordered(row.note for row in fired if row.note)
        if group is None:
            reasons.append(
                f"the {site} table assigns no stage group to this combination"
                + (f" ({'; '.join(notes)})" if notes else "")
            )
            return result("not_applicable", rule, table)
        unknown = [_label(k) for k in keys if resolved[k].kind == "unknown"]
        if unknown:
            reasons.append(f"{', '.join(unknown)} not given or X; the group does not depend on it")
        reasons.append(f"row {', '.join(row_ids)} -> {group}" + (f" ({'; '.join(notes)})" if notes else ""))
        return result("staged", rule, table, stage_group=group)
    candidates = tuple(g for g in groups if g is not None) + ((_NO_GROUP,) if None in groups else ())
    varying = [k for k in keys if len(resolved[k].values) > 1]
    matters = [k for k in varying if _depends_on(keys.index(k), outcomes)]
    unknown = [k for k in matters if resolved[k].kind == "unknown"]
    if not unknown and not any(resolved[k].kind == "main" for k in matters):
        unknown = [k for k in varying if resolved[k].kind == "unknown"]
    if unknown:
        missing = tuple(_label(k) for k in unknown)
        reasons.append(f"{', '.join(missing)} not given, X or not assessed; possible groups: {', '.join(candidates)}")
        return result("insufficient", "insufficient.missing", table, missing=missing, candidates=candidates)
    needs = tuple(_label(k) for k in matters if resolved[k].kind == "main") or tuple(
        _label(k) for k in varying if resolved[k].kind == "main"
    )
    reasons.append(f"{', '.join(needs)} needs its sub-category; possible groups: {', '.join(candidates)}")
    return result("ambiguous", "ambiguous.subcategory", table, needs_subcategory=needs, candidates=candidates)


def _x_row_for(
    table: AjccSiteTable,
    keys: tuple[str, ...],
    combo: tuple[str, ...],
    x_given: list[int],
    resolved: Mapping[str, _Resolved],
) -> AjccRow | None:
    """The x_row matching ``combo`` with the X components read as written, or None."""
    for row in table.x_rows:
        for i, key in enumerate(keys):
            selector = row.selector(key)
            value = resolved[key].spelling if i in x_given else combo[i]
            if selector != _ANY and value not in selector:
                break
        else:
            return row
    return None


@functools.cache
def _row_index(site: str) -> dict[tuple[str, ...], int]:
    """Every combination of the site's domain -> index of its (unique) row; built once per site."""
    table = load_ajcc_site(site)
    keys = table.keys
    index: dict[tuple[str, ...], int] = {}
    for combo in itertools.product(*(_domain(table, k) for k in keys)):
        index[combo] = next(i for i, row in enumerate(table.rows) if _row_covers(row, keys, combo))
    return index


def _ordered(items: Iterable[_H]) -> list[_H]:
    return list(dict.fromkeys(items))


def _depends_on(position: int, outcomes: Mapping[tuple[str, ...], AjccRow]) -> bool:
    """True when changing only the value at ``position`` changes the group for some fixed rest."""
    by_rest: dict[tuple[str, ...], set[str | None]] = {}
    for combo, row in outcomes.items():
        by_rest.setdefault(combo[:position] + combo[position + 1 :], set()).add(row.group)
    return any(len(groups) > 1 for groups in by_rest.values())


def t_from_size(site: str, size_mm: float) -> TFromSize | None:
    """T category from the tumour size alone, where the site's T definition is size-based below extension criteria.

    Sizes are compared as given (``above < size <= up_to``, mm); apply the manual's measurement and rounding rules
    before calling. The result is marked ``inferred`` and lists the criteria that would give a higher T
    (``raised_by``: the size-based T is a floor) or a lower one (``lowered_by``, e.g. lung Tis/T1mi by histology).

    Args:
        site: Site name, as for :func:`stage`.
        size_mm: Size in millimetres, > 0 (what is measured: ``TFromSize.measure``).

    Returns:
        The size-only T, or None where the site is not encoded or its T is not defined by size
        (e.g. colorectal, by depth of invasion).

    Raises:
        InputError: ML104 when ``size_mm`` is not a positive finite number.
    """
    if not math.isfinite(size_mm) or size_mm <= 0:
        raise InputError("tumour size must be a positive number of millimetres", code="ML104")
    canonical = _resolve_site(site)
    if canonical is None:
        return None
    table = load_ajcc_site(canonical)
    rule = table.size_t
    if rule is None:
        return None
    band = next(
        b for b in rule.bands if (b.above is None or size_mm > b.above) and (b.up_to is None or size_mm <= b.up_to)
    )
    return TFromSize(
        site=canonical,
        category=band.category,
        size_mm=size_mm,
        measure=rule.measure,
        raised_by=rule.raised_by,
        lowered_by=rule.lowered_by,
        citation=_site_citation(canonical),
    )
