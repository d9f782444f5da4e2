"""Validated models and loaders for the ``radiology.labels`` data files (``medlens/radiology/lexicon/*.yaml``).

* ``<labelset>.yaml`` (``chexpert.yaml`` by default): the labels, their mention phrases, unmention phrases,
  qualifier sets for structure mentions ("heart size is normal"), parent/child relations, the "other findings" that
  keep a report from being normal, and explicit normal statements. A site adds CT or MR findings by writing a new
  file of the same shape and passing ``labelset=`` (no code).
* ``radiology_sections.yaml``: canonical section names of :mod:`medlens.text.sections` -> report section roles.
* ``radiology_context.yaml``: radiology cues added to the ConText lexicon (validated as
  :class:`~medlens.text.lexicon_models.ContextRule`).

Unknown keys are rejected; a bad file raises :class:`~medlens.core.errors.ConfigError` (ML205) naming the file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medlens.core.errors import ConfigError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.radiology.schema import ReportSectionRole
from medlens.text.lexicon_models import ContextRule

__all__ = [
    "Implication",
    "LabelEntry",
    "LabelSet",
    "MentionGroup",
    "PhraseGroup",
    "QualifierSet",
    "RadiologyContextLexicon",
    "SectionRoles",
    "load_label_set",
    "load_label_set_file",
    "load_radiology_context",
    "load_section_roles",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_PACKAGE = "medlens.radiology"
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_LABELSET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

MentionStatus = Literal["positive", "uncertain", "negative"]


def _phrases(values: tuple[str, ...]) -> tuple[str, ...]:
    out = tuple(" ".join(v.split()) for v in values)
    for v in out:
        if not v or not (v[0].isalnum() and v[-1].isalnum()):
            raise ValueError(f"phrase {v!r} must be non-empty and start and end with a letter or digit")
    return out


def _snake(value: str) -> str:
    if not _SNAKE.match(value):
        raise ValueError(f"id {value!r} is not snake_case")
    return value


class PhraseGroup(BaseModel):
    """Phrases with one id (the ``<mention-id>`` of the evidence producer)."""

    model_config = _FROZEN

    id: str = Field(description="snake_case id, unique within its label (or list).")
    phrases: tuple[str, ...] = Field(default=(), description="Phrases matched case-insensitively, word-bounded.")
    abbreviations: tuple[str, ...] = Field(
        default=(), description="Phrases matched only as written or in capitals (ICD, PICC, CHF)."
    )
    note: str | None = Field(default=None, description="Why the group exists, or its source.")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _snake(v)

    @field_validator("phrases", "abbreviations")
    @classmethod
    def _p(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _phrases(v)

    @model_validator(mode="after")
    def _not_empty(self) -> PhraseGroup:
        if not self.phrases and not self.abbreviations:
            raise ValueError(f"group {self.id!r} has no phrases")
        return self


class Implication(BaseModel):
    """A mention of one label that also says something about another (CheXpert: 'CHF' -> Cardiomegaly uncertain)."""

    model_config = _FROZEN

    label: str = Field(description="Name of the implied label.")
    statuses: dict[MentionStatus, MentionStatus] = Field(
        min_length=1, description="Mention status -> implied status; statuses not listed imply nothing."
    )


class MentionGroup(PhraseGroup):
    """Phrases that mention one label.

    With ``qualifiers`` the phrases name a *structure* ("heart size", "cardiomediastinal silhouette", "lungs"),
    not a finding: such a mention counts only when a qualifier of that set stands next to it ("is normal",
    "enlarged", "clear"), and the qualifier's polarity gives its status.
    """

    qualifiers: str | None = Field(default=None, description="Id of a qualifier set (structure mentions).")
    max_status: Literal["positive", "uncertain"] = Field(
        default="positive",
        description="'uncertain' caps a positive mention at uncertain (CheXpert: 'vascular congestion' -> Edema "
        "uncertain).",
    )
    implies: tuple[Implication, ...] = Field(default=(), description="Other labels this mention speaks to.")
    explained_by: str | None = Field(
        default=None,
        description="Id of a qualifier set naming what else the phrase may be ('nodular opacity consistent with a "
        "granuloma', '... with nipple shadows'): with one of its phrases after the mention in the same clause, the "
        "phrase does not mention the label.",
    )


class QualifierSet(BaseModel):
    """Words that state the condition of a structure, by the status they give its label."""

    model_config = _FROZEN

    id: str = Field(description="snake_case id that mention groups refer to.")
    positive: tuple[str, ...] = Field(default=(), description="'enlarged', 'widened', 'increased in size'.")
    uncertain: tuple[str, ...] = Field(default=(), description="'borderline', 'stable', 'unchanged'.")
    negative: tuple[str, ...] = Field(default=(), description="'normal', 'within normal limits', 'upper normal'.")
    window_after: int = Field(default=8, ge=0, description="Words after the structure searched for a qualifier.")
    window_before: int = Field(default=4, ge=0, description="Words before the structure searched for a qualifier.")
    note: str | None = Field(default=None, description="Source or reason.")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _snake(v)

    @field_validator("positive", "uncertain", "negative")
    @classmethod
    def _p(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _phrases(v)

    @model_validator(mode="after")
    def _distinct(self) -> QualifierSet:
        seen: dict[str, str] = {}
        for status in ("positive", "uncertain", "negative"):
            for phrase in getattr(self, status):
                key = phrase.lower()
                if key in seen:
                    raise ValueError(f"qualifier {phrase!r} of set {self.id!r} is both {seen[key]} and {status}")
                seen[key] = status
        return self


class LabelEntry(BaseModel):
    """One observation of the label set."""

    model_config = _FROZEN

    name: str = Field(min_length=1, description="Observation name as reported, e.g. 'Pleural Effusion'.")
    id: str = Field(description="snake_case id, used in evidence producers (medlens.rule.radiology.<id>...).")
    description: str | None = Field(default=None, description="What the label covers.")
    rule: Literal["mentions", "no_finding"] = Field(
        default="mentions",
        description="'mentions': read from its mention phrases; 'no_finding': positive when no other label "
        "(except those with blocks_no_finding false) nor any other finding is positive or uncertain.",
    )
    parent: str | None = Field(default=None, description="Name of the parent label (Lung Opacity for Edema).")
    blocks_no_finding: bool = Field(
        default=True, description="False for labels that do not make a report abnormal (Support Devices)."
    )
    mentions: tuple[MentionGroup, ...] = Field(default=(), description="Mention phrase groups.")
    unmentions: tuple[str, ...] = Field(
        default=(), description="Phrases that contain a mention phrase but do not mention the label."
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _snake(v)

    @field_validator("unmentions")
    @classmethod
    def _u(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _phrases(v)

    @model_validator(mode="after")
    def _shape(self) -> LabelEntry:
        if self.rule == "no_finding" and (self.mentions or self.unmentions or self.parent):
            raise ValueError(f"label {self.name!r}: a no_finding label has no mentions, unmentions or parent")
        if self.rule == "mentions" and not self.mentions:
            raise ValueError(f"label {self.name!r} has no mentions")
        ids = [m.id for m in self.mentions]
        if len(ids) != len(set(ids)):
            raise ValueError(f"label {self.name!r}: duplicate mention group id")
        return self


class LabelSet(BaseModel):
    """The whole ``<labelset>.yaml``."""

    model_config = _FROZEN

    version: int = Field(ge=1, description="Version of the file; bump when behaviour changes.")
    labelset: str = Field(description="Name of the label set, equal to the file stem.")
    source: str = Field(min_length=1, description="Where the label definitions come from.")
    licence: str = Field(min_length=1, description="Licence of the content.")
    qualifiers: tuple[QualifierSet, ...] = Field(default=(), description="Qualifier sets for structure mentions.")
    labels: tuple[LabelEntry, ...] = Field(min_length=1, description="The labels, in reporting order.")
    other_findings: tuple[MentionGroup, ...] = Field(
        default=(),
        description="Findings outside the labels whose positive or uncertain mention keeps No Finding from being "
        "positive (CheXpert's no_finding mention list).",
    )
    normal_statements: tuple[PhraseGroup, ...] = Field(
        default=(), description="Whole-report normal statements, cited as evidence for a positive No Finding."
    )

    @model_validator(mode="after")
    def _references(self) -> LabelSet:
        if not _LABELSET_NAME.match(self.labelset):
            raise ValueError(f"labelset {self.labelset!r} is not snake_case")
        names = [lab.name for lab in self.labels]
        if len(names) != len(set(names)):
            raise ValueError("duplicate label name")
        ids = [lab.id for lab in self.labels]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate label id")
        if sum(lab.rule == "no_finding" for lab in self.labels) > 1:
            raise ValueError("at most one no_finding label")
        qualifier_ids = {q.id for q in self.qualifiers}
        if len(qualifier_ids) != len(self.qualifiers):
            raise ValueError("duplicate qualifier set id")
        known = set(names)
        by_name = {lab.name: lab for lab in self.labels}
        for lab in self.labels:
            if lab.parent is not None and (lab.parent not in known or by_name[lab.parent].rule != "mentions"):
                raise ValueError(f"label {lab.name!r}: unknown parent {lab.parent!r}")
            for group in lab.mentions:
                if group.qualifiers is not None and group.qualifiers not in qualifier_ids:
                    raise ValueError(f"label {lab.name!r}: group {group.id!r} uses unknown qualifiers")
                if group.explained_by is not None and group.explained_by not in qualifier_ids:
                    raise ValueError(f"label {lab.name!r}: group {group.id!r} uses unknown explained_by set")
                for imp in group.implies:
                    if imp.label not in known or imp.label == lab.name or by_name[imp.label].rule != "mentions":
                        raise ValueError(f"label {lab.name!r}: group {group.id!r} implies unknown label {imp.label!r}")
        for lab in self.labels:  # no cycles in the parent relation
            seen = {lab.name}
            parent = lab.parent
            while parent is not None:
                if parent in seen:
                    raise ValueError(f"parent cycle through {lab.name!r}")
                seen.add(parent)
                parent = by_name[parent].parent
        for other in self.other_findings:
            if other.implies or other.max_status != "positive":
                raise ValueError(f"other finding {other.id!r}: implies and max_status apply to labels only")
            if other.qualifiers is not None and other.qualifiers not in qualifier_ids:
                raise ValueError(f"other finding {other.id!r} uses unknown qualifiers")
        for groups, what in (
            ([g.id for g in self.other_findings], "other_findings"),
            ([g.id for g in self.normal_statements], "normal_statements"),
        ):
            if len(groups) != len(set(groups)):
                raise ValueError(f"duplicate id in {what}")
        return self

    def label(self, name: str) -> LabelEntry:
        """The label called ``name``."""
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise KeyError(name)


class SectionRoles(BaseModel):
    """``radiology_sections.yaml``: how canonical section names map to report section roles."""

    model_config = _FROZEN

    version: int = Field(ge=1, description="Version of the file.")
    source: str = Field(min_length=1, description="Where the mapping comes from.")
    licence: str = Field(min_length=1, description="Licence of the content.")
    roles: dict[str, ReportSectionRole] = Field(description="Canonical section name -> role.")
    default_role: ReportSectionRole = Field(description="Role of any other named section.")
    subheaders: dict[str, ReportSectionRole] = Field(
        default_factory=dict, description="Sub-header slug (unknown ALL-CAPS header or body system) -> role."
    )
    unknown_subheader_role: ReportSectionRole = Field(
        description="Role of an unlisted sub-header under a section that does not produce labels (a report body "
        "under an exam title such as 'PA AND LATERAL CHEST RADIOGRAPH:')."
    )
    labeling_roles: tuple[ReportSectionRole, ...] = Field(
        min_length=1, description="Roles whose mentions produce labels."
    )
    paragraph_roles: tuple[ReportSectionRole, ...] = Field(
        default=(), description="Roles whose section ends at its first blank line; the text after it is body."
    )


class RadiologyContextLexicon(BaseModel):
    """``radiology_context.yaml``: ConText cues that radiology reports need beyond the general lexicon."""

    model_config = _FROZEN

    version: int = Field(ge=1, description="Version of the file.")
    source: str = Field(min_length=1, description="Where the cues come from.")
    licence: str = Field(min_length=1, description="Licence of the content.")
    rules: tuple[ContextRule, ...] = Field(min_length=1, description="Cue rules, same schema as the text engine's.")


@functools.cache
def load_label_set(labelset: str = "chexpert") -> LabelSet:
    """The packaged label set ``lexicon/<labelset>.yaml``, validated (cached).

    Raises:
        ConfigError: ML201 for a name that is not snake_case; ML205 if the file is missing, unreadable or invalid.
    """
    if not _LABELSET_NAME.match(labelset):
        raise ConfigError(
            f"label set name {labelset!r} must be snake_case (the stem of a file in medlens/radiology/lexicon)",
            code="ML201",
        )
    data = load_yaml_lexicon(_PACKAGE, f"{labelset}.yaml", LabelSet)
    if data.labelset != labelset:
        raise ConfigError(
            f"lexicon {_PACKAGE}/lexicon/{labelset}.yaml declares labelset {data.labelset!r}; it must equal the "
            "file stem",
            code="ML205",
        )
    return data


def load_label_set_file(path: str | Path) -> LabelSet:
    """A site's own label set from a YAML file of the same shape as ``chexpert.yaml`` (CT or MR findings...).

    Raises:
        ConfigError: ML205 if the file is missing, unreadable, not YAML or invalid (the message names the file).
    """
    where = Path(path)
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read label set {where}: {exc}", code="ML205") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"label set {where} is not valid YAML: {exc}", code="ML205") from exc
    try:
        return LabelSet.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"label set {where} is invalid: {exc}", code="ML205") from exc


@functools.cache
def load_section_roles() -> SectionRoles:
    """The packaged ``radiology_sections.yaml`` (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable or invalid.
    """
    return load_yaml_lexicon(_PACKAGE, "radiology_sections.yaml", SectionRoles)


@functools.cache
def load_radiology_context() -> RadiologyContextLexicon:
    """The packaged ``radiology_context.yaml`` (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable or invalid.
    """
    return load_yaml_lexicon(_PACKAGE, "radiology_context.yaml", RadiologyContextLexicon)
