"""Completeness and consistency checks of a pathology report's extracted fields (``pathology.synoptic``).

Each check returns :class:`SynopticFinding` items pointing at the evidence they rest on, and naming their source:

* completeness: elements the CAP resection protocol of the site asks for (``lexicon/synoptic_required.yaml``) that
  the report does not state; "required" ones are warnings, "recommended" ones information.
* pN versus node counts: AJCC 8th edition N definitions (``lexicon/ajcc_sites.yaml``: breast Chapter 48, colon and
  rectum Chapter 20, lung Chapter 36; N0 means no positive regional node at every site).
* pT versus size, where T is defined by size (breast, lung): the size band of
  :func:`medlens.guidelines.ajcc.t_from_size` against the stated T; only a contradiction is flagged (a T the size
  cannot give and no other criterion explains), with a 1 mm margin of medlens's own so rounding never flags.
* stated stage versus the stage computed from the components (``pathology.stage``).
* ER/PR status versus percent: ASCO/CAP 2020 (positive >= 1% of nuclei, ER 1-10% reported as "low positive").
* HER2 IHC score versus status: ASCO/CAP 2018 (IHC 3+ positive, IHC 0/1+ negative; ISH decides after 2+).

Findings are review flags for a qualified reader; none of them changes a field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Evidence
from medlens.guidelines import ajcc
from medlens.pathology.schema import PathologyFields, Receptor
from medlens.pathology.stage import load_ajcc_sites
from medlens.pathology.stage_schema import PathologyStage

__all__ = [
    "ASCO_CAP_ER_PR_2020",
    "ASCO_CAP_HER2_2018",
    "FindingKind",
    "FindingSeverity",
    "SynopticElementSpec",
    "SynopticFinding",
    "SynopticRequired",
    "SynopticSiteElements",
    "check_completeness",
    "check_nodes",
    "check_receptors",
    "check_size",
    "check_stage",
    "check_synoptic",
    "element_present",
    "load_synoptic_required",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
FindingKind = Literal["completeness", "consistency"]
FindingSeverity = Literal["info", "warning"]

ASCO_CAP_ER_PR_2020 = (
    "ASCO/CAP guideline update 2020, ER and PR testing in breast cancer (Allison KH, et al. J Clin Oncol "
    "2020;38:1346-1366)"
)
ASCO_CAP_HER2_2018 = (
    "ASCO/CAP focused update 2018, HER2 testing in breast cancer (Wolff AC, et al. J Clin Oncol 2018;36:2105-2122)"
)
_AJCC = "AJCC Cancer Staging Manual, 8th edition"
# Descriptors that never change a category: (sn), (f), (m); ITC/molecular suffixes are kept.
_DESCRIPTOR = re.compile(r"\((?:sn|f|m\d*)\)", re.IGNORECASE)
_MAIN_T = re.compile(r"^T(?:is|\d|X)", re.IGNORECASE)
# medlens's margin (not an AJCC rule): a size within 1 mm of a band edge may round into the stated band.
_SIZE_MARGIN_MM = 1.0


class SynopticFinding(BaseModel):
    """One completeness or consistency finding, with the evidence it rests on and its source."""

    model_config = _FROZEN

    kind: FindingKind = Field(description="completeness (element missing) or consistency (fields contradict).")
    code: str = Field(description="Stable code, e.g. 'required_element_missing', 'pn_node_count'.")
    severity: FindingSeverity = Field(description="warning: needs review; info: worth knowing.")
    message: str = Field(description="What was found, with the values involved (never report text).")
    element: str | None = Field(default=None, description="Element / field the finding is about, e.g. 'pN'.")
    source: str = Field(description="Guideline, protocol or chapter the rule comes from.")
    evidence: tuple[Evidence, ...] = Field(default=(), description="Spans of the fields involved (none if missing).")


# --- lexicon ------------------------------------------------------------------------------------------------------


class _Header(BaseModel):
    model_config = _FROZEN

    source: str = Field(description="Source of which elements are required.")
    licence: str = Field(description="Licence of the encoding.")


class SynopticElementSpec(BaseModel):
    """One reportable element: a PathologyFields attribute (or 'procedure' / 'laterality' of the specimens)."""

    model_config = _FROZEN

    name: str = Field(description="Field name.")
    label: str = Field(description="Label shown in the synoptic report (medlens's words).")


class SynopticSiteElements(BaseModel):
    """The elements one site's CAP resection protocol asks for."""

    model_config = _FROZEN

    protocol: str = Field(description="CAP protocol name.")
    version: str | None = Field(description="Protocol version, when verified.")
    required: tuple[str, ...] = Field(description="Core elements.")
    recommended: tuple[str, ...] = Field(default=(), description="Elements medlens is not certain are core.")


class SynopticRequired(BaseModel):
    """Validated ``lexicon/synoptic_required.yaml``."""

    model_config = _FROZEN

    header: _Header = Field(description="Provenance.")
    elements: tuple[SynopticElementSpec, ...] = Field(description="Every element, in report order.")
    sites: dict[str, SynopticSiteElements] = Field(description="AJCC site id -> its protocol's elements.")

    def label(self, name: str) -> str:
        """Label of an element."""
        return next((e.label for e in self.elements if e.name == name), name)


@functools.cache
def load_synoptic_required() -> SynopticRequired:
    """Load ``lexicon/synoptic_required.yaml`` (cached), checking every element named per site is declared.

    Raises:
        ConfigError: ML205 when the packaged file is missing or invalid.
    """
    table = load_yaml_lexicon("medlens.pathology", "synoptic_required.yaml", SynopticRequired)
    known = {e.name for e in table.elements}
    for site, spec in table.sites.items():
        unknown = sorted(set(spec.required + spec.recommended) - known)
        if unknown:
            from medlens.core.errors import ConfigError

            raise ConfigError(
                f"lexicon medlens.pathology/lexicon/synoptic_required.yaml: site {site} names undeclared elements "
                f"{unknown}",
                code="ML205",
            )
    return table


def _protocol(spec: SynopticSiteElements) -> str:
    return f"{spec.protocol}, version {spec.version}" if spec.version else f"{spec.protocol} (version not verified)"


# --- completeness -------------------------------------------------------------------------------------------------


def element_present(fields: PathologyFields, name: str) -> bool:
    """True when the report states the element ``name``."""
    if name == "procedure":
        return any(s.procedure for s in fields.specimens)
    if name == "laterality":
        return any(s.laterality for s in fields.specimens)
    return getattr(fields, name, None) is not None


def check_completeness(fields: PathologyFields, site: str | None) -> list[SynopticFinding]:
    """Elements the site's CAP resection protocol asks for that the report does not state (none for other sites)."""
    table = load_synoptic_required()
    spec = table.sites.get(site or "")
    if spec is None:
        return []
    out: list[SynopticFinding] = []
    for level, names in (("required", spec.required), ("recommended", spec.recommended)):
        for name in names:
            if element_present(fields, name):
                continue
            out.append(
                SynopticFinding(
                    kind="completeness",
                    code=f"{level}_element_missing",
                    severity="warning" if level == "required" else "info",
                    message=f"{table.label(name)} not stated ({level} for {site})"
                    + (" - required when lymph nodes were submitted" if name == "lymph_nodes" else ""),
                    element=name,
                    source=_protocol(spec),
                )
            )
    return out


# --- consistency --------------------------------------------------------------------------------------------------


def _ev(*claims: object) -> tuple[Evidence, ...]:
    out: dict[tuple[int, int], Evidence] = {}
    for claim in claims:
        for e in getattr(claim, "evidence", None) or ():
            out.setdefault((e.start, e.end), e)  # one span per place: groups may repeat a total's span
    return tuple(out.values())


def check_nodes(fields: PathologyFields, site: str | None) -> list[SynopticFinding]:
    """Check pN against the involved-node count (AJCC 8th edition N definitions of the site).

    N0 with involved nodes is flagged at every site (isolated tumour cells, N0(i+) / N0(mol+), are not counted as
    positive nodes and are never flagged); the site's count rules (``ajcc_sites.yaml``) apply to pathological N only.
    """
    pn, nodes = fields.pN, fields.lymph_nodes
    if pn is None or nodes is None or nodes.involved is None or (pn.prefix or "p").endswith("c"):
        return []
    sub = _DESCRIPTOR.sub("", pn.subcategory)
    involved = nodes.involved
    evidence = _ev(pn, nodes)
    if sub.upper().startswith("N0"):
        if "+" in sub or involved == 0:
            return []
        return [
            SynopticFinding(
                kind="consistency",
                code="pn_node_count",
                severity="warning",
                message=f"{pn.value} states no regional node metastasis, but {involved} involved node(s) are counted",
                element="pN",
                source=f"{_AJCC}, regional lymph node (N) definitions: N0 = no regional node metastasis",
                evidence=evidence,
            )
        ]
    counts = load_ajcc_sites().node_counts.get(site or "")
    if counts is None:
        return []
    out: list[SynopticFinding] = []
    for rule in counts.rules:
        if sub not in rule.n:
            continue
        too_few = rule.min is not None and involved < rule.min
        too_many = rule.max is not None and involved > rule.max
        if not (too_few or too_many):
            continue
        allowed = (
            f"{rule.min}-{rule.max}"
            if rule.min is not None and rule.max is not None
            else f">= {rule.min}"
            if rule.min is not None
            else f"<= {rule.max}"
        )
        out.append(
            SynopticFinding(
                kind="consistency",
                code="pn_node_count",
                severity="warning",
                message=f"{pn.value} allows {allowed} involved node(s) ({rule.note}); {involved} counted",
                element="pN",
                source=f"{_AJCC}, Chapter {counts.chapter}, N definitions",
                evidence=evidence,
            )
        )
    return out


def _rank(category: str, order: tuple[str, ...]) -> tuple[int, bool]:
    """(rank, exact): the rank of a sub-category in ``order``, or of its main category (T1, T2...) at main level."""
    if category in order:
        return order.index(category), True
    main = category[:2]
    return min(i for i, c in enumerate(order) if c.startswith(main)), False


def check_size(fields: PathologyFields, site: str | None) -> list[SynopticFinding]:
    """Check pT against the tumour size where the site defines T by size (breast, lung): contradictions only.

    A stated T below the size band is flagged; one above it only when that T is reached by size alone (breast T1-T3,
    lung T1a-T1c and T2b). Tis, T1mi, T0 and TX are never checked. The size must be at least 1 mm past a band edge.
    """
    pt, size = fields.pT, fields.tumour_size
    policy = load_ajcc_sites().size_t.get(site or "")
    if pt is None or size is None or policy is None or (pt.prefix or "p").endswith("c"):
        return []
    stated = _DESCRIPTOR.sub("", pt.subcategory)
    stated = re.sub(r"\(.*\)$", "", stated)
    main = _MAIN_T.match(stated)
    if main is None or stated in policy.not_checked or main.group(0) in policy.not_checked:
        return []
    if not any(c.startswith(stated[:2]) for c in policy.order):
        return []
    low = ajcc.t_from_size(site or "", max(size.largest_mm - _SIZE_MARGIN_MM, 0.01))
    high = ajcc.t_from_size(site or "", size.largest_mm + _SIZE_MARGIN_MM)
    here = ajcc.t_from_size(site or "", size.largest_mm)
    if low is None or high is None or here is None:
        return []
    s_rank, exact = _rank(stated, policy.order)

    def band_rank(category: str) -> int:
        return _rank(category, policy.order)[0] if exact else _rank(category[:2], policy.order)[0]

    problem = None
    if s_rank < band_rank(low.category):
        problem = "below"
    elif s_rank > band_rank(high.category) and (stated in policy.size_only or stated[:2] in policy.size_only):
        problem = "above"
    if problem is None:
        return []
    return [
        SynopticFinding(
            kind="consistency",
            code="pt_size",
            severity="warning",
            message=f"{pt.value} is {problem} the size band: {size.largest_mm:g} mm gives {here.category} by size "
            f"({here.measure}); check the measured size (invasive component only) or the T",
            element="pT",
            source=f"{_AJCC}, Chapter {policy.chapter}, T definitions by size",
            evidence=_ev(pt, size),
        )
    ]


def check_stage(stage: PathologyStage | None) -> list[SynopticFinding]:
    """The stated stage group against the group computed from the components (a disagreement is a review flag)."""
    if stage is None or stage.agreement != "disagree":
        return []
    computed = stage.stage_group or "one of " + ", ".join(stage.candidates)
    components = " ".join(c for c in (stage.t, stage.n, stage.m) if c)
    source = _AJCC + (f", {stage.citation.table}" if stage.citation is not None else "")
    return [
        SynopticFinding(
            kind="consistency",
            code="stage_disagrees",
            severity="warning",
            message=f"stated stage {stage.stated_stage} but {components} gives {computed}"
            + (" (T inferred from size)" if stage.t_inferred else ""),
            element="stated_stage",
            source=source,
            evidence=stage.evidence,
        )
    ]


def _receptor(name: str, r: Receptor | None) -> Iterable[SynopticFinding]:
    if r is None or r.percent is None or r.status is None:
        return
    pct = r.percent
    code = None
    if r.status == "negative" and pct >= 1:
        code, msg = "receptor_status_percent", f"{name} reported negative with {pct:g}% of nuclei staining (>= 1%)"
    elif r.status in ("positive", "low_positive") and pct < 1:
        code, msg = "receptor_status_percent", f"{name} reported positive with {pct:g}% of nuclei staining (< 1%)"
    elif name == "ER" and r.status == "low_positive" and pct > 10:
        code, msg = "receptor_status_percent", f"ER reported low positive with {pct:g}% (low positive is 1-10%)"
    elif name == "ER" and r.status == "positive" and pct <= 10:
        yield SynopticFinding(
            kind="consistency",
            code="er_low_positive",
            severity="info",
            message=f"ER {pct:g}% is in the 1-10% range the guideline asks to report as 'low positive'",
            element="er",
            source=ASCO_CAP_ER_PR_2020,
            evidence=r.evidence,
        )
        return
    if code is not None:
        yield SynopticFinding(
            kind="consistency",
            code=code,
            severity="warning",
            message=msg,
            element=name.lower(),
            source=ASCO_CAP_ER_PR_2020,
            evidence=r.evidence,
        )


def check_receptors(fields: PathologyFields) -> list[SynopticFinding]:
    """ER/PR status against percent (ASCO/CAP 2020) and HER2 IHC score against status (ASCO/CAP 2018)."""
    out = [*_receptor("ER", fields.er), *_receptor("PR", fields.pr)]
    her2 = fields.her2
    if her2 is not None and her2.ihc is not None and her2.status is not None:
        msg = None
        if her2.ihc == "3+" and her2.status == "negative":
            msg = "HER2 IHC 3+ is positive, but the status is negative"
        elif her2.ihc in ("0", "1+") and her2.status == "positive" and her2.ish != "amplified":
            msg = f"HER2 IHC {her2.ihc} is negative, but the status is positive (no amplified ISH result stated)"
        if msg is not None:
            out.append(
                SynopticFinding(
                    kind="consistency",
                    code="her2_ihc_status",
                    severity="warning",
                    message=msg,
                    element="her2",
                    source=ASCO_CAP_HER2_2018,
                    evidence=her2.evidence,
                )
            )
    return out


def check_synoptic(
    fields: PathologyFields, site: str | None, stage: PathologyStage | None = None
) -> list[SynopticFinding]:
    """Every check, in a stable order: completeness, then nodes, size, stage and receptors."""
    return [
        *check_completeness(fields, site),
        *check_nodes(fields, site),
        *check_size(fields, site),
        *check_stage(stage),
        *check_receptors(fields),
    ]
