"""Dialects: request shapes on the wire, auto-detection from GET /models, headers and a probe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llm_testkit import Finding
from openai_stub import StubServer

from medlens.llm import EndpointConfig, LLMClient, classify_server
from medlens.llm.dialects import build_request, is_strict_compatible, schema_instruction

VALID = {"label": "effusion", "present": True, "count": 2}
MESSAGES = [{"role": "user", "content": "Extract one finding."}]
SCHEMA = Finding.model_json_schema()
MakeClient = Callable[..., LLMClient]


def ask(client: LLMClient) -> Any:
    return client.complete_json(MESSAGES, Finding, task="t", prompt_version="v1")


@pytest.mark.parametrize(
    ("dialect", "key", "expected"),
    [
        (
            "openai_json_schema",
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "Finding", "schema": SCHEMA, "strict": False}},
        ),
        ("vllm_structured_outputs", "structured_outputs", {"json": SCHEMA}),
        ("llamacpp_json_schema", "response_format", {"type": "json_object", "schema": SCHEMA}),
    ],
)
def test_constrained_dialect_request_shape(
    stub: StubServer, make_client: MakeClient, dialect: str, key: str, expected: dict[str, Any]
) -> None:
    stub.reply_json(VALID)
    ask(make_client(dialect=dialect))
    body = stub.posts[0].body
    assert body[key] == expected
    assert body["messages"] == MESSAGES
    assert not ({"grammar", "structured_outputs", "response_format"} - {key}) & set(body)


def test_grammar_dialect_sends_gbnf_and_no_response_format(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    ask(make_client(dialect="llamacpp_grammar"))
    body = stub.posts[0].body
    assert "response_format" not in body
    assert body["grammar"].startswith("root ::= ")
    assert '"\\"present\\"" space ":" space boolean' in body["grammar"]


def test_prompt_only_appends_schema_to_last_user_message(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    ask(make_client(dialect="prompt_only"))
    body = stub.posts[0].body
    assert "response_format" not in body
    assert "grammar" not in body
    assert body["messages"] == [
        {"role": "user", "content": "Extract one finding." + schema_instruction(SCHEMA)},
    ]


def test_prompt_only_without_user_message_adds_one() -> None:
    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m", dialect="prompt_only")
    req = build_request(
        "prompt_only",
        endpoint=endpoint,
        messages=[{"role": "system", "content": "s"}],
        schema=SCHEMA,
        schema_name="x",
    )
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]


def test_openai_strict_is_set_only_for_closed_fully_required_schemas() -> None:
    closed = {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert is_strict_compatible(closed) is True
    assert is_strict_compatible({**closed, "required": []}) is False
    assert is_strict_compatible({k: v for k, v in closed.items() if k != "additionalProperties"}) is False
    assert is_strict_compatible(Finding.model_json_schema()) is False


def test_schema_name_is_sanitised_for_openai() -> None:
    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m")
    req = build_request(
        "openai_json_schema", endpoint=endpoint, messages=MESSAGES, schema=SCHEMA, schema_name="notes.extract v1"
    )
    assert req.body["response_format"]["json_schema"]["name"] == "notes_extract_v1"


def test_seed_none_is_not_sent() -> None:
    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m", seed=None)
    req = build_request("openai_json_schema", endpoint=endpoint, messages=MESSAGES, schema=SCHEMA, schema_name="x")
    assert "seed" not in req.body


def test_auto_is_not_a_request_dialect() -> None:
    from medlens.llm import LLMConfigError

    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m")
    with pytest.raises(LLMConfigError):
        build_request("auto", endpoint=endpoint, messages=MESSAGES, schema=SCHEMA, schema_name="x")


@pytest.mark.parametrize(
    ("owned_by", "server", "expected"),
    [
        ("vllm", "uvicorn", "vllm_structured_outputs"),
        ("llamacpp", None, "llamacpp_json_schema"),
        ("me", "uvicorn", "llamacpp_json_schema"),
        ("library", None, "ollama_format"),
        ("openai", None, "openai_json_schema"),
        ("system", None, "openai_json_schema"),
        ("someone", "llama.cpp", "llamacpp_json_schema"),
        ("someone", "uvicorn", None),
    ],
)
def test_classify_server(owned_by: str, server: str | None, expected: str | None) -> None:
    payload = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owned_by}]}
    assert classify_server(payload, server, model="m") == expected


def test_classify_prefers_the_configured_models_entry() -> None:
    payload = {"data": [{"id": "other", "owned_by": "openai"}, {"id": "m", "owned_by": "vllm"}]}
    assert classify_server(payload, None, model="m") == "vllm_structured_outputs"


def test_classify_unreadable_payload_is_none() -> None:
    assert classify_server("garbage", None) is None


def test_auto_detects_from_models_owned_by_once(stub: StubServer, make_client: MakeClient) -> None:
    stub.models_payload = {"object": "list", "data": [{"id": "stub-model", "owned_by": "me"}]}
    stub.reply_json(VALID).reply_json(VALID)
    client = make_client(dialect="auto")
    ask(client)
    ask(client)
    assert client.dialect() == "llamacpp_json_schema"
    assert [r.path for r in stub.gets] == ["/v1/models"]
    assert stub.posts[0].body["response_format"]["type"] == "json_object"


def test_auto_detects_llamacpp_from_server_header(stub: StubServer, make_client: MakeClient) -> None:
    stub.server_header = "llama.cpp"
    assert make_client(dialect="auto").dialect() == "llamacpp_json_schema"


def test_auto_probes_json_schema_when_server_is_unknown(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply('{"ok": true}')
    assert make_client(dialect="auto").dialect() == "openai_json_schema"
    probe = stub.posts[0].body
    assert probe["response_format"]["type"] == "json_schema"
    assert probe["max_tokens"] == 16


def test_auto_falls_back_to_prompt_only_when_probe_is_rejected(stub: StubServer, make_client: MakeClient) -> None:
    stub.status(400)
    assert make_client(dialect="auto").dialect() == "prompt_only"


def test_auto_falls_back_to_prompt_only_when_models_fails_and_probe_is_not_json(
    stub: StubServer, make_client: MakeClient
) -> None:
    stub.models_status = 404
    stub.reply("I am a teapot")
    assert make_client(dialect="auto").dialect() == "prompt_only"


def test_configured_dialect_skips_detection(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    ask(make_client(dialect="vllm_structured_outputs"))
    assert stub.gets == []


def test_set_dialect_overrides_detection(stub: StubServer, make_client: MakeClient) -> None:
    stub.models_payload = {"data": [{"id": "stub-model", "owned_by": "vllm"}]}
    client = make_client(dialect="auto")
    assert client.dialect() == "vllm_structured_outputs"
    client.set_dialect("prompt_only")
    assert client.dialect() == "prompt_only"
    client.set_dialect("auto")
    assert client.dialect() == "vllm_structured_outputs"
    assert len(stub.gets) == 2


def test_unreachable_server_fails_detection_without_caching_a_fallback(make_client: MakeClient) -> None:
    from medlens.llm import LLMTransportError

    with StubServer() as gone:
        url = gone.base_url
    client = make_client(base_url=url, dialect="auto")
    with pytest.raises(LLMTransportError):
        client.dialect()
    with pytest.raises(LLMTransportError):  # detection is tried again, not remembered as prompt_only
        client.dialect()


def test_failing_probe_is_not_cached(stub: StubServer, make_client: MakeClient) -> None:
    from medlens.llm import LLMHTTPStatusError

    stub.status(503).reply('{"ok": true}')
    client = make_client(dialect="auto")
    with pytest.raises(LLMHTTPStatusError):
        client.dialect()
    assert client.dialect() == "openai_json_schema"
