"""radiology.impression, rules backend: a grounded, extractive draft impression from a report's findings.

One pass per report, offline and deterministic:

1. Sections (:func:`~medlens.radiology.report_sections.report_sections`): the FINDINGS section (and its sub-headers)
   is the only source; a report without a findings section uses its un-sectioned body. The report's own impression
   is never read, so the draft can be compared with it.
2. :class:`~medlens.radiology.labels.RadiologyLabelsRules` restricted to that section: every label that is positive
   or uncertain (No Finding aside), plus the label set's *other findings* (granuloma, emphysema, scoliosis...) that
   keep the report from being normal, each with its mention spans.
3. Ranking by ``lexicon/impression.yaml`` (a medlens convention, not a guideline: pneumothorax, consolidation,
   pneumonia, edema, effusion, lesion first; other findings, then support devices last), a derived label (Lung
   Opacity from Atelectasis) with and after the label it came from, positive before uncertain at the same priority,
   then by position.
4. Merging: the mentions of one label in several sentences make one impression sentence citing all of them, and a
   findings sentence already used by a more urgent label is not repeated (its labels are added to that sentence).
5. Wording is **extractive only**: each findings sentence is cut into clauses (at ``;`` and at "but", "however",
   "although", "whereas"), the contiguous clauses holding the label mentions are kept — a sentence with an uncertain
   mention is kept whole, so hedges stay ("possible", "cannot exclude") — and copied verbatim (whitespace collapsed, a
   leading list number dropped, first letter capitalised, a final period). ``evidence`` holds exactly the copied
   spans, so every word of the sentence is a word of its evidence, numbers included.
6. Normal template: when no label but Support Devices is positive or uncertain, every other finding is one the
   lexicon lists as chronic or incidental (``non_acute_other``: granuloma, degenerative spine, hyperinflation...),
   and the findings hold at least one negative mention or normal statement, the fixed sentence of the lexicon ("No
   acute cardiopulmonary abnormality.") comes first, citing those negative mentions and normal statements; the
   incidental findings and devices follow it, copied. With nothing to cite, no template is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import Document, Evidence
from medlens.radiology.findings import RadiologyFindingsRules
from medlens.radiology.impression_guidelines import GuidelineOptions, guideline_notes
from medlens.radiology.impression_schema import (
    GuidelineNote,
    ImpressionSentence,
    ImpressionSource,
    RadiologyImpressionResult,
)
from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.report_sections import report_sections
from medlens.radiology.schema import Label
from medlens.text.analysis import analyze

__all__ = ["ImpressionLexicon", "RadiologyImpressionRules", "load_impression_lexicon"]

_PRODUCER = "medlens.rule.radiology.impression.extract.v1"
_TEMPLATE_PRODUCER = "medlens.rule.radiology.impression.normal_template.v1"
_OTHER = "other"
_OTHER_PRODUCER = ".other."
_NO_FINDING = "No Finding"
_DEVICES = "Support Devices"
_STATUS_ORDER = {"positive": 0, "uncertain": 1}
# Clause boundaries inside a sentence: a semicolon, or a contrastive conjunction (with its comma).
_CLAUSE_BREAK = re.compile(r"\s*;\s*|,?\s+(?:but|however|although|whereas)\b,?\s*", re.IGNORECASE)
# What is trimmed off a copied clause: a list number or bullet in front, punctuation at either end.
_LEAD = re.compile(r"[\s,;:.\-*•]*(?:(?:\d{1,2}[.)]|\(\d{1,2}\))\s+)?[\s,;:\-*•]*")
_TRAIL = re.compile(r"[\s,;:.\-]*\Z")
_WORD = re.compile(r"\w")


class ImpressionLexicon(BaseModel):
    """``lexicon/impression.yaml``: the priority list and the normal template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(description="Version of the file.")
    source: str = Field(description="Where the order comes from (a medlens convention, not a guideline).")
    licence: str = Field(description="Licence of the file.")
    priority: tuple[str, ...] = Field(min_length=1, description="Label names, most urgent first; 'other' allowed.")
    normal_template: str = Field(min_length=1, description="The fixed sentence for findings stating no abnormality.")
    non_acute_other: tuple[str, ...] = Field(
        default=(), description="Other-finding ids (of the label set) that do not rule the normal template out."
    )


def load_impression_lexicon() -> ImpressionLexicon:
    """The packaged ``medlens/radiology/lexicon/impression.yaml``.

    Raises:
        ConfigError: ML205 if the file is missing or invalid.
    """
    return load_yaml_lexicon("medlens.radiology", "impression.yaml", ImpressionLexicon)


@dataclass(slots=True)
class _Item:
    """One finding to report: a label (or other finding) with its status and mention spans."""

    key: str
    status: str
    mentions: list[Evidence]
    cues: list[tuple[int, int]]
    derived_from: tuple[str, ...] = ()


@dataclass(slots=True)
class _Group:
    """One impression sentence under construction: the items it reports and the findings sentences it copies."""

    keys: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    sentences: set[tuple[int, int]] = field(default_factory=set)
    mentions: list[Evidence] = field(default_factory=list)
    cues: list[tuple[int, int]] = field(default_factory=list)


def _inside(ev: Evidence, regions: Sequence[tuple[int, int]]) -> bool:
    return any(a <= ev.start and ev.end <= b for a, b in regions)


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start
    for m in _CLAUSE_BREAK.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    return out


def _clause_index(clauses: list[tuple[int, int]], offset: int) -> int:
    for i, (_, ce) in enumerate(clauses):
        if offset < ce:
            return i
    return len(clauses) - 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    lead = _LEAD.match(text, start, end)
    if lead is not None:
        start = lead.end()
    trail = _TRAIL.search(text, start, end)
    if trail is not None:
        end = trail.start()
    return start, max(start, end)


def _sentence_text(fragments: Sequence[str]) -> str:
    parts = []
    for frag in fragments:
        words = " ".join(frag.split())
        parts.append(words[:1].upper() + words[1:] + ".")
    return " ".join(parts)


class RadiologyImpressionRules:
    """Deterministic, offline draft impression of a radiology report, every sentence grounded in its findings.

    Args:
        labelset: the label set passed to :class:`~medlens.radiology.labels.RadiologyLabelsRules` (default
            ``"chexpert"``).
        guidelines: options of the guideline notes (:class:`~medlens.radiology.impression_guidelines.GuidelineOptions`:
            ``enabled``, ``setting`` auto/screening/incidental, ``lung_cancer_risk``).

    Raises:
        ConfigError: ML205 if ``lexicon/impression.yaml`` is invalid or names a label the label set lacks; ML201 for
            invalid guideline options.
    """

    name = "medlens.task.radiology.impression.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.radiology.impression",)

    def __init__(self, *, labelset: str = "chexpert", guidelines: Mapping[str, Any] | None = None) -> None:
        try:
            self._guidelines = GuidelineOptions.model_validate(guidelines or {})
        except ValueError as exc:
            raise ConfigError(f"invalid radiology.impression option 'guidelines': {exc}", code="ML201") from exc
        self._findings = {
            role: RadiologyFindingsRules(sections=(role,), keep_negated=False) for role in ("findings", "body")
        }
        self._lexicon = load_impression_lexicon()
        self._labelers = {
            "findings": RadiologyLabelsRules(labelset=labelset, sections=("findings",)),
            "body": RadiologyLabelsRules(labelset=labelset, sections=("body",)),
        }
        names = {lab.name for lab in self._labelers["findings"].label("", "medlens-warm-up")}
        unknown = sorted(set(self._lexicon.priority) - names - {_OTHER})
        if unknown:
            raise ConfigError(
                f"lexicon medlens.radiology/lexicon/impression.yaml names label(s) {unknown} that label set "
                f"{labelset!r} lacks; valid: {', '.join(sorted(names))}, {_OTHER}",
                code="ML205",
            )
        self._priority = {n: i for i, n in enumerate(self._lexicon.priority)}

    def __call__(self, batch: Sequence[Document]) -> list[RadiologyImpressionResult]:
        """One result per document, in order."""
        return [self.draft(doc.text, doc.id, meta=doc.meta) for doc in batch]

    def draft(self, text: str, record_id: str, *, meta: Mapping[str, Any] | None = None) -> RadiologyImpressionResult:
        """The draft impression of one report.

        Args:
            text: the report.
            record_id: id written into every evidence span.
            meta: the document's ``meta`` (per-report guideline inputs such as ``lung_cancer_risk``).
        """
        analysis = analyze(text)
        sections = report_sections(analysis)
        regions = {
            role: [
                (rs.section.header_end, rs.section.end)
                for rs in sections.sections
                if rs.role == role and _WORD.search(text, rs.section.header_end, rs.section.end)
            ]
            for role in ("findings", "body")
        }
        source: ImpressionSource = "findings" if regions["findings"] else "body" if regions["body"] else "none"
        if source == "none":
            return self._result((), normal=False, source="none")
        # Keep only evidence inside the source section as sectioned with the default roles: restricting the labeler's
        # sections also changes the role of an unknown sub-header under the impression ("Left knee:") to findings.
        spans = regions[source]
        labels = [
            lab.model_copy(update={"evidence": tuple(ev for ev in lab.evidence if _inside(ev, spans))})
            for lab in self._labelers[source].label(text, record_id)
        ]
        by_name = {lab.name: lab for lab in labels}
        items = self._items(labels)

        def sentence_at(offset: int) -> tuple[int, int]:
            # A header and its text on one line are one sentence: start the copy after the header.
            s0, s1 = analysis.sentence_at(offset)
            return max(s0, sections.at(offset).section.header_end), s1

        groups = self._group(items, sentence_at)
        sentences: list[ImpressionSentence] = []
        allowed = {_DEVICES, *(f"{_OTHER}:{k}" for k in self._lexicon.non_acute_other)}
        if all(k in allowed for g in groups for k in g.keys):
            template = self._template(labels, record_id)
            if template is not None:
                sentences.append(template)
        for g in groups:
            sentences.append(self._sentence(text, record_id, g, len(sentences) + 1))
        lesions = [
            lesion
            for lesion in self._findings[source].extract(text, record_id)[0]
            if lesion.evidence and _inside(lesion.evidence[0], spans)
        ]
        notes = guideline_notes(text, sections, lesions, options=self._guidelines, meta=meta, record_id=record_id)
        for note in notes:
            if note.status == "recommendation" and note.supported:
                sentences.append(self._guideline_sentence(note, len(sentences) + 1))
        no_finding = by_name.get(_NO_FINDING)
        return self._result(
            tuple(sentences),
            normal=no_finding is not None and no_finding.status == "positive",
            source=source,
            guidelines=notes,
        )

    # ------------------------------------------------------------------ steps
    def _result(
        self,
        sentences: tuple[ImpressionSentence, ...],
        *,
        normal: bool,
        source: ImpressionSource,
        guidelines: tuple[GuidelineNote, ...] = (),
    ) -> RadiologyImpressionResult:
        return RadiologyImpressionResult(
            name=self.name,
            backend=self.backend,
            sentences=sentences,
            normal=normal,
            source_section=source,
            guidelines=guidelines,
        )

    @staticmethod
    def _guideline_sentence(note: GuidelineNote, rank: int) -> ImpressionSentence:
        name = "Lung-RADS v2022 category" if note.guideline == "lung_rads_v2022" else "Fleischner 2017 (Table 1):"
        category = f" {note.category}:" if note.guideline == "lung_rads_v2022" else ""
        management = (note.recommendation or "").rstrip(". ")
        return ImpressionSentence(
            text=f"{name}{category} {management} (guideline engine; for the reader to confirm).",
            kind="guideline",
            rank=rank,
            evidence=note.evidence,
        )

    def _items(self, labels: Sequence[Label]) -> list[_Item]:
        items: list[_Item] = []
        for lab in labels:
            if lab.name == _NO_FINDING:
                if lab.status != "negative":
                    continue
                # The mentions of other findings that keep the report from being normal (granuloma, scoliosis...).
                others: dict[str, _Item] = {}
                for ev in lab.evidence:
                    if _OTHER_PRODUCER not in ev.producer:
                        continue
                    key = f"{_OTHER}:{ev.producer.split(_OTHER_PRODUCER, 1)[1].rsplit('.v', 1)[0]}"
                    status = "uncertain" if (ev.explanation or "").startswith("uncertain") else "positive"
                    item = others.setdefault(key, _Item(key, status, [], []))
                    item.mentions.append(ev)
                    if status == "positive":
                        item.status = "positive"
                items.extend(others.values())
            elif lab.status in _STATUS_ORDER and lab.evidence:
                cues = []
                if lab.status == "uncertain" and lab.assertion is not None:
                    cues = [(c.start, c.end) for c in lab.assertion.cues if c.status == "uncertain"]
                items.append(_Item(lab.name, lab.status, list(lab.evidence), cues, lab.derived_from))
        last = len(self._priority)

        def rank(key: str) -> int:
            return self._priority.get(_OTHER if key.startswith(f"{_OTHER}:") else key, last)

        # A label derived from others (Lung Opacity from Atelectasis) ranks with, and just after, what it came from.
        items.sort(
            key=lambda it: (
                min((rank(k) for k in it.derived_from), default=rank(it.key)),
                bool(it.derived_from),
                _STATUS_ORDER[it.status],
                min((ev.start for ev in it.mentions), default=0),
            )
        )
        return items

    @staticmethod
    def _group(items: Sequence[_Item], sentence_at: Callable[[int], tuple[int, int]]) -> list[_Group]:
        groups: list[_Group] = []
        owner: dict[tuple[int, int], _Group] = {}
        for it in items:
            sents = {sentence_at(ev.start) for ev in it.mentions}
            claimed = [owner[s] for s in sorted(sents) if s in owner]
            group = claimed[0] if claimed else _Group()
            if not claimed:
                groups.append(group)
            group.keys.append(it.key)
            group.statuses.append(it.status)
            group.mentions.extend(it.mentions)
            group.cues.extend(it.cues)
            if it.status == "uncertain":
                # An uncertain finding's sentence is copied whole, so no hedge of any of its mentions is trimmed off.
                group.cues.extend(sents)
            for s in sents:
                if s not in owner:
                    owner[s] = group
                    group.sentences.add(s)
        return groups

    def _sentence(self, text: str, record_id: str, g: _Group, rank: int) -> ImpressionSentence:
        spans: list[tuple[int, int]] = []
        for s0, s1 in sorted(g.sentences):
            clauses = _clauses(text, s0, s1)
            inside = [(a, b) for a, b in (*((m.start, m.end) for m in g.mentions), *g.cues) if s0 <= a < s1]
            first = min(_clause_index(clauses, a) for a, _ in inside)
            last = max(_clause_index(clauses, max(a, b - 1)) for a, b in inside)
            spans.append(_trim(text, clauses[first][0], clauses[last][1]))
        evidence = tuple(
            Evidence.of(text, record_id, a, b, _PRODUCER, explanation="copied from the findings") for a, b in spans
        )
        copied = [m for m in g.mentions if any(a <= m.start < b for a, b in spans)]
        return ImpressionSentence(
            text=_sentence_text([ev.quote for ev in evidence]),
            kind="extractive",
            rank=rank,
            labels=tuple(g.keys),
            statuses=tuple(g.statuses),
            evidence=evidence,
            label_evidence=tuple(sorted(copied, key=lambda m: (m.start, m.end))),
        )

    def _template(self, labels: Sequence[Label], record_id: str) -> ImpressionSentence | None:
        evidence: dict[tuple[int, int], Evidence] = {}
        for lab in labels:
            # Negative labels, and No Finding's normal statements, are what the template summarises.
            if lab.status == ("positive" if lab.name == _NO_FINDING else "negative"):
                for ev in lab.evidence:
                    evidence.setdefault((ev.start, ev.end), ev)
        if not evidence:
            return None
        cited = tuple(
            ev.model_copy(update={"producer": _TEMPLATE_PRODUCER, "explanation": f"summarised: {ev.producer}"})
            for _, ev in sorted(evidence.items())
        )
        return ImpressionSentence(
            text=self._lexicon.normal_template,
            kind="template",
            rank=1,
            labels=(_NO_FINDING,),
            statuses=("positive",),
            evidence=cited,
        )

    @property
    def templates(self) -> tuple[str, ...]:
        """The fixed sentences this backend may write (every other sentence is copied from the report)."""
        return (self._lexicon.normal_template,)
