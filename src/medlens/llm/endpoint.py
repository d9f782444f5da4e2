"""Endpoint configuration: where an OpenAI-compatible server is, what it may see, how to talk to it."""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medlens.llm.errors import LLMConfigError

__all__ = ["DIALECTS", "Dialect", "EndpointConfig", "Locality"]

Locality = Literal["local", "remote"]
Dialect = Literal[
    "auto",
    "openai_json_schema",
    "vllm_structured_outputs",
    "llamacpp_json_schema",
    "llamacpp_grammar",
    "ollama_format",
    "prompt_only",
]
DIALECTS: tuple[Dialect, ...] = (
    "auto",
    "openai_json_schema",
    "vllm_structured_outputs",
    "llamacpp_json_schema",
    "llamacpp_grammar",
    "ollama_format",
    "prompt_only",
)


class EndpointConfig(BaseModel):
    """One OpenAI-compatible chat endpoint.

    ``locality`` defaults to ``remote`` so that a forgotten setting fails closed: the PHI gate then refuses any
    text that did not pass ``medlens.safety.deid``. Declare ``local`` only for a server on your own machine or
    network that is allowed to see identifiable text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="default", min_length=1, description="Name used in logs, accounting and errors.")
    base_url: str = Field(
        description="Base URL including the API prefix, e.g. 'http://127.0.0.1:8080/v1' (as the OpenAI SDK)."
    )
    model: str = Field(min_length=1, description="Model name sent in every request.")
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key (never the key itself)."
    )
    locality: Locality = Field(
        default="remote", description="'local' may receive identifiable text; 'remote' only de-identified text."
    )
    dialect: Dialect = Field(default="auto", description="Structured-output dialect; 'auto' detects it once.")
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="Timeout of one HTTP request, seconds.")
    max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries on 429/5xx/connection errors (attempts = 1 + retries)."
    )
    backoff_s: float = Field(default=0.5, ge=0, le=60, description="First backoff delay, doubled per retry, seconds.")
    max_backoff_s: float = Field(default=30.0, ge=0, le=600, description="Cap on one backoff or Retry-After wait.")
    concurrency: int = Field(default=4, ge=1, le=1024, description="Requests in flight at once to this endpoint.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(default=1024, ge=1, le=1_000_000, description="Completion token limit per request.")
    seed: int | None = Field(default=0, description="Sampling seed, where the server honours one.")
    trust_env: bool = Field(
        default=False,
        description="Use proxy and CA settings from the environment (HTTP(S)_PROXY, SSL_CERT_FILE); off so that "
        "clinical text never takes a route nobody configured for this endpoint.",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http(s) URL such as 'http://127.0.0.1:8080/v1'")
        return value.rstrip("/")

    def api_key(self) -> str | None:
        """The API key read from ``api_key_env``, or None when no variable is configured.

        Raises:
            LLMConfigError: ML707 if ``api_key_env`` is set but the variable is missing or empty.
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise LLMConfigError(
                f"endpoint {self.name!r}: environment variable {self.api_key_env} (API key) is not set; "
                "export it or remove api_key_env",
                code="ML707",
            )
        return key
