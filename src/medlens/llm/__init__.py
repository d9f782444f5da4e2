r"""OpenAI-compatible LLM client with structured output, an on-disk cache, accounting and a PHI gate.

Example::

    from medlens.llm import EndpointConfig, LLMClient, LLMCache, Message, gate

    endpoint = EndpointConfig(name="local", base_url="http://127.0.0.1:8080/v1", model="gemma", locality="local")
    with LLMClient(endpoint, cache=LLMCache("cache/llm.sqlite")) as client:
        text = gate.deidentify(deidentifier, document, "redact")
        reply = client.complete_json(
            [Message.of("user", gate.template("Extract the problems from this note:\\n"), text)],
            ProblemList, task="notes.extract", prompt_version="notes.extract.v1",
        )
        reply.parsed  # a ProblemList
        answer = client.complete_text(
            [Message.of("user", gate.template("Is there a pneumothorax?"), ImagePart(png=png_bytes))],
            task="imaging.vqa", prompt_version="imaging.vqa.vlm.v1",
        )
        answer.text  # free text; a remote endpoint needs ImagePart(..., cleared=True)

Importing this package is cheap: ``httpx`` is imported only when a client is used (``pip install
"medlens[llm]"``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medlens.llm import gate
    from medlens.llm.accounting import Accounting
    from medlens.llm.cache import LLMCache
    from medlens.llm.client import AsyncLLMClient, LLMClient
    from medlens.llm.dialects import classify_server
    from medlens.llm.endpoint import DIALECTS, Dialect, EndpointConfig, Locality
    from medlens.llm.errors import (
        LLMConfigError,
        LLMError,
        LLMHTTPStatusError,
        LLMInvalidJSONError,
        LLMSchemaError,
        LLMTransportError,
        LLMTruncatedError,
        PHIGateError,
    )
    from medlens.llm.gate import DeidentifiedText, ImagePart, Message, PromptText
    from medlens.llm.gbnf import schema_to_gbnf
    from medlens.llm.responses import LLMResponse, LLMTextResponse

__all__ = [
    "DIALECTS",
    "Accounting",
    "AsyncLLMClient",
    "DeidentifiedText",
    "Dialect",
    "EndpointConfig",
    "ImagePart",
    "LLMCache",
    "LLMClient",
    "LLMConfigError",
    "LLMError",
    "LLMHTTPStatusError",
    "LLMInvalidJSONError",
    "LLMResponse",
    "LLMSchemaError",
    "LLMTextResponse",
    "LLMTransportError",
    "LLMTruncatedError",
    "Locality",
    "Message",
    "PHIGateError",
    "PromptText",
    "classify_server",
    "gate",
    "schema_to_gbnf",
]

_WHERE: dict[str, str] = {
    "Accounting": "medlens.llm.accounting",
    "LLMCache": "medlens.llm.cache",
    "AsyncLLMClient": "medlens.llm.client",
    "LLMClient": "medlens.llm.client",
    "LLMResponse": "medlens.llm.responses",
    "LLMTextResponse": "medlens.llm.responses",
    "classify_server": "medlens.llm.dialects",
    "DIALECTS": "medlens.llm.endpoint",
    "Dialect": "medlens.llm.endpoint",
    "EndpointConfig": "medlens.llm.endpoint",
    "Locality": "medlens.llm.endpoint",
    "LLMConfigError": "medlens.llm.errors",
    "LLMError": "medlens.llm.errors",
    "LLMHTTPStatusError": "medlens.llm.errors",
    "LLMInvalidJSONError": "medlens.llm.errors",
    "LLMSchemaError": "medlens.llm.errors",
    "LLMTransportError": "medlens.llm.errors",
    "LLMTruncatedError": "medlens.llm.errors",
    "PHIGateError": "medlens.llm.errors",
    "DeidentifiedText": "medlens.llm.gate",
    "ImagePart": "medlens.llm.gate",
    "Message": "medlens.llm.gate",
    "PromptText": "medlens.llm.gate",
    "schema_to_gbnf": "medlens.llm.gbnf",
}


def __getattr__(name: str) -> Any:
    if name == "gate":
        return importlib.import_module("medlens.llm.gate")
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'medlens.llm' has no attribute {name!r}")
    if module == "medlens.llm.client":
        try:
            importlib.import_module("httpx")
        except ImportError:
            from medlens.core.errors import MissingDependencyError

            raise MissingDependencyError(
                'the LLM client needs httpx: pip install "medlens[llm]"', code="ML501"
            ) from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
