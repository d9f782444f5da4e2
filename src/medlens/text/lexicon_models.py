"""Pydantic models and cached loaders for the text engine's lexicons.

The files are ``lexicon/sections.yaml`` and ``lexicon/context_rules.yaml``. Both are data, not code
(CONVENTIONS.md §4): every key is validated, unknown keys are rejected, and regex patterns are compiled at load
time so a bad pattern fails loudly with ML201 rather than at match time.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medlens.core.lexicon import load_yaml_lexicon
from medlens.core.types import AssertionStatus

__all__ = [
    "ContextLexicon",
    "ContextRule",
    "ContextSettings",
    "Direction",
    "SectionEntry",
    "SectionLexicon",
    "load_context_lexicon",
    "load_section_lexicon",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")

Direction = Literal["forward", "backward", "bidirectional", "terminate", "pseudo"]


class SectionEntry(BaseModel):
    """One canonical section and the header spellings that announce it."""

    model_config = _FROZEN

    name: str = Field(description="Canonical snake_case section name, e.g. 'past_medical_history'.")
    headers: tuple[str, ...] = Field(min_length=1, description="Header spellings (matched case-insensitively).")
    role: Literal["section", "system"] = Field(
        default="section",
        description="'section' starts a top-level section; 'system' is a body-system sub-header (HEENT, LUNGS) "
        "that inherits the enclosing exam/ROS section's name.",
    )
    container: bool = Field(
        default=False,
        description="True when system sub-headers and unknown ALL-CAPS sub-headers inside this section keep its "
        "name (physical_exam, review_of_systems).",
    )
    nests_in: tuple[str, ...] = Field(
        default=(), description="Container sections this one may sit inside without closing them (vital_signs)."
    )
    inherit_unknown_subheaders: bool = Field(
        default=True,
        description="False when unknown ALL-CAPS and body-system sub-headers inside this section must not inherit "
        "its name (sections whose name implies an assertion status, such as past_medical_history).",
    )

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _SNAKE.match(v):
            raise ValueError(f"section name {v!r} is not snake_case")
        return v


class SectionLexicon(BaseModel):
    """The whole ``sections.yaml``."""

    model_config = _FROZEN

    version: int = Field(ge=1, description="Version of the lexicon file.")
    max_unknown_header_words: int = Field(
        default=5, ge=1, description="Longest unknown ALL-CAPS phrase (in words) accepted as a sub-header."
    )
    not_headers: tuple[str, ...] = Field(
        default=(), description="Words that look like headers before a colon but are not (BP:, HR:, NOTE:)."
    )
    sections: tuple[SectionEntry, ...] = Field(min_length=1, description="Canonical sections and their headers.")

    @model_validator(mode="after")
    def _unique_headers(self) -> SectionLexicon:
        seen: dict[str, str] = {}
        for entry in self.sections:
            for header in entry.headers:
                key = " ".join(header.lower().split())
                if key in seen and seen[key] != entry.name:
                    raise ValueError(f"header {header!r} maps to both {seen[key]!r} and {entry.name!r}")
                seen[key] = entry.name
        names = {e.name for e in self.sections}
        for entry in self.sections:
            for parent in entry.nests_in:
                if parent not in names:
                    raise ValueError(f"section {entry.name!r} nests in unknown section {parent!r}")
        return self


class ContextRule(BaseModel):
    """One ConText cue: what it matches, which status it sets, and which way its scope runs.

    The rule id becomes ``medlens.context.<status|direction>.<id>.v<version>`` in :class:`~medlens.core.types.Cue`.
    """

    model_config = _FROZEN

    id: str = Field(description="snake_case id, unique in the file.")
    status: AssertionStatus | None = Field(
        default=None, description="Status the cue sets; required unless the direction is terminate or pseudo."
    )
    direction: Direction = Field(description="forward, backward, bidirectional, terminate or pseudo.")
    literals: tuple[str, ...] = Field(
        default=(),
        description="Literal phrases (case-insensitive, any run of whitespace between words); each must start and "
        "end with a word character.",
    )
    regex: str | None = Field(default=None, description="A Python regex (compiled case-insensitively).")
    max_scope: int | None = Field(default=None, ge=0, description="Scope window in word tokens (default setting).")
    sections: tuple[str, ...] | None = Field(
        default=None, description="Only fire inside these canonical sections (None: anywhere)."
    )
    terminates: tuple[AssertionStatus, ...] | None = Field(
        default=None, description="For terminate rules: the statuses whose scope this ends (None: all)."
    )
    followed_by: str | None = Field(
        default=None, description="Regex that must match right after the cue (lower-cased text) for it to count."
    )
    not_followed_by: str | None = Field(default=None, description="Regex that must NOT match right after the cue.")
    preceded_by: str | None = Field(
        default=None, description="Regex that must match text ending right where the cue starts (within 64 chars)."
    )
    not_preceded_by: str | None = Field(default=None, description="Regex that must NOT end right before the cue.")
    extend_to_preceding: bool = Field(
        default=False, description="Widen the cue span back over the text that 'preceded_by' matched ('5 years ago')."
    )
    version: int = Field(default=1, ge=1, description="Bump when the rule's behaviour changes.")
    note: str | None = Field(default=None, description="Why the rule exists, or its source.")

    @model_validator(mode="after")
    def _consistent(self) -> ContextRule:
        if not _SNAKE.match(self.id):
            raise ValueError(f"rule id {self.id!r} is not snake_case")
        if bool(self.literals) == (self.regex is not None):
            raise ValueError(f"rule {self.id!r}: give exactly one of 'literals' or 'regex'")
        if self.direction in ("terminate", "pseudo"):
            if self.status is not None:
                raise ValueError(f"rule {self.id!r}: {self.direction} rules take no status")
        elif self.status is None:
            raise ValueError(f"rule {self.id!r}: a {self.direction} rule needs a status")
        if self.terminates is not None and self.direction != "terminate":
            raise ValueError(f"rule {self.id!r}: 'terminates' only applies to terminate rules")
        for lit in self.literals:
            if not lit.strip() or not (lit[0].isalnum() or lit[0] == "_") or not (lit[-1].isalnum() or lit[-1] == "_"):
                raise ValueError(f"rule {self.id!r}: literal {lit!r} must start and end with a word character")
        for name in ("regex", "followed_by", "not_followed_by", "preceded_by", "not_preceded_by"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"rule {self.id!r}: invalid {name} regex: {exc}") from exc
        if self.extend_to_preceding and self.preceded_by is None:
            raise ValueError(f"rule {self.id!r}: extend_to_preceding needs preceded_by")
        return self

    @property
    def conditional(self) -> bool:
        """True when the cue only counts in some contexts (followed_by / preceded_by conditions)."""
        return any((self.followed_by, self.not_followed_by, self.preceded_by, self.not_preceded_by))

    @property
    def full_id(self) -> str:
        """Versioned rule id, e.g. ``medlens.context.negated.denies.v1``."""
        kind = self.status or self.direction
        return f"medlens.context.{kind}.{self.id}.v{self.version}"


class ContextSettings(BaseModel):
    """Engine-wide scope settings."""

    model_config = _FROZEN

    max_scope: int = Field(default=8, ge=1, description="Default scope window in word tokens.")
    list_item_max_tokens: int = Field(
        default=4, ge=1, description="A list item longer than this (in words) ends a list-extended scope."
    )
    max_list_items: int = Field(default=30, ge=1, description="Most items a list-extended scope crosses.")
    cross_terminate: dict[AssertionStatus, tuple[AssertionStatus, ...]] = Field(
        default_factory=dict,
        description="status -> statuses whose cues end its scope (e.g. uncertain: [negated]).",
    )
    section_statuses: dict[str, AssertionStatus] = Field(
        default_factory=dict, description="Canonical section name -> the status every target in it gets."
    )


class ContextLexicon(BaseModel):
    """The whole ``context_rules.yaml``."""

    model_config = _FROZEN

    version: int = Field(ge=1, description="Version of the lexicon file.")
    settings: ContextSettings = Field(default_factory=ContextSettings, description="Scope settings.")
    rules: tuple[ContextRule, ...] = Field(min_length=1, description="The cue rules.")

    @model_validator(mode="after")
    def _unique(self) -> ContextLexicon:
        """Rule ids are unique; a literal is shared only by conditional rules, then at most one plain rule.

        The first rule in file order whose conditions hold takes a match, so a plain rule must come last.
        """
        ids: set[str] = set()
        plain_owner: dict[str, str] = {}
        for rule in self.rules:
            if rule.id in ids:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            ids.add(rule.id)
            seen_here: set[str] = set()
            for lit in rule.literals:
                key = " ".join(lit.casefold().split())
                if key in seen_here:
                    raise ValueError(f"literal {lit!r} repeated in rule {rule.id!r}")
                seen_here.add(key)
                if key in plain_owner:
                    raise ValueError(
                        f"literal {lit!r} of rule {rule.id!r} is shadowed by the unconditional rule "
                        f"{plain_owner[key]!r} before it"
                    )
                if not rule.conditional:
                    plain_owner[key] = rule.id
        return self


@functools.cache
def load_section_lexicon() -> SectionLexicon:
    """The packaged section lexicon, validated (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable or invalid.
    """
    return load_yaml_lexicon("medlens.text", "sections.yaml", SectionLexicon)


@functools.cache
def load_context_lexicon() -> ContextLexicon:
    """The packaged ConText cue lexicon, validated (cached).

    Raises:
        ConfigError: ML205 if the file is unreadable or invalid.
    """
    return load_yaml_lexicon("medlens.text", "context_rules.yaml", ContextLexicon)
