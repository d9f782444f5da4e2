"""pathology.stage, rules backend: AJCC 8th edition stage group from the fields ``pathology.extract`` reads.

One pass per report:

1. :func:`~medlens.pathology.extract.extract_pathology` (pure; cached per text so ``pathology.synoptic`` in the same
   process does not read the report twice).
2. Site: the TCGA cancer type maps to an AJCC site id through ``lexicon/ajcc_sites.yaml`` (a study staged in
   several chapters, such as head and neck or sarcoma, maps to none, with the reason); without a cancer type, the
   organ of the specimens does (one organ only).
3. :func:`medlens.guidelines.ajcc.stage` with the stated pT, pN and pM, each with its own prefix. When pT is not
   stated and the engine defines T by size for the site (breast, lung), T comes from
   :func:`~medlens.guidelines.ajcc.t_from_size` on the tumour size: ``t_inferred=True``, and the reasons say the size
   gives only a floor (extension criteria can raise it). Where the site has extent criteria (colorectal, stomach,
   bladder, kidney, lung), the extent statements of :mod:`medlens.pathology.extent` come first, through
   :func:`medlens.guidelines.ajcc_extent.t_from_extent` (``t_source='extent'`` or ``'size'``); a stated pT lower
   than the extents establish is kept and flagged ``t_below_extent``. Where T combines tumour features (liver:
   tumour count from :mod:`medlens.pathology.focality`, size, and the extracted lymphovascular invasion), the site's
   grid gives a floor (``t_source='tumour_features'``). M is never assumed unless ``assume_cm0=True``.
4. The stated stage group, if any, is compared with the computed one (``agreement``); a disagreement is a review
   flag, not an error.

Decision support for review by a qualified reader, not for diagnostic use on its own.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Document, Evidence
from medlens.guidelines import ajcc, ajcc_extent
from medlens.pathology.extent import ExtentFinding, find_extents, select_extents
from medlens.pathology.focality import FocalityFinding, find_focality, select_focality
from medlens.pathology.schema import Grade, PathologyFields, TNMCategory
from medlens.pathology.stage_schema import PathologyStage, PathologyStageResult, StageAgreement, TSource

__all__ = [
    "AjccSitesLexicon",
    "NodeCountRule",
    "PathologyStageRules",
    "SizeTPolicy",
    "ajcc_site_for",
    "compare_stage",
    "extract_fields",
    "grade_group",
    "load_ajcc_sites",
    "stage_document",
    "stage_fields",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
# Prefixes the engine reads in front of a category (r or a, y, c or p); others ("m": multiple tumours) are dropped.
_ENGINE_PREFIX = re.compile(r"^[ra]?y?[cp]?$")
SiteSource = Literal["cancer_type", "specimen"]
# A stage group: 0, I-IV, an optional letter and an optional digit (lung IA1-IA3).
_GROUP_RE = re.compile(r"^(?:STAGE\s*)?(0|IV|I{1,3})([A-C])?([1-3])?$")


# --- lexicon ------------------------------------------------------------------------------------------------------


class _Header(BaseModel):
    model_config = _FROZEN

    source: str = Field(description="Sources of the facts in the file.")
    licence: str = Field(description="Licence of the encoding.")


class TcgaSite(BaseModel):
    """One TCGA study -> AJCC site id (None: no single site; ``note`` says why)."""

    model_config = _FROZEN

    code: str = Field(description="TCGA study abbreviation.")
    site: str | None = Field(description="AJCC site id of medlens.guidelines.ajcc, or None.")
    chapter: int | None = Field(description="AJCC 8th edition chapter, where certain.")
    note: str = Field(default="", description="Why the mapping reads as it does.")


class OrganSite(BaseModel):
    """Organ words of a specimen -> AJCC site id."""

    model_config = _FROZEN

    site: str = Field(description="AJCC site id.")
    terms: tuple[str, ...] = Field(description="Organ words, lower case.")


class NodeCountRule(BaseModel):
    """Involved-node counts an N (sub)category allows (AJCC 8th edition N definitions)."""

    model_config = _FROZEN

    n: tuple[str, ...] = Field(description="N categories (no prefix) the rule applies to, exactly as written.")
    min: int | None = Field(default=None, ge=0, description="Fewest involved nodes the category allows.")
    max: int | None = Field(default=None, ge=0, description="Most involved nodes the category allows.")
    note: str = Field(default="", description="The definition, in medlens's words.")


class SiteNodeCounts(BaseModel):
    """Node-count rules of one site."""

    model_config = _FROZEN

    chapter: int = Field(description="AJCC 8th edition chapter.")
    rules: tuple[NodeCountRule, ...] = Field(description="Rules, checked in order; every matching rule applies.")


class SizeTPolicy(BaseModel):
    """Which T categories of a site are reached by size alone (for the pT-versus-size consistency check)."""

    model_config = _FROZEN

    chapter: int = Field(description="AJCC 8th edition chapter.")
    order: tuple[str, ...] = Field(description="T (sub)categories from lowest to highest.")
    size_only: tuple[str, ...] = Field(description="Categories that only size gives: above the size band = finding.")
    not_checked: tuple[str, ...] = Field(description="Categories defined by histology or unknown: never checked.")


class GleasonGradeGroup(BaseModel):
    """One Gleason -> Grade Group row: by primary + secondary pattern, or by the sum (exact, at most, at least)."""

    model_config = _FROZEN

    grade_group: int = Field(ge=1, le=5, description="Grade Group.")
    primary: int | None = Field(default=None, description="Primary pattern, with ``secondary``.")
    secondary: int | None = Field(default=None, description="Secondary pattern, with ``primary``.")
    sum: int | None = Field(default=None, description="Exact Gleason score.")
    max_sum: int | None = Field(default=None, description="Highest Gleason score of the group.")
    min_sum: int | None = Field(default=None, description="Lowest Gleason score of the group.")

    def matches(self, primary: int, secondary: int) -> bool:
        """True when the pattern pair falls in this group."""
        total = primary + secondary
        if self.primary is not None:
            return (primary, secondary) == (self.primary, self.secondary)
        if self.sum is not None:
            return total == self.sum
        if self.max_sum is not None:
            return total <= self.max_sum
        return self.min_sum is not None and total >= self.min_sum


class AjccSitesLexicon(BaseModel):
    """Validated ``lexicon/ajcc_sites.yaml``."""

    model_config = _FROZEN

    header: _Header = Field(description="Provenance.")
    tcga: tuple[TcgaSite, ...] = Field(description="TCGA study -> site.")
    organs: tuple[OrganSite, ...] = Field(description="Organ words -> site.")
    node_counts: dict[str, SiteNodeCounts] = Field(description="Site -> node-count rules.")
    size_t: dict[str, SizeTPolicy] = Field(description="Site -> size-defined T policy.")
    gleason_grade_groups: tuple[GleasonGradeGroup, ...] = Field(description="Gleason score -> Grade Group.")


@functools.cache
def load_ajcc_sites() -> AjccSitesLexicon:
    """Load ``lexicon/ajcc_sites.yaml`` (cached).

    Raises:
        ConfigError: ML205 when the packaged file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.pathology", "ajcc_sites.yaml", AjccSitesLexicon)


@functools.cache
def _tcga_index() -> dict[str, TcgaSite]:
    return {row.code: row for row in load_ajcc_sites().tcga}


@functools.cache
def _organ_rx() -> tuple[re.Pattern[str], dict[str, str]]:
    terms = {t.lower(): row.site for row in load_ajcc_sites().organs for t in row.terms}
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE), terms


# --- site ---------------------------------------------------------------------------------------------------------


def ajcc_site_for(fields: PathologyFields) -> tuple[str | None, SiteSource | None, str]:
    """The AJCC site id of a report: ``(site, source, reason)``.

    The TCGA cancer type decides when extracted; else the organ of the specimens, when they name exactly one
    mapped site. ``site`` is None when nothing maps; ``reason`` then says why (never report text).
    """
    if fields.cancer_type is not None:
        code = fields.cancer_type.tcga_code
        row = _tcga_index().get(code)
        if row is None:
            return None, None, f"TCGA study {code} has no AJCC site mapping"
        if row.site is None:
            return None, None, f"TCGA study {code}: {row.note}"
        return row.site, "cancer_type", f"TCGA study {code} -> AJCC site {row.site}"
    rx, terms = _organ_rx()
    sites = {terms[m.group(0).lower()] for s in fields.specimens if s.site for m in rx.finditer(s.site)}
    if len(sites) == 1:
        site = sites.pop()
        return site, "specimen", f"specimen organ -> AJCC site {site}"
    if sites:
        return None, None, f"specimens name several sites ({', '.join(sorted(sites))}); no single site to stage"
    return None, None, "no cancer type or specimen organ that maps to an AJCC site"


_GLEASON = re.compile(r"^\s*([1-5])\s*\+\s*([1-5])")


def grade_group(grade: Grade | None) -> int | None:
    """Prostate Grade Group from a Gleason grade ('3+4=7' -> 2); None for other grading systems or no match."""
    if grade is None or grade.system != "gleason":
        return None
    match = _GLEASON.match(grade.value)
    if match is None:
        return None
    primary, secondary = int(match.group(1)), int(match.group(2))
    return next((r.grade_group for r in load_ajcc_sites().gleason_grade_groups if r.matches(primary, secondary)), None)


# --- engine inputs --------------------------------------------------------------------------------------------------


def _engine_value(category: TNMCategory | None) -> str | None:
    """The category as the engine reads it: its own prefix kept when the engine knows it, else none."""
    if category is None:
        return None
    prefix = category.prefix or ""
    if not _ENGINE_PREFIX.fullmatch(prefix):
        prefix = ""
    return prefix + category.subcategory


def _group_parts(value: str) -> tuple[str, str | None, str | None] | None:
    match = _GROUP_RE.fullmatch(" ".join(value.upper().split()))
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)


def _matches(stated: str, group: str) -> bool | None:
    """True when ``stated`` names ``group`` (possibly less specifically: 'II' names 'IIA'); None if unparseable."""
    s, g = _group_parts(stated), _group_parts(group)
    if s is None or g is None:
        return stated.strip().lower() == group.strip().lower()
    return s[0] == g[0] and all(a is None or a == b for a, b in zip(s[1:], g[1:], strict=True))


def compare_stage(stated: str | None, stage_group: str | None, candidates: Sequence[str] = ()) -> StageAgreement:
    """Compare a stated stage group with the computed one.

    Args:
        stated: Stage group the report states (e.g. 'IIA', 'II'), or None.
        stage_group: Computed group when one was computed, else None.
        candidates: Groups still possible when none was computed.

    Returns:
        ``not_stated`` without a stated group; ``agree`` when the stated group names the computed one (a less
        specific statement, 'II' for 'IIA', agrees); ``disagree`` when it names another group, or when no group was
        computed but none of the candidates is the stated one; else ``undetermined``.

    Example:
        >>> compare_stage("II", "IIA")
        'agree'
        >>> compare_stage("IIIA", "IIB")
        'disagree'
    """
    if stated is None:
        return "not_stated"
    if stage_group is not None:
        return "agree" if _matches(stated, stage_group) else "disagree"
    groups = [c for c in candidates if c != "no stage group"]
    if groups and not any(_matches(stated, c) for c in groups) and "no stage group" not in candidates:
        return "disagree"
    return "undetermined"


# --- staging ------------------------------------------------------------------------------------------------------


def _evidence(*claims: object) -> tuple[Evidence, ...]:
    out: dict[tuple[int, int], Evidence] = {}
    for claim in claims:
        for e in getattr(claim, "evidence", None) or ():
            out.setdefault((e.start, e.end), e)  # one span per place
    return tuple(out.values())


_T_ORDER = re.compile(r"^T(is|[0-4])([a-d])?")


def _t_rank(category: str) -> tuple[float, str] | None:
    """Comparable rank of a T (sub)category without prefix: Tis < T1 < T1a < T1b < T2 ...; None when not ranked."""
    match = _T_ORDER.match(category)
    if match is None:
        return None
    main = 0.5 if match.group(1) == "is" else float(match.group(1))
    return main, match.group(2) or ""


def _below(stated: str, inferred: str) -> bool:
    """True when the stated T is lower than the inferred one (sub-letters compared only when both have one)."""
    s, i = _t_rank(stated), _t_rank(inferred)
    if s is None or i is None:
        return False
    if s[0] != i[0]:
        return s[0] < i[0]
    return bool(s[1] and i[1] and s[1] < i[1])


def _infer_t(
    site: str, fields: PathologyFields, extents: Sequence[ExtentFinding], focality: FocalityFinding | None
) -> tuple[ajcc_extent.TInference | None, list[object]]:
    """T from the used extent findings (and size or tumour features where the site needs them), with what fired."""
    size = fields.tumour_size.largest_mm if fields.tumour_size is not None else None
    keys = [f.key for f in extents]
    lvi = fields.lymphovascular_invasion
    vascular = lvi.status if lvi is not None and lvi.status in ("present", "absent") else None
    inference = ajcc_extent.t_from_extent(
        site,
        keys,
        size_mm=size,
        focality=focality.value if focality is not None else None,
        vascular_invasion=vascular,
    )
    if inference is None:
        return None, []
    used: list[object] = [f for f in extents if f.key in inference.extents_used]
    if inference.focality is not None:
        used.append(focality)
    if inference.vascular_invasion is not None:
        used.append(lvi)
    return inference, used


def stage_fields(
    fields: PathologyFields,
    *,
    assume_cm0: bool = False,
    extents: Sequence[ExtentFinding] = (),
    focality: FocalityFinding | None = None,
) -> PathologyStage:
    """Stage one report's extracted fields with the AJCC 8th edition engine.

    Args:
        fields: What ``pathology.extract`` read.
        assume_cm0: When the report states no M, stage with cM0 (marked ``m_assumed``). Off by default: a pathology
            report rarely knows the distant-metastasis status, and medlens does not invent it.
        extents: Present extent findings to use (:func:`medlens.pathology.extent.select_extents`); when pT is not
            stated and the site has extent criteria, T is inferred from them (with size where the site needs it).
        focality: The focality statement that decides (:func:`medlens.pathology.focality.select_focality`), used
            where the site's T depends on the tumour count (liver).

    Returns:
        The stage payload; ``status`` is ``not_applicable`` when no supported site maps (with the reason). A stated
        pT is always kept (``t_source='stated'``), also where no site maps.
    """
    site, source, site_reason = ajcc_site_for(fields)
    tcga = fields.cancer_type.tcga_code if fields.cancer_type is not None else None
    stated = fields.stated_stage.value if fields.stated_stage is not None else None
    stated_evidence = _evidence(fields.stated_stage)
    t = _engine_value(fields.pT)
    t_source: TSource | None = "stated" if t is not None else None
    if site is None:
        evidence = _evidence(fields.cancer_type, fields.pT) + stated_evidence
        return PathologyStage(
            status="not_applicable",
            tcga_code=tcga,
            t=t,
            t_source=t_source,
            rule="not_applicable.site",
            reasons=(site_reason,),
            stated_stage=stated,
            agreement="not_stated" if stated is None else "undetermined",
            evidence=evidence,
            supported=bool(evidence),
        )
    reasons = [site_reason]
    n = _engine_value(fields.pN)
    m = _engine_value(fields.pM)
    used: list[object] = [fields.pT, fields.pN, fields.pM]
    t_inferred = m_assumed = t_below = False
    inference, fired = _infer_t(site, fields, extents, focality)
    t_extent = inference.category if inference is not None else None
    criteria = inference.criteria if inference is not None else ()
    if t is None and inference is not None:
        t = inference.category
        t_inferred = True
        t_source = inference.source
        used.extend(fired)
        if inference.size_category is not None:
            used.append(fields.tumour_size)
        size_note = f"; size {inference.size_mm:g} mm gives {inference.size_category}" if inference.size_mm else ""
        if inference.grid_rows:
            size_note = (
                f"; focality {inference.focality or 'not stated'}, size "
                f"{f'{inference.size_mm:g} mm' if inference.size_mm else 'not stated'}, vascular invasion "
                f"{inference.vascular_invasion or 'not stated'}: lowest of {', '.join(inference.grid_rows)}"
            )
        reasons.append(
            f"T not stated: {inference.category} inferred from {inference.source} (criteria: "
            f"{', '.join(criteria) or '-'}{size_note}; {inference.citation.table}); a floor only, a higher T "
            f"follows from: {'; '.join(inference.raised_by) or '-'}"
        )
    elif t is None and fields.tumour_size is not None:
        by_size = ajcc.t_from_size(site, fields.tumour_size.largest_mm)
        if by_size is not None:
            t = by_size.category
            t_inferred = True
            t_source = "size"
            used.append(fields.tumour_size)
            reasons.append(
                f"T not stated: {by_size.category} inferred from size {fields.tumour_size.largest_mm:g} mm "
                f"({by_size.measure}); a floor only, a higher T follows from: {'; '.join(by_size.raised_by) or '-'}"
            )
    elif fields.pT is not None and t_extent is not None and _below(fields.pT.subcategory, t_extent):
        t_below = True
        used.extend(fired)
        reasons.append(
            f"review: stated {fields.pT.subcategory} is below {t_extent} established by the extent statements "
            f"({', '.join(criteria)}); the stated pT is kept"
        )
    if m is None and assume_cm0:
        m = "cM0"
        m_assumed = True
        reasons.append("M not stated: cM0 assumed (assume_cm0)")
    prefix = next((c.prefix for c in (fields.pT, fields.pN) if c is not None and c.prefix), None) or "p"
    if not _ENGINE_PREFIX.fullmatch(prefix):
        prefix = "p"
    group_of_grade = grade_group(fields.grade)
    if group_of_grade is not None:
        used.append(fields.grade)
        reasons.append(f"Grade Group {group_of_grade} from Gleason {fields.grade.value if fields.grade else ''}")
    result = ajcc.stage(site, t, n, m, prefix=prefix, grade_group=group_of_grade)
    reasons.extend(result.reasons)
    agreement = compare_stage(stated, result.stage_group, result.candidates)
    if stated is not None:
        computed = result.stage_group or ("one of " + ", ".join(result.candidates) if result.candidates else "none")
        reasons.append(f"stated stage {stated} vs computed {computed}: {agreement}")
    evidence = _evidence(*used) + stated_evidence
    return PathologyStage(
        site=result.site,
        site_source=source,
        tcga_code=tcga,
        status=result.status,
        stage_group=result.stage_group,
        candidates=result.candidates,
        missing=result.missing,
        classification=result.classification,
        t=t,
        n=n,
        m=m,
        t_inferred=t_inferred,
        t_source=t_source,
        t_extent=t_extent,
        t_below_extent=t_below,
        extent_criteria=criteria,
        m_assumed=m_assumed,
        rule=result.rule,
        citation=result.citation,
        reasons=tuple(reasons),
        stated_stage=stated,
        agreement=agreement,
        evidence=evidence,
        supported=bool(evidence),
    )


@functools.lru_cache(maxsize=256)
def extract_fields(text: str, record_id: str) -> PathologyFields:
    """:func:`~medlens.pathology.extract.extract_pathology`, cached per (text, record id) for the tasks sharing it."""
    from medlens.pathology.extract import extract_pathology  # the extraction module is heavy; import on first use

    return extract_pathology(text, record_id)


def stage_document(text: str, record_id: str, *, assume_cm0: bool = False) -> PathologyStage:
    """Extract, read the extent statements (:mod:`medlens.pathology.extent`) and stage one report.

    Args:
        text: The report.
        record_id: Id written into the evidence.
        assume_cm0: See :func:`stage_fields`.

    Returns:
        The stage payload.
    """
    fields = extract_fields(text, record_id)
    extents = select_extents(find_extents(text, record_id))
    focality = select_focality(find_focality(text, record_id)) if _uses_grid(fields) else None
    return stage_fields(fields, assume_cm0=assume_cm0, extents=extents, focality=focality)


def _uses_grid(fields: PathologyFields) -> bool:
    """True when the report's site defines T by a tumour-feature grid (focality needed)."""
    site = ajcc_site_for(fields)[0]
    canonical = ajcc_extent.resolve_extent_site(site) if site is not None else None
    return canonical is not None and bool(ajcc_extent.load_extent_site(canonical).grid)


class PathologyStageRules:
    """Deterministic AJCC 8th edition stage group of pathology reports, from the extracted pT/pN/pM.

    Args:
        assume_cm0: Stage with cM0 when the report states no M (default False; see :func:`stage_fields`).
    """

    name = "medlens.task.pathology.stage.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.pathology.stage",)

    def __init__(self, *, assume_cm0: bool = False) -> None:
        self.assume_cm0 = assume_cm0
        load_ajcc_sites()

    def __call__(self, batch: Sequence[Document]) -> list[PathologyStageResult]:
        """One result per document, in order."""
        opts = {"assume_cm0": self.assume_cm0}
        return [
            PathologyStageResult(name=self.name, backend=self.backend, stage=stage_document(doc.text, doc.id, **opts))
            for doc in batch
        ]
