"""HTML report: one self-contained page with a run summary and every note's findings highlighted in its text.

The page has no external resources (inline CSS, inline SVG chart, a few lines of inline JavaScript), so it can be
opened from disk, attached to a ticket or archived. Everything that comes from the input or the results is escaped
(note text may hold ``<script>``): by Jinja2's autoescaping in the packaged template, and with ``html.escape`` in the
two per-note fragments built here for speed (the highlighted text and the findings table).

Claims are found by duck typing, so other families highlight too: every task result's ``findings``, ``labels``,
``lesions``, ``measurements`` and ``sentences`` lists are read, and every field of a ``fields`` record (pathology:
``pT``, ``margins``, ``er``...); each claim's ``evidence`` spans are highlighted and its ``type`` (or the list or field
it came from) picks the colour. Task results may be pydantic models or plain mappings
(results read back from ``results.jsonl``).

Overlapping evidence is drawn by cutting the text at every span boundary: each segment is one ``<mark>`` carrying the
classes, finding ids and evidence ranges of every span that covers it (``data-start``/``data-end`` are the
segment's own offsets in the note text; ``data-ev`` lists ``finding-id:start-end`` of the covering evidence).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import itertools
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pydantic import BaseModel

from medlens.core.errors import ConfigError
from medlens.core.types import ASSERTION_STATUSES, Assertion, Document, RecordResult
from medlens.notes.schema import FINDING_TYPES

__all__ = ["Highlight", "HtmlReportWriter", "Segment", "segment_text"]

log = logging.getLogger(__name__)

NOTICE = "Decision support for clinician review — not for diagnostic use"

# Light backgrounds with enough contrast for black text; one per notes.extract finding type.
TYPE_COLOURS: dict[str, str] = {
    "problem": "#f8c4c4",
    "medication": "#bfdcf7",
    "allergy": "#f7d9a8",
    "vital": "#c2ecc9",
    "lab": "#dccaf5",
    "procedure": "#f2ee9d",
}
# Colours for types other families introduce, handed out in order of first appearance.
EXTRA_COLOURS: tuple[str, ...] = ("#b4e7e3", "#f4c0e4", "#d6d6d6", "#ffd3a0", "#c8f7b8", "#c2bcfb", "#f0c9a8")

# Short names of FHIR code system URIs (terminology.hl7.org), so the page shows "ICD-10-CM I10" and carries no
# URLs; other systems are shown without their scheme.
CODE_SYSTEMS: dict[str, str] = {
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://snomed.info/sct": "SNOMED CT",
    "http://unitsofmeasure.org": "UCUM",
    "http://hl7.org/fhir/sid/ndc": "NDC",
    "http://www.ama-assn.org/go/cpt": "CPT",
}

_CLAIM_LISTS = ("findings", "labels", "lesions", "measurements", "sentences")
_escape = html.escape  # quote=True: safe in text and in double-quoted attributes
_SLUG = re.compile(r"[^a-z0-9_-]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _get(obj: Any, name: str) -> Any:
    """``obj[name]`` for mappings, the field ``name`` of a model or object otherwise; None when absent.

    Reads pydantic fields from ``__dict__`` (and extras from ``__pydantic_extra__``) directly: a missing attribute
    on a model goes through its slow ``__getattr__``, and this runs for every field of every claim.
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    fields = getattr(obj, "__dict__", None)
    if fields is not None and name in fields:
        return fields[name]
    if isinstance(obj, BaseModel):
        extra = obj.__pydantic_extra__
        return extra.get(name) if extra else None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


@functools.lru_cache(maxsize=256)
def _slug(value: str) -> str:
    return _SLUG.sub("-", value.lower()).strip("-") or "other"


@dataclass(frozen=True, slots=True)
class Highlight:
    """One evidence span of one finding, to highlight in the note text."""

    fid: str
    type: str
    start: int
    end: int
    label: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of note text ``[start, end)`` and the highlights covering all of it (outermost first)."""

    start: int
    end: int
    text: str
    highlights: tuple[Highlight, ...] = ()

    @property
    def css_class(self) -> str:
        """Classes: ``ml-hl``, ``t-<type>`` per covering type, ``p-<type>`` for the innermost, ``ml-overlap``."""
        hs = self.highlights
        inner = _slug(hs[-1].type)
        if len(hs) == 1:
            return f"ml-hl t-{inner} p-{inner}"
        types = " ".join(f"t-{_slug(t)}" for t in sorted({h.type for h in hs}))
        return f"ml-hl {types} p-{inner} ml-overlap"

    @property
    def fids(self) -> str:
        """Space-separated ids of the findings covering this segment (a finding may cover it more than once)."""
        hs = self.highlights
        if len(hs) == 1:
            return hs[0].fid
        seen: list[str] = []
        for h in hs:
            if h.fid not in seen:
                seen.append(h.fid)
        return " ".join(seen)

    @property
    def ev(self) -> str:
        """Space-separated ``fid:start-end`` of every covering evidence span."""
        return " ".join(f"{h.fid}:{h.start}-{h.end}" for h in self.highlights)

    @property
    def title(self) -> str:
        """Hover text: one line per covering finding."""
        hs = self.highlights
        if len(hs) == 1:
            return hs[0].label
        seen: list[str] = []
        for h in hs:
            if h.label not in seen:
                seen.append(h.label)
        return "\n".join(seen)


def segment_text(text: str, highlights: Iterable[Highlight]) -> list[Segment]:
    """Cut ``text`` at every highlight boundary; each segment lists the highlights covering it.

    Highlights that are empty or fall outside ``text`` are ignored. Concatenating the segments' text gives ``text``
    back. Cost is O(b log b + s·k) for b boundaries, s segments and k overlapping highlights.

    Args:
        text: The note text.
        highlights: Spans to highlight (offsets into ``text``).

    Returns:
        Segments in text order; unhighlighted stretches have an empty ``highlights``.
    """
    n = len(text)
    valid = [h for h in highlights if 0 <= h.start < h.end <= n]
    if not valid:
        return [Segment(0, n, text)] if n else []
    starts: dict[int, list[Highlight]] = {}
    bounds = {0, n}
    for h in valid:
        starts.setdefault(h.start, []).append(h)
        bounds.add(h.start)
        bounds.add(h.end)
    points = sorted(bounds)
    active: list[Highlight] = []
    segments: list[Segment] = []
    for a, b in itertools.pairwise(points):
        if a in starts:
            active.extend(starts[a])
        if active:
            active = [h for h in active if h.end > a]
            # Outermost (longest) first, so the last one is the innermost and decides the background colour.
            active.sort(key=lambda h: (h.start - h.end, h.start, h.fid))
        segments.append(Segment(a, b, text[a:b], tuple(active)))
    return segments


@dataclass(slots=True)
class _FindingRow:
    fid: str
    task: str
    type: str
    text: str
    code: str
    code_title: str
    value: str
    section: str
    statuses: tuple[str, ...]
    flags: tuple[str, ...]
    cues: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def slug(self) -> str:
        return _slug(self.type)


@dataclass(slots=True)
class _NoteView:
    index: int
    anchor: str
    id: str
    kind: str
    source: str
    length: int
    truncated: bool
    body: Markup
    table: Markup
    n_findings: int
    errors: list[tuple[str, str, str]]


@dataclass(slots=True)
class _SummaryRow:
    index: int
    id: str
    kind: str
    anchor: str | None
    types: Counter[str]
    statuses: Counter[str]
    errors: int
    error_codes: str


@dataclass(slots=True)
class _Totals:
    notes: int = 0
    rendered: int = 0
    listed: int = 0
    findings: int = 0
    notes_with_errors: int = 0
    errors: int = 0
    types: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)


def _note_html(segments: Iterable[Segment]) -> Markup:
    """The note text as HTML: every segment escaped, highlighted ones wrapped in ``<mark>``.

    Built here rather than in the template because it is the hot part of the page (hundreds of segments per note).
    Text and titles go through ``html.escape``; classes, finding ids and offsets are made by this module from
    slugs (``[a-z0-9_-]``) and integers, and are escaped anyway since ids come from the caller.
    """
    parts: list[str] = []
    for seg in segments:
        text = _escape(seg.text)
        if not seg.highlights:
            parts.append(text)
            continue
        parts.append(
            f'<mark class="{seg.css_class}" data-start="{seg.start}" data-end="{seg.end}" '
            f'data-f="{_escape(seg.fids)}" data-ev="{_escape(seg.ev)}" title="{_escape(seg.title)}">{text}</mark>'
        )
    return Markup("".join(parts))


_TABLE_HEAD = (
    '<table class="findings">\n<thead><tr><th>Type</th><th>Finding</th><th>Code</th><th>Value / detail</th>'
    "<th>Section</th><th>Assertion</th><th>Cues</th><th>Evidence</th></tr></thead>\n<tbody>"
)


def _findings_table(rows: Sequence[_FindingRow]) -> Markup:
    """The findings table under a note (type, text, code, value, section, badges, cues, evidence), all escaped."""
    if not rows:
        return Markup('<p class="muted">No findings.</p>')
    out = [_TABLE_HEAD]
    for f in rows:
        badges = "".join(f'<span class="badge b-{_slug(s)}">{_escape(s)}</span>' for s in f.statuses)
        badges += "".join(f'<span class="badge b-flag">{_escape(flag)}</span>' for flag in f.flags)
        task = "" if f.task == "notes.extract" else f' <span class="muted">{_escape(f.task)}</span>'
        code_title = f' title="{_escape(f.code_title)}"' if f.code_title else ""
        out.append(
            f'<tr data-f="{_escape(f.fid)}" data-type="{_escape(f.type)}">'
            f'<td><span class="type-chip c-{f.slug}">{_escape(f.type)}</span>{task}</td>'
            f"<td>{_escape(f.text)}</td>"
            f'<td class="code"{code_title}>{_escape(f.code)}</td>'
            f"<td>{_escape(f.value)}</td>"
            f"<td>{_escape(f.section)}</td>"
            f"<td>{badges}</td>"
            f"<td>{_escape('; '.join(f.cues))}</td>"
            f'<td class="ev">{_escape(", ".join(f.evidence))}</td></tr>'
        )
    out.append("</tbody>\n</table>")
    return Markup("\n".join(out))


def _quantity(q: Any) -> str:
    if q is None:
        return ""
    text = _get(q, "text")
    if not text:
        value = _get(q, "value")
        low, high = _get(q, "low"), _get(q, "high")
        if value is not None:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = f"{_get(q, 'comparator') or ''}{value:g}" if numeric else str(value)
        elif low is not None and high is not None:
            text = f"{low:g}-{high:g}"
        else:
            text = ""
    unit = _get(q, "unit")
    if unit and unit not in text:
        text = f"{text} {unit}"
    return str(text)


def _attr_text(a: Any) -> str:
    return str(_get(a, "text") or _get(a, "value") or "") if a is not None else ""


def _value_text(claim: Any) -> str:
    """Value, unit and flag of a measurement; sig of a medication; reactions of an allergy; generic value/unit."""
    m = _get(claim, "measurement")
    if m is not None:
        value = _quantity(_get(m, "value"))
        value2 = _quantity(_get(m, "value2"))
        text = f"{value}/{value2}" if value2 else value
        text = text or str(_get(m, "text_value") or "")
        flag = _get(m, "interpretation")
        return f"{text} [{flag}]" if flag else text
    med = _get(claim, "medication")
    if med is not None:
        dose = _quantity(_get(med, "dose"))
        parts = [dose, *(_attr_text(_get(med, k)) for k in ("route", "frequency", "duration", "prn"))]
        return " ".join(p for p in parts if p)
    allergy = _get(claim, "allergy")
    if allergy is not None:
        reactions = [_attr_text(r) for r in _get(allergy, "reactions") or ()]
        return "reaction: " + ", ".join(r for r in reactions if r) if any(reactions) else ""
    value, unit = _get(claim, "value"), _get(claim, "unit")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"{value} {unit}" if isinstance(unit, str) and unit else str(value)
    return ""


def _code(claim: Any) -> tuple[str, str]:
    code = _get(claim, "code")
    if code is None:
        return "", ""
    if isinstance(code, str):
        return code, ""
    system = str(_get(code, "system") or "")
    short = CODE_SYSTEMS.get(system) or _SCHEME.sub("", system)
    value = str(_get(code, "code") or "")
    display = str(_get(code, "display") or "")
    return f"{short} {value}".strip(), display


def _field_items(fields: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(fields, Mapping):
        yield from fields.items()
    elif isinstance(fields, BaseModel):
        for name in type(fields).model_fields:
            yield name, getattr(fields, name)


def _claims(result: RecordResult) -> Iterator[tuple[str, str, Any]]:
    """(task alias, list name, claim) for every claim in every task result's claim lists and ``fields`` record."""
    for alias, task_result in result.tasks.items():
        for key in _CLAIM_LISTS:
            items = _get(task_result, key)
            if isinstance(items, list | tuple):
                for claim in items:
                    yield alias, key, claim
        # A record of named fields (pathology.extract): each field, or each item of a list field, is a claim.
        for name, value in _field_items(_get(task_result, "fields")):
            for claim in value if isinstance(value, list | tuple) else (value,):
                if _get(claim, "evidence"):
                    yield alias, name, claim


def _claim_type(key: str, claim: Any) -> str:
    value = _get(claim, "type")
    if isinstance(value, str) and value:
        return value
    return key[:-1] if key.endswith("s") else key


def _statuses(claim: Any) -> tuple[str, ...]:
    assertion = _get(claim, "assertion")
    if assertion is None:
        return ()
    if isinstance(assertion, Assertion):
        return assertion.statuses
    return tuple(s for s in ASSERTION_STATUSES if _get(assertion, s) is True)


def _render_limit(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"html writer option {name} must be a whole number >= 0, got {value!r}", code="ML201")
    return value


class HtmlReportWriter:
    """Writes ``report.html``: summary table, per-type chart, and each note with its findings highlighted.

    Construct as ``HtmlReportWriter(out_dir, **options)``, call :meth:`write` once per record in order, then
    :meth:`close` to render the page. Only the first ``max_notes`` notes are kept and rendered in full; later ones
    are counted and listed in the summary (up to ``max_summary_rows`` rows), so memory and file size stay bounded.

    Args:
        out_dir: Folder to write ``report.html`` into (created if missing).
        max_notes: Notes rendered in full with text and findings (default 500).
        max_summary_rows: Rows of the per-note summary table (default 10,000); totals always cover every note.
        max_chars: Characters of each note's text shown (default 200,000); the rest is cut with a notice.
        title: Page title.

    Raises:
        ConfigError: ML201 when a limit is not a whole number >= 0.
    """

    filename = "report.html"

    def __init__(
        self,
        out_dir: Path,
        *,
        max_notes: int = 500,
        max_summary_rows: int = 10_000,
        max_chars: int = 200_000,
        title: str = "medlens report",
    ) -> None:
        self.out_dir = Path(out_dir)
        self.max_notes = _render_limit(max_notes, "max_notes")
        self.max_summary_rows = _render_limit(max_summary_rows, "max_summary_rows")
        self.max_chars = _render_limit(max_chars, "max_chars")
        self.title = title
        self.started = dt.datetime.now(dt.UTC)
        self._notes: list[_NoteView] = []
        self._rows: list[_SummaryRow] = []
        self._totals = _Totals()
        self._types: dict[str, None] = dict.fromkeys(FINDING_TYPES)
        self._closed = False

    def write(self, document: Document, result: RecordResult) -> None:
        """Add one record and its results (counts always; text and findings while under ``max_notes``)."""
        totals = self._totals
        totals.notes += 1
        index = totals.notes
        render = len(self._notes) < self.max_notes
        anchor = f"note-{index}"
        types: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        rows: list[_FindingRow] = []
        highlights: list[Highlight] = []
        for k, (alias, key, claim) in enumerate(_claims(result)):
            ctype = _claim_type(key, claim)
            self._types.setdefault(ctype, None)
            # Counts are of grounded claims; an unsupported one (a label "not mentioned") is listed, not counted.
            if _get(claim, "supported") is not False:
                types[ctype] += 1
            claim_statuses = _statuses(claim)
            statuses.update(claim_statuses)
            if render:
                row = self._finding_row(f"n{index}-f{k}", alias, ctype, claim, claim_statuses, document)
                rows.append(row)
                highlights.extend(self._highlights(row, claim, document))
        errors = [(str(e.code), str(e.message), str(e.task or "")) for e in result.errors]
        totals.findings += sum(types.values())
        totals.types.update(types)
        totals.statuses.update(statuses)
        totals.errors += len(errors)
        totals.notes_with_errors += bool(errors)
        if render:
            text = document.text
            truncated = len(text) > self.max_chars
            shown = text[: self.max_chars] if truncated else text
            self._notes.append(
                _NoteView(
                    index=index,
                    anchor=anchor,
                    id=document.id,
                    kind=document.kind,
                    source=document.source or "",
                    length=len(text),
                    truncated=truncated,
                    body=_note_html(segment_text(shown, highlights)),
                    table=_findings_table(rows),
                    n_findings=len(rows),
                    errors=errors,
                )
            )
            totals.rendered += 1
        if len(self._rows) < self.max_summary_rows:
            self._rows.append(
                _SummaryRow(
                    index=index,
                    id=document.id,
                    kind=document.kind,
                    anchor=anchor if render else None,
                    types=types,
                    statuses=statuses,
                    errors=len(errors),
                    error_codes=", ".join(dict.fromkeys(code for code, _, _ in errors)),
                )
            )
            totals.listed += 1

    @staticmethod
    def _finding_row(
        fid: str, alias: str, ctype: str, claim: Any, statuses: tuple[str, ...], document: Document
    ) -> _FindingRow:
        code, code_title = _code(claim)
        flags: list[str] = []
        status = _get(claim, "status")
        if isinstance(status, str) and status:
            flags.append(status)
        if _get(claim, "supported") is False:
            flags.append("unsupported")
        evidence: list[str] = []
        for ev in _get(claim, "evidence") or ():
            start, end, rid = _get(ev, "start"), _get(ev, "end"), _get(ev, "record_id")
            where = f"{start}-{end}"
            if rid is not None and rid != document.id:
                where = f"{where} in {rid}"
            elif not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(document.text)):
                where = f"{where} (outside text)"
                if "evidence outside text" not in flags:
                    flags.append("evidence outside text")
            evidence.append(where)
        cues = tuple(f"{_get(c, 'text')} ({_get(c, 'status')})" for c in (_get(_get(claim, "assertion"), "cues") or ()))
        text = _get(claim, "text") or _get(claim, "name") or ""
        return _FindingRow(
            fid=fid,
            task=alias,
            type=ctype,
            text=str(text),
            code=code,
            code_title=code_title,
            value=_value_text(claim),
            section=str(_get(claim, "section") or ""),
            statuses=statuses,
            flags=tuple(flags),
            cues=cues,
            evidence=tuple(evidence),
        )

    @staticmethod
    def _highlights(row: _FindingRow, claim: Any, document: Document) -> Iterator[Highlight]:
        badges = ", ".join((*row.statuses, *row.flags))
        label = f"{row.type}: {row.text}" + (f" [{badges}]" if badges else "")
        for ev in _get(claim, "evidence") or ():
            rid = _get(ev, "record_id")
            start, end = _get(ev, "start"), _get(ev, "end")
            if (rid is None or rid == document.id) and isinstance(start, int) and isinstance(end, int):
                yield Highlight(fid=row.fid, type=row.type, start=start, end=end, label=label)

    def _context(self) -> dict[str, Any]:
        types = list(self._types)
        extra = iter(EXTRA_COLOURS * (len(types) // len(EXTRA_COLOURS) + 1))
        colours = {t: TYPE_COLOURS.get(t) or next(extra) for t in types}
        totals = self._totals
        peak = max(totals.types.values(), default=0)
        bar_width = 360
        chart = [
            {
                "type": t,
                "slug": _slug(t),
                "count": totals.types[t],
                "width": round(bar_width * totals.types[t] / peak, 1) if peak else 0,
                "y": 8 + i * 24,
            }
            for i, t in enumerate(types)
        ]
        try:
            medlens_version = version("medlens")
        except PackageNotFoundError:  # a source tree without installation
            medlens_version = "unknown"
        return {
            "title": self.title,
            "notice": NOTICE,
            "version": medlens_version,
            "started": self.started.isoformat(timespec="seconds"),
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "types": [{"name": t, "slug": _slug(t), "colour": colours[t]} for t in types],
            "statuses": ASSERTION_STATUSES,
            "totals": totals,
            "rows": self._rows,
            "notes": self._notes,
            "chart": chart,
            "chart_height": 16 + 24 * len(types),
            "bar_width": bar_width,
            "max_notes": self.max_notes,
            "max_summary_rows": self.max_summary_rows,
            "max_chars": self.max_chars,
        }

    def render(self) -> str:
        """Return the page as a string (what :meth:`close` writes)."""
        return _environment().get_template("report.html.j2").render(self._context())

    def close(self) -> None:
        """Render and write ``report.html`` (atomically: a partial page never replaces a complete one)."""
        if self._closed:
            return
        self._closed = True
        self.out_dir.mkdir(parents=True, exist_ok=True)
        target = self.out_dir / self.filename
        tmp = target.with_name(f".{self.filename}.tmp")
        tmp.write_text(self.render(), encoding="utf-8")
        os.replace(tmp, target)
        log.info("wrote %s (%d notes, %d rendered)", target, self._totals.notes, self._totals.rendered)


_ENV: jinja2.Environment | None = None


def _environment() -> jinja2.Environment:
    """The packaged template environment, autoescaping everything (loaded once)."""
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(
            loader=jinja2.PackageLoader("medlens.export", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return _ENV
