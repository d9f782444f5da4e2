"""radiology.labels, rules backend: CheXpert-style observation labels for radiology reports, with evidence.

One pass per report:

1. ``analyze(text)`` (sections, sentences) and :func:`~medlens.radiology.report_sections.report_sections`: only
   mentions in the findings, the impression or un-sectioned text produce labels. The indication and history say why
   the study was done ("rule out pneumonia"), not what it shows; comparison and technique name other studies.
2. One Aho-Corasick pass (:class:`~medlens.notes.terminology.PhraseMatcher`, case-insensitive, word-bounded,
   leftmost-longest) over every mention, unmention, other-finding and normal-statement phrase of the label set
   (``lexicon/<labelset>.yaml``). An unmention hides the mentions of its label inside it ("pericardial effusion");
   a group's ``explained_by`` set drops a mention explained later in its clause ("nodular densities consistent with
   nipple shadows").
3. A *structure* mention ("heart size", "cardiomediastinal silhouette", "lungs") counts only with a qualifier of its
   set within a few words ("is normal", "enlarged", "clear"); the qualifier gives its polarity and the evidence
   spans structure and qualifier ("heart size is upper normal").
4. One :meth:`ContextEngine.assert_targets` call over all mentions, with the radiology cues of
   ``lexicon/radiology_context.yaml`` added to the general lexicon ("cannot be completely excluded", "XXX removed",
   "no change in" as a pseudo-cue, "borderline"). Negated -> negative; uncertain -> uncertain (also when negated:
   "cannot exclude"); hypothetical ("sensitivity to detect a pneumothorax") and family -> not a statement about this
   image, ignored; historical ("old healed fracture") -> positive.
5. Aggregation as the CheXpert labeler (stages/aggregate.py): per label, positive beats uncertain beats negative. When
   the impression and the findings both mention a label and disagree, the impression's status wins, recorded as
   ``precedence="impression"`` with both sections' evidence. Implied labels ("CHF" -> Cardiomegaly uncertain), then
   parents from children (Consolidation -> Lung Opacity), then No Finding: positive only if no label but Support
   Devices, and no other finding ("granuloma", "scoliosis"...), is positive or uncertain.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import get_args

from pydantic import ValidationError

from medlens.core.errors import ConfigError
from medlens.core.types import Assertion, Cue, Document, Evidence
from medlens.radiology.labels_lexicon import (
    LabelSet,
    MentionGroup,
    QualifierSet,
    load_label_set,
    load_label_set_file,
    load_radiology_context,
    load_section_roles,
)
from medlens.radiology.report_sections import ReportSections, report_sections
from medlens.radiology.schema import LABEL_STATUSES, Label, LabelStatus, RadiologyLabelsResult, ReportSectionRole
from medlens.text.analysis import TextAnalysis, analyze
from medlens.text.context import ContextEngine
from medlens.text.lexicon_models import ContextLexicon, load_context_lexicon
from medlens.text.phrases import PhraseMatcher, phrase_variants, plural_variants

__all__ = ["RadiologyLabelsRules"]

_RANK: dict[str, int] = {"not_mentioned": 0, "negative": 1, "uncertain": 2, "positive": 3}
_WORD = re.compile(r"\w+")
# Where a qualifier search window stops: another clause begins.
_HARD_STOP_AFTER = re.compile(r"[;:]|\b(?:however|although|whereas|except|with|without)\b", re.IGNORECASE)
# Where the search for an explanation ("nodular opacity consistent with a granuloma") stops.
_EXPLAIN_STOP_AFTER = re.compile(r"[;:]|\b(?:however|although|whereas|except|but|without)\b", re.IGNORECASE)
_HARD_STOP_BEFORE = re.compile(r"[;:,]|\b(?:however|although|whereas|except|with|without|but)\b", re.IGNORECASE)
_HAS_TEXT = re.compile(r"[A-Za-z0-9]")
# A qualifier right after "not" says the opposite ("lung parenchyma is not clear").
_NOT_BEFORE = re.compile(r"\b(?:not|no longer|non)[\s\-]*\Z", re.IGNORECASE)
_FLIP = {"negative": "positive", "positive": "negative", "uncertain": "uncertain"}
_IMPRESSION: ReportSectionRole = "impression"
_RULE_VERSION = 1

MatchValue = tuple[str, int]


def _phrase_pattern(phrase: str) -> str:
    return r"[\s\-]+".join(re.escape(w) for w in re.split(r"[\s\-]+", phrase))


def _combine(statuses: Sequence[str]) -> str:
    """One status from a chain of qualifiers: 'normal to mildly enlarged' is uncertain; else normal > abnormal."""
    found = set(statuses)
    if "negative" in found and "positive" in found:
        return "uncertain"
    for status in ("negative", "positive", "uncertain"):
        if status in found:
            return status
    return "uncertain"  # pragma: no cover - chains are never empty


class _Qualifiers:
    """A qualifier set compiled to one regex, with its search windows."""

    def __init__(self, qset: QualifierSet, stop_after: re.Pattern[str] = _HARD_STOP_AFTER) -> None:
        self.id = qset.id
        self._stop_after = stop_after
        entries = [(p, s) for s in ("positive", "uncertain", "negative") for p in getattr(qset, s)]
        entries.sort(key=lambda e: -len(e[0]))
        self._status = {" ".join(re.split(r"[\s\-]+", p.lower())): s for p, s in entries}
        self._rx = re.compile(
            r"(?<!\w)(?:" + "|".join(_phrase_pattern(p) for p, _ in entries) + r")(?!\w)", re.IGNORECASE
        )
        self._after = qset.window_after
        self._before = qset.window_before

    def _status_of(self, phrase: str) -> str:
        return self._status[" ".join(re.split(r"[\s\-]+", phrase.lower()))]

    def _chain_status(self, text: str, chain: list[tuple[int, int]]) -> str:
        statuses = []
        for a, b in chain:
            status = self._status_of(text[a:b])
            if _NOT_BEFORE.search(text, max(0, a - 12), a):
                status = _FLIP[status]
            statuses.append(status)
        return _combine(statuses)

    def find(self, text: str, start: int, end: int, sentence: tuple[int, int]) -> tuple[int, int, str] | None:
        """The qualifier of the structure ``text[start:end]``: ``(q_start, q_end, status)`` or None.

        The nearest qualifier after the structure wins (within ``window_after`` words, not past a clause stop), else
        the nearest one before it; qualifiers chained to it by at most two words ("stable and within normal
        limits", "enlarged but stable") are combined.
        """
        s0, s1 = min(sentence[0], start), max(sentence[1], end)
        stop = self._stop_after.search(text, end, s1)
        limit = stop.start() if stop is not None else s1
        for n, w in enumerate(_WORD.finditer(text, end, limit), start=1):
            if n == self._after:
                limit = w.end()
                break
        found = [(m.start(), m.end()) for m in self._rx.finditer(text, end, limit)]
        if found:
            chain = [found[0]]
            for qs, qe in found[1:]:
                if len(_WORD.findall(text, chain[-1][1], qs)) > 2:
                    break
                chain.append((qs, qe))
            return chain[0][0], chain[-1][1], self._chain_status(text, chain)
        if self._before == 0:
            return None
        lo = max(s0, start - 80)
        for stop in _HARD_STOP_BEFORE.finditer(text, lo, start):
            lo = stop.end()
        starts = [w.start() for w in _WORD.finditer(text, lo, start)]
        if not starts:
            return None
        lo = starts[-self._before] if len(starts) >= self._before else starts[0]
        before = [(m.start(), m.end()) for m in self._rx.finditer(text, lo, start)]
        if not before:
            return None
        chain = [before[-1]]
        for qs, qe in reversed(before[:-1]):
            if len(_WORD.findall(text, qe, chain[0][0])) > 2:
                break
            chain.insert(0, (qs, qe))
        return chain[0][0], chain[-1][1], self._chain_status(text, chain)


@dataclass(frozen=True, slots=True)
class _Group:
    """A compiled mention group: which label it speaks to (-1: an other finding) and how."""

    label: int
    id: str
    qualifiers: _Qualifiers | None
    explained_by: _Qualifiers | None
    cap_uncertain: bool
    implies: tuple[tuple[int, dict[str, str]], ...]
    producer: str


@dataclass(slots=True)
class _Mention:
    """One mention in one report, before and after its status is decided."""

    label: int
    group: _Group
    start: int
    end: int
    role: ReportSectionRole
    qualifier: tuple[int, int, str] | None = None
    status: str = ""
    assertion: Assertion | None = None
    implied_from: int | None = None
    producer: str = ""

    @property
    def decisive(self) -> bool:
        """Whether the mention states the label itself (an implied label cannot overrule a direct mention)."""
        return self.implied_from is None


@dataclass(slots=True)
class _Decision:
    status: str = "not_mentioned"
    mentions: list[_Mention] = field(default_factory=list)
    overridden: list[_Mention] = field(default_factory=list)
    precedence: str | None = None
    overridden_status: str | None = None
    derived_from: tuple[str, ...] = ()


class _Compiled:
    """Everything built once per label set: matcher, qualifier regexes, ConText engine, label order."""

    def __init__(self, labelset: LabelSet) -> None:
        self.labelset = labelset
        self.names = [lab.name for lab in labelset.labels]
        index = {name: i for i, name in enumerate(self.names)}
        qualifiers = {q.id: _Qualifiers(q) for q in labelset.qualifiers}
        explanations = {q.id: _Qualifiers(q, _EXPLAIN_STOP_AFTER) for q in labelset.qualifiers}
        self.groups: list[_Group] = []
        matcher: PhraseMatcher[MatchValue] = PhraseMatcher()

        def add_group(label: int, label_id: str, g: MentionGroup) -> None:
            gi = len(self.groups)
            implies = tuple((index[imp.label], {str(k): str(v) for k, v in imp.statuses.items()}) for imp in g.implies)
            self.groups.append(
                _Group(
                    label=label,
                    id=g.id,
                    qualifiers=qualifiers[g.qualifiers] if g.qualifiers is not None else None,
                    explained_by=explanations[g.explained_by] if g.explained_by is not None else None,
                    cap_uncertain=g.max_status == "uncertain",
                    implies=implies,
                    producer=f"medlens.rule.radiology.{label_id}.{g.id}.v{_RULE_VERSION}",
                )
            )
            for phrase in g.phrases:
                for variant in phrase_variants(phrase):
                    matcher.add_all(plural_variants(variant), ("m", gi))
            for abbr in g.abbreviations:
                matcher.add(abbr, ("m", gi), case_sensitive=True)

        for li, lab in enumerate(labelset.labels):
            for g in lab.mentions:
                add_group(li, lab.id, g)
            for phrase in lab.unmentions:
                for variant in phrase_variants(phrase):
                    matcher.add_all(plural_variants(variant), ("u", li))
        for g in labelset.other_findings:
            add_group(-1, "other", g)
        self.normal_producers: list[str] = []
        for ni, ng in enumerate(labelset.normal_statements):
            self.normal_producers.append(f"medlens.rule.radiology.no_finding.{ng.id}.v{_RULE_VERSION}")
            for phrase in ng.phrases:
                for variant in phrase_variants(phrase):
                    matcher.add(variant, ("n", ni))
        matcher.build()
        self.matcher = matcher
        self.no_finding = next((i for i, lab in enumerate(labelset.labels) if lab.rule == "no_finding"), None)
        self.blocks_no_finding = [lab.blocks_no_finding and lab.rule == "mentions" for lab in labelset.labels]
        self.children: list[list[int]] = [[] for _ in labelset.labels]
        for i, lab in enumerate(labelset.labels):
            if lab.parent is not None:
                self.children[index[lab.parent]].append(i)
        self.parent_order = sorted(
            (i for i in range(len(self.names)) if self.children[i]), key=lambda i: -self._depth(i)
        )
        self.ids = [lab.id for lab in labelset.labels]
        base = load_context_lexicon()
        extra = load_radiology_context()
        try:
            merged = ContextLexicon(version=base.version, settings=base.settings, rules=(*base.rules, *extra.rules))
        except ValidationError as exc:
            raise ConfigError(
                f"lexicon medlens.radiology/lexicon/radiology_context.yaml conflicts with the text engine's cue "
                f"lexicon: {exc}",
                code="ML205",
            ) from exc
        self.context = ContextEngine(merged)

    def _depth(self, i: int) -> int:
        return max((1 + self._depth(c) for c in self.children[i]), default=0)


@functools.cache
def _compiled(labelset: str) -> _Compiled:
    if labelset.endswith((".yaml", ".yml")):
        return _Compiled(load_label_set_file(labelset))
    return _Compiled(load_label_set(labelset))


class RadiologyLabelsRules:
    """Deterministic, offline observation labels (CheXpert's 14 by default) for radiology reports.

    Args:
        labelset: label set to use: the stem of a file in ``medlens/radiology/lexicon`` (default ``"chexpert"``), or
            the path of a site's own ``.yaml`` label set of the same shape (CT or MR findings, no code needed).
        impression_precedence: let the impression decide where it disagrees with the findings (default True).
        propagate_to_parent: a positive or uncertain child makes its parent at least as positive (default True).
        sections: report section roles whose mentions produce labels (default: findings, impression, body).

    Raises:
        ConfigError: ML201 for an unknown section role or label-set name; ML205 for a missing or invalid lexicon.
    """

    name = "medlens.task.radiology.labels.v1"
    backend = "rules"
    requires: tuple[str, ...] = ("document.text",)
    assigns: tuple[str, ...] = ("tasks.radiology.labels",)

    def __init__(
        self,
        *,
        labelset: str = "chexpert",
        impression_precedence: bool = True,
        propagate_to_parent: bool = True,
        sections: Sequence[str] | None = None,
    ) -> None:
        roles = load_section_roles()
        valid = get_args(ReportSectionRole)
        if sections is not None:
            unknown = sorted(set(sections) - set(valid))
            if unknown or not sections:
                raise ConfigError(
                    f"unknown report section role(s) {unknown or '(none given)'} for radiology.labels; valid: "
                    f"{', '.join(valid)}",
                    code="ML201",
                )
            roles = roles.model_copy(update={"labeling_roles": tuple(sections)})
        self._roles = roles
        self._res = _compiled(labelset)
        self._precedence = impression_precedence
        self._propagate = propagate_to_parent
        self.labelset = self._res.labelset.labelset
        self.label("FINDINGS: No pneumothorax. Heart size is normal. IMPRESSION: No acute disease.", "medlens-warm-up")

    def __call__(self, batch: Sequence[Document]) -> list[RadiologyLabelsResult]:
        """One result per document, in order."""
        return [
            RadiologyLabelsResult(
                name=self.name, backend=self.backend, labelset=self.labelset, labels=tuple(self.label(doc.text, doc.id))
            )
            for doc in batch
        ]

    # ------------------------------------------------------------------ mentions
    def label(self, text: str, record_id: str) -> list[Label]:
        """Every label of the set for one report, in the set's order.

        Args:
            text: the report.
            record_id: id written into every evidence span.
        """
        res = self._res
        analysis = analyze(text)
        sections = report_sections(analysis, roles=self._roles)
        mentions, normals = self._mentions(text, analysis, sections)
        decided = res.context.assert_targets(text, [(m.start, m.end) for m in mentions], analysis=analysis)
        kept: list[_Mention] = []
        for m, a in zip(mentions, decided, strict=True):
            m.assertion = a
            m.status = self._mention_status(m, a)
            if not m.status:
                continue
            kept.append(m)
            if m.label >= 0:
                for target, statuses in m.group.implies:
                    implied = statuses.get(m.status)
                    if implied is not None:
                        kept.append(
                            _Mention(
                                label=target,
                                group=m.group,
                                start=m.start,
                                end=m.end,
                                role=m.role,
                                qualifier=m.qualifier,
                                status=implied,
                                assertion=a,
                                implied_from=m.label,
                                producer=f"medlens.rule.radiology.{res.ids[target]}.{res.ids[m.label]}_{m.group.id}"
                                f".v{_RULE_VERSION}",
                            )
                        )
        return self._labels(text, record_id, kept, normals, sections)

    def _mentions(
        self, text: str, analysis: TextAnalysis, sections: ReportSections
    ) -> tuple[list[_Mention], list[tuple[int, int, int]]]:
        res = self._res
        mentions: list[_Mention] = []
        normals: list[tuple[int, int, int]] = []
        for match in res.matcher.find(text):
            if not sections.labels_at(match.start):
                continue
            role = sections.at(match.start).role
            hidden = {idx for kind, idx in match.values if kind == "u"}
            for kind, idx in match.values:
                if kind == "n":
                    normals.append((match.start, match.end, idx))
                    continue
                if kind != "m":
                    continue
                group = res.groups[idx]
                if group.label in hidden:
                    continue
                start, end = match.start, match.end
                if group.explained_by is not None and group.explained_by.find(
                    text, start, end, analysis.sentence_at(start)
                ):
                    continue
                qualifier = None
                if group.qualifiers is not None:
                    qualifier = group.qualifiers.find(text, start, end, analysis.sentence_at(start))
                    if qualifier is None:
                        continue
                    start, end = min(start, qualifier[0]), max(end, qualifier[1])
                mentions.append(_Mention(group.label, group, start, end, role, qualifier, producer=group.producer))
        return mentions, normals

    @staticmethod
    def _mention_status(m: _Mention, a: Assertion) -> str:
        if a.family or (a.hypothetical and not (a.negated or a.uncertain)):
            return ""
        q = m.qualifier[2] if m.qualifier is not None else None
        if q == "negative" or (a.negated and not a.uncertain):
            status = "negative"
        elif q == "uncertain" or a.uncertain:
            status = "uncertain"
        else:
            status = "positive"
        if status == "positive" and m.group.cap_uncertain:
            status = "uncertain"
        return status

    # ------------------------------------------------------------------ aggregation
    def _decide(self, mentions: list[_Mention]) -> _Decision:
        if not mentions:
            return _Decision()
        best = max(_RANK[m.status] for m in mentions)
        plain = _Decision(status=next(s for s, r in _RANK.items() if r == best))
        plain.mentions = [m for m in mentions if _RANK[m.status] == best]
        if not self._precedence:
            return plain
        imp = [m for m in mentions if m.role == _IMPRESSION and m.decisive]
        rest = [m for m in mentions if m.role != _IMPRESSION]
        if not imp or not rest:
            return plain
        s_imp = max(_RANK[m.status] for m in imp)
        s_rest = max(_RANK[m.status] for m in rest)
        if s_imp == s_rest:
            return plain
        status = next(s for s, r in _RANK.items() if r == s_imp)
        other = next(s for s, r in _RANK.items() if r == s_rest)
        return _Decision(
            status=status,
            mentions=[m for m in imp if _RANK[m.status] == s_imp],
            overridden=[m for m in rest if _RANK[m.status] == s_rest],
            precedence="impression",
            overridden_status=other,
        )

    def _labels(
        self,
        text: str,
        record_id: str,
        mentions: list[_Mention],
        normals: list[tuple[int, int, int]],
        sections: ReportSections,
    ) -> list[Label]:
        res = self._res
        n = len(res.names)
        by_label: list[list[_Mention]] = [[] for _ in range(n)]
        others: list[_Mention] = []
        for m in mentions:
            (by_label[m.label] if m.label >= 0 else others).append(m)
        decisions = [self._decide(ms) for ms in by_label]
        if self._propagate:
            for parent in res.parent_order:
                best = max(
                    (c for c in res.children[parent] if decisions[c].status in ("positive", "uncertain")),
                    key=lambda c: _RANK[decisions[c].status],
                    default=None,
                )
                if best is None or _RANK[decisions[best].status] <= _RANK[decisions[parent].status]:
                    continue
                status = decisions[best].status
                kids = [c for c in res.children[parent] if decisions[c].status == status]
                decisions[parent] = _Decision(
                    status=status,
                    mentions=[m for c in kids for m in decisions[c].mentions],
                    derived_from=tuple(res.names[c] for c in kids),
                )
        labels: list[Label] = []
        for i, d in enumerate(decisions):
            if i == res.no_finding:
                labels.append(self._no_finding(text, record_id, decisions, others, normals, sections))
            else:
                labels.append(self._label(text, record_id, res.names[i], d))
        return labels

    def _no_finding(
        self,
        text: str,
        record_id: str,
        decisions: list[_Decision],
        others: list[_Mention],
        normals: list[tuple[int, int, int]],
        sections: ReportSections,
    ) -> Label:
        res = self._res
        name = res.names[res.no_finding] if res.no_finding is not None else "No Finding"
        blockers = [
            i
            for i, d in enumerate(decisions)
            if res.blocks_no_finding[i] and d.status in ("positive", "uncertain") and not d.derived_from
        ]
        blocking_others = [m for m in others if m.status in ("positive", "uncertain")]
        if blockers or blocking_others:
            ms = [m for i in blockers for m in decisions[i].mentions] + blocking_others
            ms.sort(key=lambda m: m.start)
            derived = tuple(res.names[i] for i in blockers) + tuple(
                dict.fromkeys(f"other:{m.group.id}" for m in blocking_others)
            )
            return Label(
                name=name,
                status="negative",
                derived_from=derived,
                evidence=tuple(self._evidence(text, record_id, m, "keeps the report from being normal") for m in ms),
            )
        if not any(
            rs.role in sections.labeling_roles and _HAS_TEXT.search(text, rs.section.header_end, rs.section.end)
            for rs in sections.sections
        ):
            return Label(name=name, status="not_mentioned", supported=False)
        evidence = [
            Evidence.of(
                text,
                record_id,
                s,
                e,
                res.normal_producers[ni],
                explanation="normal statement",
            )
            for s, e, ni in normals
        ]
        if not evidence:
            evidence = [
                self._evidence(text, record_id, m, "negative mention")
                for d in decisions
                for m in d.mentions
                if d.status == "negative"
            ]
            evidence.sort(key=lambda ev: ev.start)
        return Label(
            name=name,
            status="positive",
            derived_from=tuple(res.names[i] for i, d in enumerate(decisions) if d.status == "negative"),
            evidence=tuple(evidence),
            supported=bool(evidence),
        )

    def _label(self, text: str, record_id: str, name: str, d: _Decision) -> Label:
        if d.status == "not_mentioned":
            return Label(name=name, status="not_mentioned", supported=False)
        first = min(d.mentions, key=lambda m: m.start)
        evidence = [self._evidence(text, record_id, m, None) for m in sorted(d.mentions, key=lambda m: m.start)]
        evidence += [
            self._evidence(text, record_id, m, f"{m.role} status {d.overridden_status}, overridden by the impression")
            for m in sorted(d.overridden, key=lambda m: m.start)
        ]
        derived = d.derived_from or tuple(
            dict.fromkeys(self._res.names[m.implied_from] for m in d.mentions if m.implied_from is not None)
        )
        return Label(
            name=name,
            status=_as_status(d.status) or "not_mentioned",
            assertion=self._assertion(text, first),
            section=first.role,
            precedence="impression" if d.precedence else None,
            overridden_status=_as_status(d.overridden_status),
            derived_from=derived,
            evidence=tuple(evidence),
        )

    def _assertion(self, text: str, m: _Mention) -> Assertion:
        """The mention's ConText assertion plus the radiology cue that set its status (qualifier or cap)."""
        a = m.assertion or Assertion()
        extra: list[Cue] = []
        if m.qualifier is not None and m.qualifier[2] in ("negative", "uncertain"):
            qs, qe, q = m.qualifier
            qid = m.group.qualifiers.id if m.group.qualifiers is not None else "qualifier"
            extra.append(
                Cue(
                    status="negated" if q == "negative" else "uncertain",
                    start=qs,
                    end=qe,
                    text=text[qs:qe],
                    rule=f"medlens.rule.radiology.qualifier.{qid}.{q}.v{_RULE_VERSION}",
                )
            )
        if m.group.cap_uncertain and m.status == "uncertain" and not a.uncertain and not extra:
            extra.append(
                Cue(
                    status="uncertain",
                    start=m.start,
                    end=m.end,
                    text=text[m.start : m.end],
                    rule=f"{m.group.producer.rsplit('.v', 1)[0]}.max_uncertain.v{_RULE_VERSION}",
                )
            )
        if not extra:
            return a
        update: dict[str, object] = {c.status: True for c in extra}
        update["cues"] = tuple(sorted((*a.cues, *extra), key=lambda c: (c.start, c.end)))
        return a.model_copy(update=update)

    @staticmethod
    def _evidence(text: str, record_id: str, m: _Mention, note: str | None) -> Evidence:
        parts = [f"{m.status} mention in {m.role}"]
        if m.qualifier is not None:
            parts.append(f"qualifier '{text[m.qualifier[0] : m.qualifier[1]]}'")
        if m.assertion is not None and m.assertion.cues:
            parts.append("cues " + ", ".join(f"'{c.text}' ({c.status})" for c in m.assertion.cues))
        if m.implied_from is not None:
            parts.append("implied by this mention")
        if note:
            parts.append(note)
        return Evidence.of(text, record_id, m.start, m.end, m.producer, explanation="; ".join(parts))


def _as_status(value: str | None) -> LabelStatus | None:
    for status in LABEL_STATUSES:
        if value == status:
            return status
    return None
