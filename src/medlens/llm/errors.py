"""Coded errors of the LLM client (ML7xx).

Messages name the endpoint, task, status and the JSON path of a validation error; they never contain prompt or
document text, nor the model's reply (which may quote the document).

Codes:
    ML701  transport failure or timeout (after retries)
    ML702  HTTP error status from the server (after retries where the status is retryable)
    ML703  the reply is not valid JSON (after repair and one re-ask)
    ML704  the reply does not validate against the schema (after repair and one re-ask)
    ML705  the reply was truncated (``finish_reason == "length"``); never parsed
    ML706  PHI gate refused: a remote endpoint would receive text that did not pass ``medlens.safety.deid``
    ML707  LLM configuration invalid (endpoint, dialect, schema, missing API key)
"""

from __future__ import annotations

from medlens.core.errors import MedlensError

__all__ = [
    "LLMConfigError",
    "LLMError",
    "LLMHTTPStatusError",
    "LLMInvalidJSONError",
    "LLMSchemaError",
    "LLMTransportError",
    "LLMTruncatedError",
    "PHIGateError",
]


class LLMError(MedlensError):
    """Base class of every LLM client error."""

    code = "ML700"


class LLMTransportError(LLMError):
    """The server could not be reached or did not answer in time (ML701)."""

    code = "ML701"


class LLMHTTPStatusError(LLMError):
    """The server answered with an error status (ML702). ``status`` holds the HTTP status code."""

    code = "ML702"

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        self.status = status
        super().__init__(message, code=code)


class LLMInvalidJSONError(LLMError):
    """The reply is not valid JSON, even after repair and one re-ask (ML703)."""

    code = "ML703"


class LLMSchemaError(LLMError):
    """The reply does not validate against the schema, even after one re-ask (ML704).

    ``errors`` lists ``"path: error type"`` strings (no values).
    """

    code = "ML704"

    def __init__(self, message: str, *, errors: tuple[str, ...] = (), code: str | None = None) -> None:
        self.errors = errors
        super().__init__(message, code=code)


class LLMTruncatedError(LLMError):
    """The reply stopped at the token limit (``finish_reason == "length"``) and was not parsed (ML705)."""

    code = "ML705"


class PHIGateError(LLMError):
    """The PHI gate refused to send a message to a remote endpoint (ML706). Raised before any network I/O."""

    code = "ML706"


class LLMConfigError(LLMError):
    """The endpoint, dialect, schema or credentials are invalid (ML707)."""

    code = "ML707"
