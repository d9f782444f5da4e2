"""Shared machinery of the ``llm`` and ``hybrid`` task backends (the family modules hold the task specifics).

The family backends (``medlens.notes.llm``, ``medlens.radiology.llm``, ``medlens.pathology.llm``) live in their
family folders because the layering contract lets families import ``medlens.llm``, never the reverse. What they
share is here:

* :class:`LLMTaskOptions` — the options a task's ``llm``/``hybrid`` backend takes from configuration
  (``task_options.<alias>``): the endpoint, the reply cache, the de-identification mode for the PHI gate, the
  prompt version;
* :class:`LLMRunner` — one client per backend instance, the prompt, the document part for the gate (de-identified
  for a ``remote`` endpoint, always), and concurrent calls over a batch that return a reply or the error per record;
* :func:`resolve_quotes` — quotes to evidence through :class:`medlens.safety.grounding.GroundingIndex`, with the
  review flags for quotes that are missing, elided, or on a line that addresses the model.

The model never receives tools, and a reply's ``tool_calls`` are never read: only the message content is parsed,
and it must validate against the proposal schema (:mod:`medlens.llm.client`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import ConfigError, MedlensError
from medlens.core.types import Document, Evidence
from medlens.llm.endpoint import EndpointConfig
from medlens.llm.errors import LLMConfigError, PHIGateError
from medlens.llm.gate import DeidentifiedText
from medlens.llm.prompting import TaskPrompt, build_prompt
from medlens.llm.review import ReviewFlag
from medlens.safety.grounding import GroundingIndex, missing_numbers

__all__ = [
    "FATAL_LLM_ERRORS",
    "LLMRunner",
    "LLMTaskOptions",
    "Outcome",
    "ResolvedQuotes",
    "parse_options",
    "raise_fatal",
    "raise_first",
    "resolve_quotes",
]

log = logging.getLogger(__name__)

# Errors that mean the backend is misconfigured rather than that one record failed: never downgraded to a flag.
FATAL_LLM_ERRORS: tuple[type[MedlensError], ...] = (PHIGateError, LLMConfigError)
_MEMO_SIZE = 4096


class LLMTaskOptions(BaseModel):
    """Options of an ``llm`` or ``hybrid`` backend (``task_options.<task alias>`` in the configuration)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: EndpointConfig = Field(description="The OpenAI-compatible endpoint (medlens.llm.EndpointConfig fields).")
    cache: Path | None = Field(default=None, description="SQLite file caching validated replies; none when unset.")
    deid: Literal["redact", "mask", "surrogate"] | None = Field(
        default=None,
        description="De-identification before the text leaves the process. A remote endpoint always gets "
        "de-identified text ('redact' when unset); a local one gets the original text unless a mode is set.",
    )
    prompt_version: int = Field(default=1, ge=1, description="Version of the task's prompt templates.")
    few_shot: bool = Field(default=True, description="Include the prompt's worked (synthetic) examples.")
    max_tokens: int | None = Field(default=None, ge=1, description="Completion token limit; the endpoint's if unset.")


def parse_options(task: str, options: Mapping[str, Any]) -> LLMTaskOptions:
    """Validate backend options from configuration.

    Raises:
        ConfigError: ML201 naming the invalid keys (never their values, which may hold a URL with credentials).
    """
    try:
        return LLMTaskOptions.model_validate(dict(options))
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(
            f"invalid llm options for {task} ({where}); set task_options.{task}.endpoint = "
            "{base_url, model, locality, ...}",
            code="ML201",
        ) from None


@dataclass(frozen=True)
class Outcome:
    """One record's reply (``parsed``) or error, with the model and prompt that produced it."""

    parsed: Any
    error: MedlensError | None


class LLMRunner:
    """Client, prompt and PHI gate of one backend instance.

    Args:
        task: task alias, e.g. ``notes.extract``.
        schema: proposal schema the model answers in.
        options: validated options.
        context: extra prompt variables.
    """

    def __init__(
        self,
        task: str,
        schema: type[BaseModel],
        options: LLMTaskOptions,
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        from medlens.llm.cache import LLMCache
        from medlens.llm.client import LLMClient

        self.task = task
        self.schema = schema
        self.options = options
        self.prompt: TaskPrompt = build_prompt(
            task, schema, version=options.prompt_version, context=context, few_shot=options.few_shot
        )
        endpoint = options.endpoint
        self.deid_mode = options.deid or ("redact" if endpoint.locality == "remote" else None)
        self._deidentifier: Any = None
        if self.deid_mode is not None:
            from medlens.safety.deid import Deidentifier

            self._deidentifier = Deidentifier()
        cache = LLMCache(options.cache) if options.cache is not None else None
        self.client = LLMClient(endpoint, cache=cache)
        self.model = endpoint.model
        self.producer = f"{self.prompt.prompt_version}:{endpoint.model}"
        self._memo: OrderedDict[tuple[str, str], Any] = OrderedDict()

    @property
    def prompt_version(self) -> str:
        """``medlens.prompt.<task>.v<N>``."""
        return self.prompt.prompt_version

    def document_part(self, document: Document) -> DeidentifiedText | str:
        """The text to send: de-identified through the gate when a mode applies, else the original (local only)."""
        from medlens.llm import gate

        if self._deidentifier is not None and self.deid_mode is not None:
            return gate.deidentify(self._deidentifier, document, self.deid_mode)
        return document.text

    def _ask(self, document: Document) -> Outcome:
        key = (document.id, hashlib.sha256(document.text.encode("utf-8")).hexdigest())
        if key in self._memo:
            return Outcome(self._memo[key], None)
        try:
            messages = self.prompt.messages(self.document_part(document))
            reply = self.client.complete_json(
                messages,
                self.schema,
                task=self.task,
                prompt_version=self.prompt.prompt_version,
                max_tokens=self.options.max_tokens,
            )
        except MedlensError as exc:  # LLM (ML7xx) and de-identification (ML6xx) failures, per record
            log.warning("task %s record %s: LLM call failed with %s", self.task, document.id, exc.code)
            return Outcome(None, exc)
        self._memo[key] = reply.parsed
        while len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)
        return Outcome(reply.parsed, None)

    def ask_batch(self, documents: Sequence[Document]) -> list[Outcome]:
        """One outcome per document, in order; up to the endpoint's concurrency calls in flight.

        A reply that validated is remembered (by record id and text hash) so that the pipeline's record-by-record
        retry after a failed batch does not ask again.
        """
        if len(documents) <= 1:
            return [self._ask(d) for d in documents]
        workers = min(len(documents), self.options.endpoint.concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"medlens-{self.task}") as pool:
            return list(pool.map(self._ask, documents))

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


def raise_first(outcomes: Sequence[Outcome]) -> None:
    """Raise the first error of a batch (the pipeline then retries record by record and records the error)."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error


def raise_fatal(outcomes: Sequence[Outcome]) -> None:
    """Raise the first configuration or PHI-gate error: those never degrade to a review flag."""
    for outcome in outcomes:
        if isinstance(outcome.error, FATAL_LLM_ERRORS):
            raise outcome.error


@dataclass(frozen=True)
class ResolvedQuotes:
    """Evidence for a claim's quotes, or the flag explaining why the claim was dropped."""

    evidence: tuple[Evidence, ...]
    dropped: ReviewFlag | None
    notes: tuple[ReviewFlag, ...]


def resolve_quotes(
    index: GroundingIndex,
    quotes: Sequence[str],
    *,
    producer: str,
    field: str,
    value: str | None = None,
    llm_value: str | None = None,
    extra_value_check: Callable[[str, Sequence[str]], bool] | None = None,
) -> ResolvedQuotes:
    """Resolve a claim's quotes to evidence and check its value's numbers against them.

    A claim survives only if every quote resolves, none lies on a line that addresses the model, and every number
    of ``value`` appears in the evidence text (the resolved spans, widened to whole tokens).

    Args:
        index: the record's grounding index.
        quotes: the quotes the model gave.
        producer: evidence producer (prompt version and model).
        field: where the claim goes, for the flag (``findings[2]``, ``fields.pT``).
        value: the claim's value whose numbers must come from the evidence (None: no number check).
        llm_value: the value shown in a flag (defaults to ``value``).
        extra_value_check: a further check of ``value`` against the evidence texts (e.g. roman stage groups).

    Returns:
        The evidence (empty when dropped), the drop flag, and notes (quotes found only after normalisation).
    """
    shown = llm_value if llm_value is not None else value
    kept: list[Evidence] = []
    notes: list[ReviewFlag] = []

    def drop(code: str, message: str) -> ResolvedQuotes:
        flag = ReviewFlag(
            kind="dropped",
            code=code,
            field=field,
            message=message,
            llm_value=shown,
            quotes=tuple(quotes),
            evidence=tuple(kept),
        )
        return ResolvedQuotes((), flag, ())

    if not quotes:
        return drop("ML405", "the model gave no quote for this claim")
    for i, quote in enumerate(quotes):
        match = index.resolve(quote)
        if match is None:
            code = "ML405" if not quote.strip() else "ML403"
            return drop(code, f"quote {i} is not in the record")
        cue = index.suspect_region(match.start, match.end)
        if cue is not None:
            return drop("ML406", f"quote {i} lies on a line that addresses the model (cue {cue!r})")
        kept.append(
            Evidence.of(
                index.text,
                index.record_id,
                match.start,
                match.end,
                producer,
                score=1.0 if match.method == "exact" else 0.9,
                explanation=f"quoted by the model; matched {match.method}",
            )
        )
        if match.method != "exact":
            notes.append(
                ReviewFlag(
                    kind="relocated",
                    code="ML402",
                    field=field,
                    message=f"quote {i} matched only after {match.method} matching",
                    quotes=(quote,),
                    evidence=(kept[-1],),
                )
            )
    texts = [e.quote for e in kept]
    if value is not None:
        missing = missing_numbers(value, texts)
        if missing:
            return drop("ML404", f"{len(missing)} number(s) of the value do not appear in the evidence")
        if extra_value_check is not None and not extra_value_check(value, texts):
            return drop("ML404", "the value does not appear in the evidence")
    return ResolvedQuotes(tuple(kept), None, tuple(notes))
