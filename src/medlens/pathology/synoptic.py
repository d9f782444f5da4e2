"""pathology.synoptic, rules backend: a CAP-style synoptic report from the extracted fields and the computed stage.

One report per record: the elements of the site's CAP resection protocol (``lexicon/synoptic_required.yaml``; other
sites get every element the report states), the AJCC stage of :func:`~medlens.pathology.stage.stage_fields`, and the
completeness and consistency findings of :mod:`medlens.pathology.synoptic_checks`, each pointing at its evidence.
Rendered as Markdown (in the result), HTML (:func:`render_html`, a Jinja2 template, autoescaped) and FHIR R4
(:func:`synoptic_resources` / :func:`synoptic_bundle`).

FHIR mapping (same conventions as ``medlens.export.fhir_radiology``, whose constants are repeated here because
families may not import the export layer):

* one ``DiagnosticReport``: ``status "partial"`` (machine output, not verified by an authorised person), category
  HL7 v2 Table 0074 ``SP`` (Surgical Pathology), ``code.text`` "Pathology synoptic report" (no LOINC code claimed),
  ``conclusion`` = the findings' messages, ``presentedForm`` = the Markdown, ``result`` = the Observations, AIAST
  security label and one ``derivation-reference`` extension to the source document;
* one ``Observation`` per stated element (``status "preliminary"``, code in ``urn:medlens:pathology-synoptic``,
  ``valueString``) and one for the computed stage group when staged, each with AIAST and one
  ``derivation-reference`` extension per evidence span (offset and length in characters of ``Document.text``).

Machine-generated decision support: not for diagnostic use; every element must be checked against the report.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import jinja2
from pydantic import BaseModel, ConfigDict, Field

from medlens.core.types import Document, Evidence, TaskResult
from medlens.pathology.schema import PathologyFields
from medlens.pathology.stage import ajcc_site_for, extract_fields, load_ajcc_sites, stage_fields
from medlens.pathology.stage_schema import PathologyStage
from medlens.pathology.synoptic_checks import (
    SynopticFinding,
    check_synoptic,
    element_present,
    load_synoptic_required,
)

__all__ = [
    "AIAST",
    "DERIVATION_REFERENCE",
    "ELEMENT_CODE_SYSTEM",
    "PathologySynopticResult",
    "PathologySynopticRules",
    "RecordContext",
    "SynopticElement",
    "build_synoptic",
    "element_value",
    "render_html",
    "render_markdown",
    "synoptic_bundle",
    "synoptic_resources",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
ElementLevel = Literal["required", "recommended", "optional"]

# v3-ObservationValue AIAST (as medlens.export.fhir.AIAST): HL7 "AI Transparency on FHIR" tag for AI-asserted data.
AIAST: dict[str, str] = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "AIAST",
    "display": "Artificial Intelligence asserted",
}
# FHIR Extensions Pack "Resource Derivation Reference" (as medlens.export.fhir.DERIVATION_REFERENCE).
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
ELEMENT_CODE_SYSTEM = "urn:medlens:pathology-synoptic"
RECORD_ID_SYSTEM = "urn:medlens:record-id"
SYNOPTIC_TASK = "pathology.synoptic"
# HL7 v2 Table 0074 (Diagnostic Service Section ID), HL7 Terminology (THO), CC0: SP = Surgical Pathology.
_PATHOLOGY_CATEGORY = {
    "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
    "code": "SP",
    "display": "Surgical Pathology",
}
# uuid5(NAMESPACE_URL, "urn:medlens:pathology-synoptic"): fixed, so fullUrls are stable across runs.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:medlens:pathology-synoptic")
_DISCLAIMER = "Machine-generated from the report text by medlens; not verified; not for diagnostic use."
# Markdown syntax a value could open (emphasis, code, links, raw HTML, table cells); parentheses and "+" are safe.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_SITE_LABELS = {"breast": "Breast", "colorectal": "Colon and rectum", "lung": "Lung"}


class SynopticElement(BaseModel):
    """One line of the synoptic report: an element, its value as stated (None: not stated) and its evidence."""

    model_config = _FROZEN

    name: str = Field(description="Element (PathologyFields attribute, or 'procedure' / 'laterality').")
    label: str = Field(description="Label shown in the report.")
    level: ElementLevel = Field(description="required / recommended by the site's protocol, else optional.")
    value: str | None = Field(description="Value as rendered from the extracted field; None when not stated.")
    evidence: tuple[Evidence, ...] = Field(default=(), description="Spans the value was read from.")


class PathologySynopticResult(TaskResult):
    """What ``pathology.synoptic`` returns for one report."""

    site: str | None = Field(default=None, description="AJCC site id the report was mapped to.")
    protocol: str | None = Field(default=None, description="CAP protocol (and version) whose elements were checked.")
    elements: tuple[SynopticElement, ...] = Field(description="Elements in report order.")
    stage: PathologyStage = Field(description="Computed AJCC stage and its comparison with the stated stage.")
    findings: tuple[SynopticFinding, ...] = Field(default=(), description="Completeness and consistency findings.")
    markdown: str = Field(description="The synoptic report as Markdown.")


# --- values -------------------------------------------------------------------------------------------------------


def _mm(value: float) -> str:
    return f"{value:g} mm"


def _unique(values: Sequence[str | None]) -> str | None:
    kept = list(dict.fromkeys(v for v in values if v))
    return "; ".join(kept) if kept else None


def element_value(fields: PathologyFields, name: str) -> tuple[str | None, tuple[Evidence, ...]]:
    """The rendered value of element ``name`` and its evidence (``(None, ())`` when not stated)."""
    if name in ("procedure", "laterality"):
        specimens = [s for s in fields.specimens if getattr(s, name)]
        return _unique([getattr(s, name) for s in specimens]), tuple(e for s in specimens for e in s.evidence)
    field = getattr(fields, name, None)
    if field is None:
        return None, ()
    return _FORMATTERS.get(name, _plain)(field), tuple(field.evidence)


def _plain(field: Any) -> str:
    return str(field.value)


def _grade(field: Any) -> str:
    return f"{field.value} ({field.system})" if field.system else str(field.value)


def _size(field: Any) -> str:
    dims = " x ".join(f"{d:g}" for d in field.dimensions_mm)
    return f"{dims} mm" if len(field.dimensions_mm) > 1 else _mm(field.largest_mm)


def _margins(field: Any) -> str:
    parts = [field.status or "status not stated"]
    if field.closest_distance_mm is not None:
        parts.append(f"closest {_mm(field.closest_distance_mm)}")
    if field.closest_margin:
        parts.append(f"({field.closest_margin})")
    return " ".join(parts)


def _status(field: Any) -> str:
    return str(field.status)


def _nodes(field: Any) -> str:
    involved = "?" if field.involved is None else str(field.involved)
    examined = "?" if field.examined is None else str(field.examined)
    text = f"{involved} involved / {examined} examined"
    groups = [f"{g.group or 'group'}: {g.involved}/{g.examined}" for g in field.groups]
    return text + (f" ({'; '.join(groups)})" if groups else "")


def _receptor(field: Any) -> str:
    parts = [str(field.status).replace("_", " ") if field.status else "status not stated"]
    if field.percent is not None:
        parts.append(f"{field.percent:g}%")
    if field.intensity:
        parts.append(f"{field.intensity} intensity")
    if field.allred is not None:
        parts.append(f"Allred {field.allred}")
    return ", ".join(parts)


def _her2(field: Any) -> str:
    parts = []
    if field.ihc is not None:
        parts.append(f"IHC {field.ihc}")
    if field.ish is not None:
        parts.append(f"ISH {field.ish.replace('_', ' ')}")
    parts.append(f"status {field.status}" if field.status else "status not stated")
    return ", ".join(parts)


def _ki67(field: Any) -> str:
    return f"{field.percent:g}%"


def _mmr(field: Any) -> str:
    parts = [f"{p.protein} {p.status}" for p in field.proteins]
    if field.msi:
        parts.append(field.msi)
    return ", ".join(parts) or "stated"


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "grade": _grade,
    "tumour_size": _size,
    "margins": _margins,
    "lymphovascular_invasion": _status,
    "perineural_invasion": _status,
    "lymph_nodes": _nodes,
    "er": _receptor,
    "pr": _receptor,
    "her2": _her2,
    "ki67": _ki67,
    "mmr": _mmr,
}


# --- build --------------------------------------------------------------------------------------------------------


def build_synoptic(
    fields: PathologyFields,
    *,
    stage: PathologyStage | None = None,
    name: str = "medlens.task.pathology.synoptic.v1",
    backend: str = "rules",
) -> PathologySynopticResult:
    """The synoptic report of one report's fields.

    Args:
        fields: What ``pathology.extract`` read.
        stage: The computed stage; computed with :func:`~medlens.pathology.stage.stage_fields` when None.
        name: Task name written into the result.
        backend: Backend name written into the result.

    Returns:
        Elements (the site protocol's, then any other element the report states), stage, findings and Markdown.
    """
    table = load_synoptic_required()
    site, _, _ = ajcc_site_for(fields)
    if stage is None:
        stage = stage_fields(fields)
    spec = table.sites.get(site or "")
    levels: dict[str, ElementLevel] = {}
    if spec is not None:
        levels.update(dict.fromkeys(spec.required, "required"))
        levels.update(dict.fromkeys(spec.recommended, "recommended"))
    elements: list[SynopticElement] = []
    for element in table.elements:
        level = levels.get(element.name, "optional")
        if level == "optional" and not element_present(fields, element.name):
            continue
        value, evidence = element_value(fields, element.name)
        elements.append(
            SynopticElement(name=element.name, label=element.label, level=level, value=value, evidence=evidence)
        )
    findings = tuple(check_synoptic(fields, site, stage))
    protocol = None
    if spec is not None:
        protocol = f"{spec.protocol}, version {spec.version}" if spec.version else f"{spec.protocol} (version n/a)"
    draft = PathologySynopticResult(
        name=name,
        backend=backend,
        site=site,
        protocol=protocol,
        elements=tuple(elements),
        stage=stage,
        findings=findings,
        markdown="",
    )
    return draft.model_copy(update={"markdown": render_markdown(draft)})


# --- Markdown -----------------------------------------------------------------------------------------------------


def _md(value: str) -> str:
    """Escape Markdown syntax (and raw HTML) in a value, so a value renders as text."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(value.split()))


def _site_label(site: str | None) -> str:
    if site is None:
        return "site not mapped"
    return _SITE_LABELS.get(site, site.replace("_", " ").capitalize())


def _stage_lines(stage: PathologyStage) -> list[str]:
    if stage.status == "staged":
        computed = f"**{_md(stage.stage_group or '')}**"
    elif stage.candidates:
        computed = f"{stage.status}; possible: {_md(', '.join(stage.candidates))}"
    else:
        computed = stage.status.replace("_", " ")
    lines = [f"- Computed: {computed}"]
    components = " ".join(c for c in (stage.t, stage.n, stage.m) if c)
    if components:
        lines.append(f"- From: {_md(components)}" + (" (T inferred from size)" if stage.t_inferred else ""))
    if stage.missing:
        lines.append(f"- Missing: {_md(', '.join(stage.missing))}")
    if stage.stated_stage is not None:
        lines.append(f"- Stated: {_md(stage.stated_stage)} ({stage.agreement})")
    if stage.citation is not None:
        lines.append(
            f"- Source: {_md(stage.citation.guideline)}, {_md(stage.citation.table)}; rule {_md(stage.rule or '')}"
        )
    elif stage.reasons:
        lines.append(f"- Reason: {_md(stage.reasons[0])}")
    return lines


def render_markdown(report: PathologySynopticResult) -> str:
    """The synoptic report as Markdown: elements table, stage and findings. Values are escaped."""
    lines = [f"# Synoptic pathology report: {_md(_site_label(report.site))}", "", f"_{_DISCLAIMER}_", ""]
    if report.protocol:
        lines += [f"Elements per {_md(report.protocol)}.", ""]
    lines += ["| Element | Value |", "| --- | --- |"]
    for e in report.elements:
        value = _md(e.value) if e.value is not None else f"_not stated_ ({e.level})"
        lines.append(f"| {_md(e.label)} | {value} |")
    lines += ["", "## AJCC stage (8th edition, computed)", "", *_stage_lines(report.stage), ""]
    lines += ["## Findings", ""]
    if not report.findings:
        lines.append("None.")
    for f in report.findings:
        lines.append(f"- **{f.severity}** ({f.kind}, `{f.code}`): {_md(f.message)}. Source: {_md(f.source)}")
    return "\n".join(lines) + "\n"


# --- HTML ---------------------------------------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("medlens.pathology", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: PathologySynopticResult, *, title: str | None = None) -> str:
    """The synoptic report as a standalone HTML page (Jinja2, autoescaped: no value can inject markup).

    Args:
        report: The synoptic result.
        title: Page title; defaults to the site's name.
    """
    template = _environment().get_template("synoptic.html.j2")
    return template.render(
        report=report,
        title=title or f"Synoptic pathology report: {_site_label(report.site)}",
        disclaimer=_DISCLAIMER,
    )


# --- FHIR R4 ------------------------------------------------------------------------------------------------------


class RecordContext(Protocol):
    """What a FHIR writer knows about a record (as ``medlens.export.fhir_radiology.RecordContext``)."""

    subject: dict[str, Any]
    source: str

    def derivation(self, evidence: Evidence) -> dict[str, Any]:
        """A ``derivation-reference`` extension for one evidence span."""
        ...


def _observation(code: str, text: str, value: str, evidence: Sequence[Evidence], ctx: RecordContext) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"security": [dict(AIAST)]},
        "extension": [ctx.derivation(e) for e in evidence],
        "status": "preliminary",
        "code": {"coding": [{"system": ELEMENT_CODE_SYSTEM, "code": code}], "text": text},
        "subject": ctx.subject,
        "valueString": value,
    }


def synoptic_resources(
    report: PathologySynopticResult,
    document: Document,
    ctx: RecordContext,
    *,
    full_url: Callable[..., str],
    identifier_system: str = RECORD_ID_SYSTEM,
) -> list[tuple[str, dict[str, Any]]]:
    """The DiagnosticReport and its Observations for one synoptic report, as ``(fullUrl, resource)`` pairs.

    Args:
        report: The record's ``pathology.synoptic`` result.
        document: The record (its id only; its text is never copied).
        ctx: Subject reference, source document reference and span extensions of the record.
        full_url: Deterministic ``urn:uuid:`` builder, called with string parts.
        identifier_system: System of the identifier holding the record id.

    Returns:
        The report first, then one Observation per stated element with evidence and one for a computed stage group.
    """
    observations: list[tuple[str, dict[str, Any]]] = []
    for e in report.elements:
        if e.value is None or not e.evidence:
            continue
        observations.append(
            (full_url(document.id, SYNOPTIC_TASK, e.name), _observation(e.name, e.label, e.value, e.evidence, ctx))
        )
    stage = report.stage
    if stage.status == "staged" and stage.stage_group is not None and stage.evidence:
        resource = _observation(
            "ajcc8_stage_group", "AJCC 8th edition stage group (computed)", stage.stage_group, stage.evidence, ctx
        )
        if stage.citation is not None:
            note = f"Computed by medlens from {' '.join(c for c in (stage.t, stage.n, stage.m) if c)}"
            note += f" ({stage.citation.guideline}, {stage.citation.table}; rule {stage.rule})"
            resource["note"] = [{"text": note + (". T inferred from size." if stage.t_inferred else ".")}]
        observations.append((full_url(document.id, SYNOPTIC_TASK, "stage"), resource))
    markdown = report.markdown.encode("utf-8")
    diagnostic: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "meta": {"security": [dict(AIAST)]},
        "extension": [
            {
                "url": DERIVATION_REFERENCE,
                "extension": [{"url": "reference", "valueReference": {"reference": ctx.source}}],
            }
        ],
        "identifier": [{"system": identifier_system, "value": document.id}],
        "status": "partial",
        "category": [{"coding": [dict(_PATHOLOGY_CATEGORY)]}],
        "code": {"text": "Pathology synoptic report"},
        "subject": ctx.subject,
        "result": [{"reference": url} for url, _ in observations],
        "presentedForm": [
            {
                "contentType": "text/markdown; charset=utf-8",
                "data": base64.b64encode(markdown).decode("ascii"),
                "title": "Synoptic report (machine-generated, not verified)",
            }
        ],
    }
    if report.findings:
        diagnostic["conclusion"] = " ".join(f"[{f.severity}] {f.message}." for f in report.findings)
    if not observations:
        del diagnostic["result"]
    return [(full_url(document.id, SYNOPTIC_TASK), diagnostic), *observations]


def _full_url(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, chr(31).join(parts))}"


class _Context:
    """Subject and source of a standalone bundle."""

    def __init__(self, subject: dict[str, Any], source: str) -> None:
        self.subject = subject
        self.source = source

    def derivation(self, evidence: Evidence) -> dict[str, Any]:
        return {
            "url": DERIVATION_REFERENCE,
            "extension": [
                {"url": "reference", "valueReference": {"reference": self.source}},
                {"url": "offset", "valueInteger": evidence.start},
                {"url": "length", "valueInteger": evidence.end - evidence.start},
            ],
        }


def synoptic_bundle(report: PathologySynopticResult, document: Document) -> dict[str, Any]:
    """A standalone FHIR R4 ``collection`` Bundle: the source DocumentReference (no text), the report, Observations.

    The run-wide transaction Bundle (``medlens.export.fhir``) should call :func:`synoptic_resources` instead.
    """
    source = _full_url(document.id, "document")
    if document.patient_id is not None and re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", document.patient_id):
        subject: dict[str, Any] = {"reference": f"Patient/{document.patient_id}"}
    elif document.patient_id is not None:
        subject = {"type": "Patient", "identifier": {"system": "urn:medlens:patient-id", "value": document.patient_id}}
    else:
        subject = {"display": "patient not identified in the input"}
    data = document.text.encode("utf-8")
    reference = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": RECORD_ID_SYSTEM, "value": document.id}],
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "size": len(data),
                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),  # R4: SHA-1, base64
                }
            }
        ],
    }
    entries = [{"fullUrl": source, "resource": reference}]
    for url, resource in synoptic_resources(report, document, _Context(subject, source), full_url=_full_url):
        entries.append({"fullUrl": url, "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


# --- task ---------------------------------------------------------------------------------------------------------


class PathologySynopticRules:
    """Deterministic CAP-style synoptic report, stage and findings for pathology reports (``pathology.synoptic``).

    Args:
        assume_cm0: Stage with cM0 when the report states no M (default False; see
            :func:`~medlens.pathology.stage.stage_fields`).
    """

    name = "medlens.task.pathology.synoptic.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.pathology.synoptic",)

    def __init__(self, *, assume_cm0: bool = False) -> None:
        self.assume_cm0 = assume_cm0
        load_synoptic_required()
        load_ajcc_sites()
        _environment()

    def __call__(self, batch: Sequence[Document]) -> list[PathologySynopticResult]:
        """One result per document, in order."""
        out = []
        for doc in batch:
            fields = extract_fields(doc.text, doc.id)
            stage = stage_fields(fields, assume_cm0=self.assume_cm0)
            out.append(build_synoptic(fields, stage=stage, name=self.name, backend=self.backend))
        return out
