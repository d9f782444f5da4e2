"""pathology.extract, rules backend: OCR-robust fields of a surgical pathology report, each with evidence.

One pass per report: :func:`~medlens.pathology.sections.report_layout` finds the sections (final diagnosis,
synoptic summary, gross, clinical history, addendum...); each field's extractor yields candidates with their spans
in the *original* text (OCR damage is tolerated by the patterns, the text is never rewritten, so no offset mapping
is needed); :func:`~medlens.pathology.candidates.choose` keeps the value of the highest-precedence section (addendum
> final diagnosis > synoptic > microscopic > comment > other > gross > clinical history) and records an override
with both values. Fields the report does not state stay ``None``.

Public interface (stable): :func:`extract_pathology` (pure function) and :class:`PathologyExtractRules` (task
``pathology.extract``, backend ``rules``) returning :class:`~medlens.pathology.schema.PathologyExtractResult`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from medlens.core.types import Document, Evidence
from medlens.pathology.cancer_type import infer_cancer_type
from medlens.pathology.candidates import Candidate, choose, producer
from medlens.pathology.findings import (
    find_grades,
    find_histologic_types,
    find_invasion,
    find_lymph_nodes,
    find_margins,
    find_sizes,
)
from medlens.pathology.lexicon_models import load_cancer_types, load_histology
from medlens.pathology.receptors import find_er_pr, find_her2, find_ki67, find_mmr
from medlens.pathology.schema import (
    Grade,
    Her2,
    HistologicType,
    Ki67,
    LymphNodeGroup,
    LymphNodes,
    Margins,
    MismatchRepair,
    MmrProtein,
    PathologyExtractResult,
    PathologyFields,
    Receptor,
    Specimen,
    StatedStage,
    TNMCategory,
    TumourSize,
    VascularInvasion,
)
from medlens.pathology.sections import SECTION_RANK, ReportLayout, report_layout
from medlens.pathology.tnm import find_stage_groups, find_tnm
from medlens.pathology.wordkey import WordMatcher

__all__ = ["PathologyExtractRules", "extract_pathology"]

_DEFAULT_ID = "document"
_T_ORDER = {"TX": -1, "T0": 0, "Tis": 0, "T1": 1, "T2": 2, "T3": 3, "T4": 4}
_N_ORDER = {"NX": -1, "N0": 0, "N1": 1, "N2": 2, "N3": 3}
_M_ORDER = {"MX": -1, "M0": 0, "M1": 1}
# Specimen parts: "A.", "B)", "PART 1:", "Specimen 2:", "1." followed by an organ description ("Left breast, ...").
_PART = re.compile(
    r"(?:(?<=^)|(?<=[\s.:;]))(?:(?:PART|Part|SPECIMEN|Specimen|SP)\s*[#:]?\s*(?P<l1>\d{1,2}|[A-Z])\b\s*[:.)\-]?"
    r"|\(?(?P<l2>[A-L]|\d{1,2})[.)]\s*(?:\d[.)]\s*)?(?=[\"A-Za-z]))",
)
_LATERALITY = re.compile(r"\b(left|right|bilateral)\b", re.IGNORECASE)
_TNM_FIELDS = (("pT", "T", _T_ORDER), ("pN", "N", _N_ORDER), ("pM", "M", _M_ORDER))


@functools.cache
def _specimen_matchers() -> tuple[WordMatcher[str], WordMatcher[str]]:
    sites: WordMatcher[str] = WordMatcher()
    for group in load_cancer_types().terms:
        if group.kind == "site":
            for term in group.terms:
                sites.add(term, term)
    for term in load_histology().sites:
        sites.add(term, term)
    procedures: WordMatcher[str] = WordMatcher()
    for term in load_histology().procedures:
        procedures.add(term, term)
    return sites, procedures


def _specimens(text: str, layout: ReportLayout, record_id: str) -> tuple[Specimen, ...]:
    sites, procedures = _specimen_matchers()
    prod = producer("specimens")
    found: dict[str, tuple[int, Specimen]] = {}
    site_all = proc_all = None  # every site / procedure hit of the report, matched once on the shared word key
    for m in _PART.finditer(text):
        role = layout.role_at(m.start())
        if role not in ("final_diagnosis", "body", "addendum", "gross", "synoptic", "other"):
            continue
        label = (m.group("l1") or m.group("l2") or "").upper()
        # The description runs to the first " - ", ":" or sentence end after the label.
        stop = min(len(text), m.end() + 110)
        cut = re.search(r"\s[-–]\s|:\s|\.\s+[A-Z]{2}|;", text[m.end() : stop])
        desc_end = m.end() + cut.start() if cut else stop
        desc = text[m.end() : desc_end]
        if site_all is None:
            site_all = sites.find_all(layout.words)
        site_hits = sites.resolve(site_all, m.end(), desc_end)
        if not site_hits or site_hits[0].start - m.end() > 40:
            continue
        if proc_all is None:
            proc_all = procedures.find_all(layout.words)
        proc_hits = procedures.resolve(proc_all, m.end(), desc_end)
        lat = _LATERALITY.search(desc)
        rank = SECTION_RANK[role]
        spec = Specimen(
            label=label or None,
            site=site_hits[0].values[0],
            laterality=lat.group(1).lower() if lat else None,
            procedure=max((h.values[0] for h in proc_hits), key=len) if proc_hits else None,
            evidence=(Evidence.of(text, record_id, m.start(), desc_end, prod),),
        )
        old = found.get(label)
        if old is None or rank > old[0]:
            found[label] = (rank, spec)
    ordered = sorted(found.values(), key=lambda rs: rs[1].evidence[0].start)
    return tuple(spec for _, spec in ordered)


def _order_of(order: dict[str, int], cand: Candidate) -> int:
    return order.get(cand.data["category"], -1)


def _tnm(text: str, layout: ReportLayout, record_id: str) -> dict[str, TNMCategory | None]:
    cands = find_tnm(text, layout)
    out: dict[str, TNMCategory | None] = {}
    for field, letter, order in _TNM_FIELDS:
        choice = choose(
            text,
            record_id,
            field,
            cands[letter],
            tie_break=functools.partial(_order_of, order),
        )
        out[field] = None if choice is None else TNMCategory(**choice.best.data, **choice.claim_fields())
    return out


def _lymph_nodes(text: str, layout: ReportLayout, record_id: str) -> LymphNodes | None:
    groups, totals = find_lymph_nodes(text, layout)
    prod = producer("lymph_nodes")
    totals_by: dict[str, Any] = {}
    for field in ("examined", "involved"):
        choice = choose(text, record_id, "lymph_nodes", [c for c in totals if field in c.data])
        if choice is not None:
            totals_by[field] = choice
    # Groups: from the best section that states any; duplicates (same counts restated) are kept once per span.
    group_models: list[LymphNodeGroup] = []
    if groups:
        top = max(SECTION_RANK[c.section] for c in groups)
        for c in sorted((c for c in groups if SECTION_RANK[c.section] == top), key=lambda c: c.start):
            group_models.append(
                LymphNodeGroup(
                    involved=c.data["involved"],
                    examined=c.data["examined"],
                    evidence=(Evidence.of(text, record_id, c.start, c.end, prod),),
                )
            )
    if not totals_by and not group_models:
        return None
    evidence: list[Evidence] = []
    section = None
    if totals_by:
        for choice in totals_by.values():
            evidence.extend(choice.evidence)
            section = choice.best.section
    else:
        for g in group_models:
            evidence.extend(g.evidence)
        section = groups[0].section if groups else None
    involved = totals_by["involved"].best.data["involved"] if "involved" in totals_by else None
    examined = totals_by["examined"].best.data["examined"] if "examined" in totals_by else None
    if involved is None and examined is None and group_models:
        if len(group_models) == 1:
            involved, examined = group_models[0].involved, group_models[0].examined
        else:
            involved = sum(g.involved for g in group_models)
            examined = sum(g.examined for g in group_models)
    return LymphNodes(
        involved=involved,
        examined=examined,
        groups=tuple(group_models) if len(group_models) > 1 else (),
        evidence=tuple(sorted(evidence, key=lambda e: e.start)),
        section=section,
    )


def _mmr(text: str, layout: ReportLayout, record_id: str) -> MismatchRepair | None:
    proteins, msi = find_mmr(text, layout)
    prod = producer("mmr")
    best: dict[str, tuple[int, MmrProtein]] = {}
    for name, status, start, end, role in proteins:
        rank = SECTION_RANK[role]
        if name not in best or rank > best[name][0]:
            best[name] = (
                rank,
                MmrProtein(protein=name, status=status, evidence=(Evidence.of(text, record_id, start, end, prod),)),
            )
    msi_choice = choose(text, record_id, "mmr", msi)
    if not best and msi_choice is None:
        return None
    evidence: list[Evidence] = [e for _, p in best.values() for e in p.evidence]
    if msi_choice is not None:
        evidence.extend(msi_choice.evidence)
    return MismatchRepair(
        proteins=tuple(p for _, p in sorted(best.values(), key=lambda rp: rp[1].protein)),
        msi=msi_choice.best.data["msi"] if msi_choice else None,
        evidence=tuple(evidence),
        section=msi_choice.best.section if msi_choice else None,
    )


def _simple(text: str, record_id: str, field: str, cands: Sequence[Candidate], model: Any, **kw: Any) -> Any:
    choice = choose(text, record_id, field, cands, **kw)
    return None if choice is None else model(**choice.best.data, **choice.claim_fields())


def extract_pathology(text: str, record_id: str = _DEFAULT_ID) -> PathologyFields:
    """Every field ``pathology.extract`` reads from one report; unstated fields are ``None``.

    Args:
        text: the report, as received (OCR'd text is fine); evidence offsets index it.
        record_id: id written into every evidence span.

    Returns:
        The fields, each with evidence, section and (where sections disagreed) precedence.
    """
    layout = report_layout(text)
    tnm = _tnm(text, layout, record_id)
    er, pr = find_er_pr(text, layout)
    return PathologyFields(
        specimens=_specimens(text, layout, record_id),
        cancer_type=infer_cancer_type(text, layout, record_id),
        histologic_type=_simple(
            text, record_id, "histologic_type", find_histologic_types(text, layout), HistologicType
        ),
        grade=_simple(text, record_id, "grade", find_grades(text, layout), Grade),
        tumour_size=_simple(
            text,
            record_id,
            "tumour_size",
            find_sizes(text, layout),
            TumourSize,
            tie_break=lambda c: c.data["largest_mm"],
        ),
        pT=tnm["pT"],
        pN=tnm["pN"],
        pM=tnm["pM"],
        stated_stage=_simple(text, record_id, "stated_stage", list(find_stage_groups(text, layout)), StatedStage),
        margins=_margins(text, layout, record_id),
        lymphovascular_invasion=_simple(
            text, record_id, "lymphovascular_invasion", find_invasion(text, layout, "lvi"), VascularInvasion
        ),
        perineural_invasion=_simple(
            text, record_id, "perineural_invasion", find_invasion(text, layout, "pni"), VascularInvasion
        ),
        lymph_nodes=_lymph_nodes(text, layout, record_id),
        er=_simple(text, record_id, "er", er, Receptor),
        pr=_simple(text, record_id, "pr", pr, Receptor),
        her2=_simple(text, record_id, "her2", find_her2(text, layout), Her2),
        ki67=_simple(text, record_id, "ki67", find_ki67(text, layout), Ki67),
        mmr=_mmr(text, layout, record_id),
    )


def _margins(text: str, layout: ReportLayout, record_id: str) -> Margins | None:
    cands = find_margins(text, layout)
    status = choose(text, record_id, "margins", [c for c in cands if "closest_distance_mm" not in c.data])
    closest = choose(text, record_id, "margins", [c for c in cands if "closest_distance_mm" in c.data])
    if status is None and closest is None:
        return None
    main = status or closest
    assert main is not None
    data: dict[str, Any] = {"status": main.best.data.get("status")}
    evidence = list(main.evidence)
    if closest is not None:
        data["closest_distance_mm"] = closest.best.data["closest_distance_mm"]
        data["closest_margin"] = closest.best.data["closest_margin"]
        if closest is not main:
            evidence.extend(closest.evidence)
            if status is not None and status.best.data["status"] == "involved":
                data["closest_distance_mm"] = None  # an involved margin has no clearance to report
                data["closest_margin"] = None
    return Margins(
        **data,
        evidence=tuple(evidence),
        section=main.best.section,
        precedence=main.precedence,
        overridden_value=main.overridden_value,
    )


class PathologyExtractRules:
    """Deterministic, offline field extraction for surgical pathology reports (task ``pathology.extract``)."""

    name = "medlens.task.pathology.extract.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.pathology.extract",)

    def __init__(self) -> None:
        # Build every lexicon and automaton now, not on the first record.
        extract_pathology("FINAL DIAGNOSIS: Left breast, mastectomy: invasive ductal carcinoma, pT1c pN0.", "warm-up")

    def __call__(self, batch: Sequence[Document]) -> list[PathologyExtractResult]:
        """One result per document, in order."""
        return [
            PathologyExtractResult(name=self.name, backend=self.backend, fields=extract_pathology(doc.text, doc.id))
            for doc in batch
        ]
