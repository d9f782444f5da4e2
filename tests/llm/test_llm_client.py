"""LLMClient against a real scripted HTTP server: parsing, repair, retries, timeouts, concurrency, accounting."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from llm_testkit import Finding
from openai_stub import StubServer

from medlens.llm import (
    Accounting,
    AsyncLLMClient,
    EndpointConfig,
    LLMClient,
    LLMConfigError,
    LLMHTTPStatusError,
    LLMInvalidJSONError,
    LLMSchemaError,
    LLMTransportError,
    LLMTruncatedError,
)

VALID = {"label": "effusion", "present": True, "count": 2}
MESSAGES = [{"role": "user", "content": "Extract one finding."}]
MakeClient = Callable[..., LLMClient]


def ask(client: LLMClient, schema: Any = Finding, **kw: Any) -> Any:
    return client.complete_json(MESSAGES, schema, task=kw.pop("task", "demo.task"), prompt_version="demo.v1", **kw)


def test_valid_reply_is_parsed_into_the_model(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID, prompt_tokens=30, completion_tokens=9)
    reply = ask(make_client())
    assert reply.parsed == Finding(**VALID)
    assert (reply.finish_reason, reply.repair, reply.attempts, reply.cache_hit) == ("stop", "none", 1, False)
    assert (reply.prompt_tokens, reply.completion_tokens, reply.total_tokens) == (30, 9, 39)
    assert reply.latency_s > 0


def test_request_carries_model_messages_and_sampling(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    ask(make_client(temperature=0.2, seed=7, max_tokens=64))
    body = stub.posts[0].body
    assert stub.posts[0].path == "/v1/chat/completions"
    assert body["model"] == "stub-model"
    assert body["messages"] == MESSAGES
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.2, 7, 64)


def test_per_call_max_tokens_overrides_endpoint(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    ask(make_client(max_tokens=64), max_tokens=12)
    assert stub.posts[0].body["max_tokens"] == 12


@pytest.mark.parametrize(
    ("content", "repair"),
    [
        ('```json\n{"label": "a", "present": false, "count": 0}\n```', "extracted"),
        ('Here is the JSON: {"label": "a", "present": false, "count": 0} Hope it helps.', "extracted"),
        ('  {"label": "a", "present": false, "count": 0}\n', "none"),
    ],
)
def test_wrapped_json_is_repaired_without_reasking(
    stub: StubServer, make_client: MakeClient, content: str, repair: str
) -> None:
    stub.reply(content)
    reply = ask(make_client())
    assert reply.parsed == Finding(label="a", present=False, count=0)
    assert reply.repair == repair
    assert len(stub.posts) == 1


def test_malformed_json_is_reasked_once_with_the_parse_error(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply('{"label": "a", "present": tru').reply_json(VALID)
    reply = ask(make_client())
    assert reply.repair == "reasked"
    assert reply.attempts == 2
    reask = stub.posts[1].body["messages"]
    assert reask[:1] == MESSAGES
    assert reask[1] == {"role": "assistant", "content": '{"label": "a", "present": tru'}
    assert reask[2]["role"] == "user"
    assert "not valid JSON" in reask[2]["content"]


def test_schema_error_is_reasked_with_the_error_path(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json({"label": "a", "present": True, "count": -1}).reply_json(VALID)
    reply = ask(make_client())
    assert reply.repair == "reasked"
    assert "$.count" in stub.posts[1].body["messages"][-1]["content"]


def test_malformed_json_twice_raises_ml703(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply("not json").reply("still not json")
    with pytest.raises(LLMInvalidJSONError) as info:
        ask(make_client())
    assert info.value.code == "ML703"
    assert len(stub.posts) == 2


def test_schema_invalid_twice_raises_ml704_with_paths(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json({"label": "a", "present": "maybe"}).reply_json({"label": "a", "present": "maybe"})
    with pytest.raises(LLMSchemaError) as info:
        ask(make_client())
    assert info.value.code == "ML704"
    assert set(info.value.errors) == {"$.present: bool_parsing", "$.count: missing"}


def test_finish_reason_length_is_ml705_and_never_parsed(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID, finish_reason="length")
    with pytest.raises(LLMTruncatedError) as info:
        ask(make_client())
    assert info.value.code == "ML705"
    assert len(stub.posts) == 1  # no re-ask, no retry


def test_429_honours_retry_after_then_succeeds(stub: StubServer, make_endpoint: Callable[..., EndpointConfig]) -> None:
    stub.status(429, headers={"Retry-After": "0.04"}).reply_json(VALID)
    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    async def run() -> Any:
        async with AsyncLLMClient(make_endpoint(backoff_s=0.001, max_backoff_s=5.0), sleep=record) as client:
            return await client.complete_json(MESSAGES, Finding, task="t", prompt_version="v1")

    reply = asyncio.run(run())
    assert reply.attempts == 2
    assert waits == [pytest.approx(0.04)]


def test_retry_after_is_capped_by_max_backoff(stub: StubServer, make_endpoint: Callable[..., EndpointConfig]) -> None:
    stub.status(503, headers={"Retry-After": "3600"}).reply_json(VALID)
    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    async def run() -> Any:
        async with AsyncLLMClient(make_endpoint(max_backoff_s=0.5), sleep=record) as client:
            return await client.complete_json(MESSAGES, Finding, task="t", prompt_version="v1")

    asyncio.run(run())
    assert waits == [0.5]


def test_backoff_grows_exponentially_with_jitter(
    stub: StubServer, make_endpoint: Callable[..., EndpointConfig]
) -> None:
    stub.status(502).status(503).status(504).reply_json(VALID)
    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    async def run() -> Any:
        endpoint = make_endpoint(max_retries=3, backoff_s=1.0, max_backoff_s=100.0)
        async with AsyncLLMClient(endpoint, sleep=record) as client:
            return await client.complete_json(MESSAGES, Finding, task="t", prompt_version="v1")

    assert asyncio.run(run()).attempts == 4
    assert [0.5 <= waits[0] <= 1.0, 1.0 <= waits[1] <= 2.0, 2.0 <= waits[2] <= 4.0] == [True, True, True]


def test_500_is_retried_then_succeeds(stub: StubServer, make_client: MakeClient) -> None:
    stub.status(500).reply_json(VALID)
    assert ask(make_client()).attempts == 2


def test_persistent_500_raises_ml702_after_all_retries(stub: StubServer, make_client: MakeClient) -> None:
    stub.status(500).status(500).status(500)
    with pytest.raises(LLMHTTPStatusError) as info:
        ask(make_client(max_retries=2))
    assert (info.value.code, info.value.status) == ("ML702", 500)
    assert len(stub.posts) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(stub: StubServer, make_client: MakeClient, status: int) -> None:
    stub.status(status).reply_json(VALID)
    with pytest.raises(LLMHTTPStatusError) as info:
        ask(make_client(max_retries=3))
    assert info.value.status == status
    assert len(stub.posts) == 1


def test_slow_server_times_out_with_ml701(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID, delay_s=3.0)
    with pytest.raises(LLMTransportError) as info:
        ask(make_client(timeout_s=0.3, max_retries=0))
    assert info.value.code == "ML701"


def test_timeout_is_retried(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID, delay_s=3.0).reply_json(VALID)
    reply = ask(make_client(timeout_s=0.5, max_retries=1))
    assert reply.attempts == 2


def test_connection_refused_is_ml701_after_retries(make_client: MakeClient) -> None:
    with StubServer() as gone:
        url = gone.base_url
    client = make_client(base_url=url, max_retries=2)
    with pytest.raises(LLMTransportError) as info:
        ask(client)
    assert info.value.code == "ML701"
    assert client.accounting.summary()["demo.task"]["http_attempts"] == 3


def test_response_body_that_is_not_json_is_ml703(stub: StubServer, make_client: MakeClient) -> None:
    from openai_stub import Scripted

    stub.push(Scripted(raw=b"<html>gateway</html>"))
    with pytest.raises(LLMInvalidJSONError):
        ask(make_client())


def test_null_content_is_ml703(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply(None).reply(None)
    with pytest.raises(LLMInvalidJSONError):
        ask(make_client())


def test_concurrency_limit_bounds_requests_in_flight(stub: StubServer, make_client: MakeClient) -> None:
    for _ in range(8):
        stub.reply_json(VALID, delay_s=0.15)
    client = make_client(concurrency=2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            ask(client)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stub.max_in_flight == 2
    assert len(stub.posts) == 8


def test_async_client_runs_requests_concurrently(
    stub: StubServer, make_endpoint: Callable[..., EndpointConfig]
) -> None:
    for _ in range(4):
        stub.reply_json(VALID, delay_s=0.2)

    async def run() -> list[Any]:
        async with AsyncLLMClient(make_endpoint(concurrency=4)) as client:
            calls = [client.complete_json(MESSAGES, Finding, task="t", prompt_version="v1") for _ in range(4)]
            return await asyncio.gather(*calls)

    replies = asyncio.run(run())
    assert len(replies) == 4
    assert stub.max_in_flight == 4


def test_accounting_totals_per_task(stub: StubServer, make_client: MakeClient) -> None:
    accounting = Accounting()
    client = make_client(accounting=accounting)
    stub.reply_json(VALID, prompt_tokens=10, completion_tokens=3)
    stub.reply_json(VALID, prompt_tokens=20, completion_tokens=4)
    stub.reply_json(VALID, finish_reason="length", prompt_tokens=5, completion_tokens=100)
    ask(client, task="a")
    ask(client, task="a")
    with pytest.raises(LLMTruncatedError):
        ask(client, task="b")
    summary = accounting.summary()
    assert list(summary) == ["a", "b"]
    a, b = summary["a"], summary["b"]
    assert (a["calls"], a["errors"], a["prompt_tokens"], a["completion_tokens"], a["total_tokens"]) == (2, 0, 30, 7, 37)
    assert a["latency_s_total"] > 0
    assert a["latency_s_max"] <= a["latency_s_total"]
    assert (b["calls"], b["errors"], b["completion_tokens"]) == (1, 1, 100)


def test_reask_tokens_are_summed(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply("nope", prompt_tokens=10, completion_tokens=2).reply_json(VALID, prompt_tokens=15, completion_tokens=6)
    reply = ask(make_client())
    assert (reply.prompt_tokens, reply.completion_tokens) == (25, 8)


def test_api_key_is_read_from_env_and_sent_as_bearer(
    stub: StubServer, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDLENS_TEST_LLM_KEY", "sk-test-123")
    stub.reply_json(VALID)
    ask(make_client(api_key_env="MEDLENS_TEST_LLM_KEY"))
    headers = {k.lower(): v for k, v in stub.posts[0].headers.items()}
    assert headers["authorization"] == "Bearer sk-test-123"


def test_missing_api_key_env_is_ml707(make_endpoint: Callable[..., EndpointConfig]) -> None:
    with pytest.raises(LLMConfigError) as info:
        LLMClient(make_endpoint(api_key_env="MEDLENS_TEST_UNSET_KEY_VAR"))
    assert info.value.code == "ML707"


DICT_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_json_schema_dict_without_jsonschema_package_is_ml707_before_any_request(
    stub: StubServer, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import now raises ImportError
    with pytest.raises(LLMConfigError) as info:
        ask(make_client(), DICT_SCHEMA)
    assert info.value.code == "ML707"
    assert stub.posts == []


def test_json_schema_dict_reply_is_validated_with_jsonschema(stub: StubServer, make_client: MakeClient) -> None:
    pytest.importorskip("jsonschema")
    stub.reply('{"n": 3}')
    reply = ask(make_client(), DICT_SCHEMA)
    assert (reply.parsed, reply.repair) == ({"n": 3}, "none")
    assert stub.posts[0].body["response_format"]["json_schema"]["schema"] == DICT_SCHEMA


def test_json_schema_dict_invalid_reply_is_reasked_then_ml704(stub: StubServer, make_client: MakeClient) -> None:
    pytest.importorskip("jsonschema")
    stub.reply('{"n": "three"}').reply('{"m": 1}')
    with pytest.raises(LLMSchemaError) as info:
        ask(make_client(), DICT_SCHEMA)
    assert info.value.code == "ML704"
    assert info.value.errors == ("$: required",)
    assert len(stub.posts) == 2


def test_invalid_json_schema_dict_is_ml707(stub: StubServer, make_client: MakeClient) -> None:
    pytest.importorskip("jsonschema")
    with pytest.raises(LLMConfigError) as info:
        ask(make_client(), {"type": "no-such-type"})
    assert info.value.code == "ML707"
    assert stub.posts == []


def test_empty_messages_are_ml707(make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(LLMConfigError):
        client.complete_json([], Finding, task="t", prompt_version="v1")


def test_ollama_dialect_uses_native_chat_api(stub: StubServer, make_client: MakeClient) -> None:
    stub.ollama_reply(json.dumps(VALID))
    reply = ask(make_client(dialect="ollama_format", max_tokens=50, seed=3))
    request = stub.posts[0]
    assert request.path == "/api/chat"
    assert request.body["format"] == Finding.model_json_schema()
    assert request.body["stream"] is False
    assert request.body["options"] == {"temperature": 0.0, "num_predict": 50, "seed": 3}
    assert (reply.prompt_tokens, reply.completion_tokens) == (13, 5)


def test_ollama_done_reason_length_is_ml705(stub: StubServer, make_client: MakeClient) -> None:
    stub.ollama_reply('{"label": "a"', done_reason="length")
    with pytest.raises(LLMTruncatedError):
        ask(make_client(dialect="ollama_format"))


def test_sync_client_is_usable_from_several_threads_after_close_reopens(
    stub: StubServer, make_client: MakeClient
) -> None:
    client = make_client()
    stub.reply_json(VALID)
    ask(client)
    client.close()
    stub.reply_json(VALID)
    assert ask(client).parsed.count == 2
