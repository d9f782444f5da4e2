"""What the LLM client returns: a validated structured reply or a free-text reply, with usage and provenance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from medlens.llm.endpoint import Dialect

__all__ = ["LLMResponse", "LLMTextResponse", "Repair"]

T = TypeVar("T")
Repair = Literal["none", "extracted", "reasked"]


@dataclass(frozen=True)
class LLMResponse(Generic[T]):
    """A validated structured reply.

    Attributes:
        parsed: the result: an instance of the pydantic model passed in, or the JSON value for a dict schema.
        data: the reply's JSON value.
        raw_text: the reply text as the model wrote it (of the accepted attempt).
        finish_reason: the server's finish reason (``stop`` normally).
        prompt_tokens: prompt tokens over all requests of this call (0 for a cache hit).
        completion_tokens: completion tokens over all requests of this call (0 for a cache hit).
        latency_s: wall time of the call, seconds.
        cache_hit: served from the on-disk cache, without HTTP.
        attempts: HTTP requests made (retries and the re-ask included; 0 for a cache hit).
        repair: ``none`` (valid first time), ``extracted`` (fences or prose removed) or ``reasked``.
        dialect: the dialect used.
        endpoint: the endpoint's name.
        model: the model name.
        task: the task the call was made for.
        prompt_version: the prompt template version.
    """

    parsed: T
    data: Any
    raw_text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cache_hit: bool
    attempts: int
    repair: Repair
    dialect: Dialect
    endpoint: str
    model: str
    task: str
    prompt_version: str

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class LLMTextResponse:
    """A free-text reply (:meth:`AsyncLLMClient.complete_text`).

    Attributes:
        text: the reply text as the model wrote it (not stripped).
        finish_reason: the server's finish reason (``stop`` normally; ``length`` never reaches here, it is ML705).
        prompt_tokens: prompt tokens over all requests of this call (0 for a cache hit).
        completion_tokens: completion tokens over all requests of this call (0 for a cache hit).
        latency_s: wall time of the call, seconds.
        cache_hit: served from the on-disk cache, without HTTP.
        attempts: HTTP requests made (retries included; 0 for a cache hit).
        dialect: the endpoint's dialect (only ``ollama_format`` changes the request: native ``/api/chat``).
        endpoint: the endpoint's name.
        model: the model name.
        task: the task the call was made for.
        prompt_version: the prompt template version.
    """

    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cache_hit: bool
    attempts: int
    dialect: Dialect
    endpoint: str
    model: str
    task: str
    prompt_version: str

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens
