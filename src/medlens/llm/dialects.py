"""Structured-output dialects: how each server family is asked for JSON that fits a schema.

=========================  ==================================================================================
dialect                    request
=========================  ==================================================================================
openai_json_schema         ``response_format={"type": "json_schema", "json_schema": {name, schema, strict}}``
                           (OpenAI, vLLM, Ollama >= 0.5, llama.cpp server, LM Studio)
vllm_structured_outputs    ``structured_outputs={"json": schema}`` (vLLM >= 0.10; replaces ``guided_json``)
llamacpp_json_schema       ``response_format={"type": "json_object", "schema": schema}`` (llama-cpp-python and
                           llama.cpp server)
llamacpp_grammar           ``grammar=<GBNF>`` built by :func:`medlens.llm.gbnf.schema_to_gbnf`
ollama_format              native ``POST /api/chat`` with ``format=schema`` (Ollama)
prompt_only                no constraint; the schema is appended to the last user message and the reply is
                           validated, repaired and re-asked once
=========================  ==================================================================================

Messages with images arrive from the PHI gate as OpenAI content lists (text and ``image_url`` parts): the OpenAI-style
dialects send them as they are; ``ollama_format`` sends the text as ``content`` and the images as the message's
``images`` (base64, Ollama's native form); ``prompt_only`` appends its instruction to the last text part.
With ``schema=None`` (:meth:`medlens.llm.client.AsyncLLMClient.complete_text`) no constraint is added in any dialect.

Auto-detection (:func:`classify_server`) reads ``GET /models`` (``owned_by``) and the ``Server`` header; the
client falls back to a one-token probe of ``openai_json_schema`` and then to ``prompt_only``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from medlens.llm.endpoint import Dialect, EndpointConfig
from medlens.llm.errors import LLMConfigError, LLMInvalidJSONError
from medlens.llm.gbnf import schema_to_gbnf

__all__ = [
    "CONSTRAINED_DIALECTS",
    "ChatReply",
    "ChatRequest",
    "build_request",
    "classify_server",
    "is_strict_compatible",
    "parse_reply",
    "schema_instruction",
]

CONSTRAINED_DIALECTS: frozenset[Dialect] = frozenset(
    {"openai_json_schema", "vllm_structured_outputs", "llamacpp_json_schema", "llamacpp_grammar", "ollama_format"}
)

# owned_by values of GET /models, per server family (from each server's source):
# vLLM "vllm"; llama.cpp server "llamacpp"; llama-cpp-python "me"; Ollama "library" or the model namespace;
# OpenAI "openai", "system", "openai-internal".
_OWNED_BY: dict[str, Dialect] = {
    "vllm": "vllm_structured_outputs",
    "llamacpp": "llamacpp_json_schema",
    "me": "llamacpp_json_schema",
    "library": "ollama_format",
    "ollama": "ollama_format",
    "openai": "openai_json_schema",
    "system": "openai_json_schema",
    "openai-internal": "openai_json_schema",
}


@dataclass(frozen=True)
class ChatRequest:
    """An HTTP request to make: absolute URL and JSON body."""

    url: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ChatReply:
    """What the server answered: content text, finish reason and token usage."""

    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int


# Keywords every strict-mode implementation accepts; with anything else (minLength, pattern, format, default...)
# strict is left off so the server does not reject the schema; the client validates the reply either way.
_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "$defs",
        "definitions",
        "description",
        "title",
    }
)


def is_strict_compatible(schema: Any) -> bool:
    """Whether to send OpenAI ``strict``: every object closed, every property required, only common keywords."""
    if not isinstance(schema, Mapping):
        return isinstance(schema, bool)
    if set(schema) - _STRICT_KEYWORDS:
        return False
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False or set(schema.get("required") or ()) != set(props):
            return False
    subschemas: list[Any] = []
    for key in ("properties", "$defs", "definitions"):
        subschemas += list((schema.get(key) or {}).values())
    subschemas += list(schema.get("anyOf") or [])
    if "items" in schema:
        subschemas.append(schema["items"])
    return all(is_strict_compatible(sub) for sub in subschemas)


def schema_instruction(schema: Mapping[str, Any]) -> str:
    """The instruction appended for ``prompt_only``: reply with one JSON object valid for ``schema``."""
    return (
        "\n\nReply with only one JSON object, no prose and no code fences, that validates against this JSON "
        "schema:\n" + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    )


def _ollama_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path + "/api/chat", "", ""))


def _copy(message: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a wire message that can be edited without touching the caller's (content lists included)."""
    out = dict(message)
    if isinstance(out.get("content"), list):
        out["content"] = [dict(item) for item in out["content"]]
    return out


def _ollama_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A wire message in Ollama's native form: text ``content`` plus base64 ``images`` (no data-URL prefix)."""
    content = message.get("content")
    if not isinstance(content, list):
        return dict(message)
    texts: list[str] = []
    images: list[str] = []
    for item in content:
        if item.get("type") == "image_url":
            url = str(item["image_url"]["url"])
            images.append(url.split(",", 1)[1] if url.startswith("data:") else url)
        else:
            texts.append(str(item.get("text", "")))
    return {**message, "content": "".join(texts), "images": images}


def _append_instruction(message: dict[str, Any], instruction: str) -> None:
    """Append ``instruction`` to the message's text (its last text part when content is a list)."""
    content = message["content"]
    if not isinstance(content, list):
        message["content"] = content + instruction
        return
    for item in reversed(content):
        if item.get("type") == "text":
            item["text"] = item.get("text", "") + instruction
            return
    content.append({"type": "text", "text": instruction.lstrip()})


def build_request(
    dialect: Dialect,
    *,
    endpoint: EndpointConfig,
    messages: Sequence[Mapping[str, Any]],
    schema: Mapping[str, Any] | None,
    schema_name: str = "result",
    max_tokens: int | None = None,
) -> ChatRequest:
    """Build the request for one chat completion constrained to ``schema`` (or unconstrained when None).

    Args:
        dialect: a concrete dialect (not ``auto``).
        endpoint: the endpoint (URL, model, temperature, seed, token limit).
        messages: wire messages ``{"role", "content"}`` that passed the PHI gate; content is a string or an
            OpenAI content list with image parts. Never modified.
        schema: the JSON schema of the reply; None for free text (no constraint, no instruction).
        schema_name: name sent with ``openai_json_schema`` (``[a-zA-Z0-9_-]``, at most 64 characters).
        max_tokens: completion token limit; the endpoint's when None.

    Raises:
        LLMConfigError: ML707 for ``auto`` or an unknown dialect.
    """
    if dialect not in CONSTRAINED_DIALECTS and dialect != "prompt_only":
        raise LLMConfigError(f"cannot build a request for dialect {dialect!r}; resolve 'auto' first", code="ML707")
    limit = max_tokens if max_tokens is not None else endpoint.max_tokens
    if dialect == "ollama_format":
        options: dict[str, Any] = {"temperature": endpoint.temperature, "num_predict": limit}
        if endpoint.seed is not None:
            options["seed"] = endpoint.seed
        body = {
            "model": endpoint.model,
            "messages": [_ollama_message(m) for m in messages],
            "stream": False,
            "options": options,
        }
        if schema is not None:
            body["format"] = dict(schema)
        return ChatRequest(url=_ollama_url(endpoint.base_url), body=body)
    msgs = [_copy(m) for m in messages]
    body = {"model": endpoint.model, "messages": msgs, "temperature": endpoint.temperature, "max_tokens": limit}
    if endpoint.seed is not None:
        body["seed"] = endpoint.seed
    if schema is None:
        pass  # free text: no constraint in any dialect
    elif dialect == "openai_json_schema":
        name = "".join(c if c.isalnum() or c in "_-" else "_" for c in schema_name)[:64] or "result"
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": dict(schema), "strict": is_strict_compatible(schema)},
        }
    elif dialect == "vllm_structured_outputs":
        body["structured_outputs"] = {"json": dict(schema)}
    elif dialect == "llamacpp_json_schema":
        body["response_format"] = {"type": "json_object", "schema": dict(schema)}
    elif dialect == "llamacpp_grammar":
        body["grammar"] = schema_to_gbnf(schema)
    else:  # prompt_only
        for i in range(len(msgs) - 1, -1, -1):
            if msgs[i]["role"] == "user":
                _append_instruction(msgs[i], schema_instruction(schema))
                break
        else:
            msgs.append({"role": "user", "content": schema_instruction(schema).lstrip()})
    return ChatRequest(url=endpoint.base_url + "/chat/completions", body=body)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def parse_reply(dialect: Dialect, payload: Any, *, endpoint: str = "endpoint") -> ChatReply:
    """Extract content, finish reason and usage from a server response body.

    Raises:
        LLMInvalidJSONError: ML703 when the body is not a chat completion (no content).
    """
    try:
        if dialect == "ollama_format":
            content = payload["message"]["content"]
            finish = payload.get("done_reason")
            prompt, completion = _int(payload.get("prompt_eval_count")), _int(payload.get("eval_count"))
        else:
            choice = payload["choices"][0]
            content = choice["message"]["content"]
            finish = choice.get("finish_reason")
            usage = payload.get("usage") or {}
            prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    except (KeyError, IndexError, TypeError):
        raise LLMInvalidJSONError(
            f"endpoint {endpoint!r}: the response is not a chat completion (no message content)", code="ML703"
        ) from None
    if not isinstance(content, str):
        raise LLMInvalidJSONError(f"endpoint {endpoint!r}: the reply has no text content", code="ML703")
    return ChatReply(
        content=content,
        finish_reason=str(finish) if finish is not None else None,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


def classify_server(models_payload: Any, server_header: str | None, *, model: str | None = None) -> Dialect | None:
    """Guess the dialect from ``GET /models`` and the ``Server`` header; None when they do not tell.

    Args:
        models_payload: the parsed ``GET /models`` body (``{"data": [{"id", "owned_by"}, ...]}``), or None.
        server_header: the ``Server`` response header, or None.
        model: the configured model; its entry is preferred when several are listed.
    """
    if server_header and "llama.cpp" in server_header.lower():
        return "llamacpp_json_schema"
    data = models_payload.get("data") if isinstance(models_payload, Mapping) else None
    if isinstance(data, list):
        entries = [e for e in data if isinstance(e, Mapping)]
        preferred = [e for e in entries if e.get("id") == model] or entries
        for entry in preferred:
            owner = str(entry.get("owned_by", "")).lower()
            if owner in _OWNED_BY:
                return _OWNED_BY[owner]
    return None
