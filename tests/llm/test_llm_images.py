"""Image parts: the PHI gate, request shape per dialect, cache keys and complete_text against the stub server."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from llm_testkit import SENTINEL, Finding
from openai_stub import StubServer
from pydantic import ValidationError

from medlens.core.types import Document
from medlens.llm import (
    Accounting,
    AsyncLLMClient,
    EndpointConfig,
    ImagePart,
    LLMCache,
    LLMClient,
    LLMHTTPStatusError,
    LLMTextResponse,
    LLMTruncatedError,
    Message,
    PHIGateError,
    gate,
)
from medlens.llm.cache import cache_key, stable_hash
from medlens.llm.dialects import build_request, schema_instruction
from medlens.llm.gate import check_messages
from medlens.safety.deid import Deidentifier, PatientKeys

MakeClient = Callable[..., LLMClient]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_A = PNG_MAGIC + b"image-a" * 8  # the gate checks the magic number only; these are plumbing fixtures
PNG_B = PNG_MAGIC + b"image-b" * 8
VALID = {"label": "effusion", "present": True, "count": 1}
SCHEMA = Finding.model_json_schema()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_message(png: bytes = PNG_A, *, cleared: bool = False) -> Message:
    return Message.of(
        "user", gate.template("Question: "), gate.template("Is it a CT?"), ImagePart(png=png, cleared=cleared)
    )


def ask_text(client: LLMClient, messages: Any = None, **kw: Any) -> LLMTextResponse:
    return client.complete_text(messages or [image_message()], task="imaging.vqa", prompt_version="v1", **kw)


# -- gate ----------------------------------------------------------------------------------------------------


def test_image_message_becomes_openai_content_list_with_merged_text() -> None:
    (wire,) = check_messages([image_message()], remote=False)
    assert wire == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Question: Is it a CT?"},
            {"type": "image_url", "image_url": {"url": data_url(PNG_A)}},
        ],
    }


def test_content_list_keeps_part_order() -> None:
    message = Message.of("user", ImagePart(png=PNG_A), gate.template("a"), ImagePart(png=PNG_B), gate.template("b"))
    (wire,) = check_messages([message], remote=False)
    assert [(item["type"], item.get("text")) for item in wire["content"]] == [
        ("image_url", None),
        ("text", "a"),
        ("image_url", None),
        ("text", "b"),
    ]
    assert wire["content"][2]["image_url"]["url"] == data_url(PNG_B)


def test_text_only_message_keeps_string_content() -> None:
    (wire,) = check_messages([Message.of("user", gate.template("a"), gate.template("b"))], remote=False)
    assert wire == {"role": "user", "content": "ab"}


def test_remote_gate_refuses_uncleared_image() -> None:
    with pytest.raises(PHIGateError) as info:
        check_messages([image_message(cleared=False)], remote=True)
    assert info.value.code == "ML706"
    assert "part 2" in str(info.value)


@pytest.mark.parametrize(("remote", "cleared"), [(True, True), (False, False), (False, True)])
def test_gate_allows_cleared_image_or_local_endpoint(remote: bool, cleared: bool) -> None:
    (wire,) = check_messages([image_message(cleared=cleared)], remote=remote)
    assert wire["content"][1]["type"] == "image_url"


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        pytest.param(b"DICM" + bytes(128), "image/png", id="dicom-bytes-as-png"),
        pytest.param(b"\xff\xd8\xff\xe0 jpeg", "image/png", id="jpeg-bytes-as-png"),
        pytest.param(PNG_A, "image/jpeg", id="png-bytes-as-jpeg"),
    ],
)
def test_bytes_not_matching_media_type_are_refused_on_any_endpoint(data: bytes, media_type: Any) -> None:
    with pytest.raises(PHIGateError) as info:
        check_messages([Message.of("user", ImagePart(png=data, media_type=media_type))], remote=False)
    assert info.value.code == "ML706"


def test_jpeg_part_is_sent_with_its_media_type() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(16)
    (wire,) = check_messages([Message.of("user", ImagePart(png=jpeg, media_type="image/jpeg"))], remote=False)
    assert wire["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")


@pytest.mark.parametrize("role", ["system", "assistant"])
def test_image_outside_a_user_message_is_refused(role: Any) -> None:
    with pytest.raises(PHIGateError):
        check_messages([Message.of(role, ImagePart(png=PNG_A))], remote=False)


def test_image_part_rejects_a_string_for_the_bytes() -> None:
    with pytest.raises(ValidationError):
        ImagePart(png=base64.b64encode(PNG_A).decode("ascii"))  # type: ignore[arg-type]


def test_image_part_is_frozen() -> None:
    part = ImagePart(png=PNG_A)
    with pytest.raises(ValidationError):
        part.cleared = True  # type: ignore[misc]


def test_repr_shows_size_not_bytes() -> None:
    part = ImagePart(png=PNG_A)
    shown = repr(Message.of("user", part))
    assert f"bytes={len(PNG_A)}" in shown
    assert "image-a" not in shown
    assert base64.b64encode(PNG_A).decode("ascii")[:16] not in shown


# -- client: gate before I/O -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["complete_text", "complete_json"])
def test_remote_endpoint_refuses_uncleared_image_with_zero_requests(
    stub: StubServer, make_client: MakeClient, method: str
) -> None:
    client = make_client(locality="remote", dialect="auto")
    calls: dict[str, Callable[[], Any]] = {
        "complete_text": lambda: ask_text(client),
        "complete_json": lambda: client.complete_json([image_message()], Finding, task="t", prompt_version="v1"),
    }
    with pytest.raises(PHIGateError) as info:
        calls[method]()
    assert info.value.code == "ML706"
    assert stub.requests == []  # not even dialect detection


def test_remote_endpoint_sends_cleared_image_with_deidentified_text(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply("no")
    deidentifier = Deidentifier(keys=PatientKeys(b"medlens-test-secret-0123456789"))
    question = gate.deidentify(deidentifier, Document(id="q", text=f"Patient Name: {SENTINEL}\nIs it a CT?"), "redact")
    message = Message.of("user", gate.template("Question: "), question, ImagePart(png=PNG_A, cleared=True))
    assert ask_text(make_client(locality="remote"), [message]).text == "no"
    sent = stub.posts[0].body["messages"][0]["content"]
    assert SENTINEL not in json.dumps(sent)
    assert sent[1]["image_url"]["url"] == data_url(PNG_A)


def test_local_endpoint_sends_uncleared_image(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply("yes")
    assert ask_text(make_client(locality="local")).text == "yes"
    assert len(stub.posts) == 1


# -- request shape per dialect ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dialect", ["openai_json_schema", "vllm_structured_outputs", "llamacpp_json_schema", "llamacpp_grammar"]
)
def test_constrained_dialects_pass_the_content_list_as_is(
    stub: StubServer, make_client: MakeClient, dialect: str
) -> None:
    stub.reply_json(VALID)
    make_client(dialect=dialect).complete_json([image_message()], Finding, task="t", prompt_version="v1")
    body = stub.posts[0].body
    assert stub.posts[0].path == "/v1/chat/completions"
    assert body["messages"] == check_messages([image_message()], remote=False)


def test_prompt_only_appends_instruction_to_the_last_text_part(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    message = Message.of("user", gate.template("Q1 "), ImagePart(png=PNG_A), gate.template("Q2"), ImagePart(png=PNG_B))
    make_client(dialect="prompt_only").complete_json([message], Finding, task="t", prompt_version="v1")
    content = stub.posts[0].body["messages"][0]["content"]
    assert [item.get("text") for item in content] == [
        "Q1 ",
        None,
        "Q2" + schema_instruction(SCHEMA),
        None,
    ]


def test_prompt_only_adds_a_text_part_to_an_image_only_message() -> None:
    endpoint = EndpointConfig(base_url="http://127.0.0.1:1/v1", model="m", dialect="prompt_only")
    wire = check_messages([Message.of("user", ImagePart(png=PNG_A))], remote=False)
    req = build_request("prompt_only", endpoint=endpoint, messages=wire, schema=SCHEMA, schema_name="x")
    content = req.body["messages"][0]["content"]
    assert content[-1] == {"type": "text", "text": schema_instruction(SCHEMA).lstrip()}
    assert wire[0]["content"] == [{"type": "image_url", "image_url": {"url": data_url(PNG_A)}}]  # input untouched


def test_ollama_format_sends_images_natively(stub: StubServer, make_client: MakeClient) -> None:
    stub.ollama_reply(json.dumps(VALID))
    make_client(dialect="ollama_format").complete_json([image_message()], Finding, task="t", prompt_version="v1")
    post = stub.posts[0]
    assert post.path == "/api/chat"
    assert post.body["messages"] == [
        {"role": "user", "content": "Question: Is it a CT?", "images": [base64.b64encode(PNG_A).decode("ascii")]}
    ]
    assert post.body["format"] == SCHEMA


@pytest.mark.parametrize(
    "dialect", ["openai_json_schema", "vllm_structured_outputs", "llamacpp_grammar", "prompt_only"]
)
def test_complete_text_sends_no_constraint(stub: StubServer, make_client: MakeClient, dialect: str) -> None:
    stub.reply("yes")
    ask_text(make_client(dialect=dialect, max_tokens=99), max_tokens=8)
    body = stub.posts[0].body
    assert not {"response_format", "structured_outputs", "grammar", "format"} & set(body)
    assert body["messages"] == check_messages([image_message()], remote=False)  # no schema instruction either
    assert body["max_tokens"] == 8


def test_complete_text_on_ollama_uses_native_chat_without_format(stub: StubServer, make_client: MakeClient) -> None:
    stub.ollama_reply("yes")
    reply = ask_text(make_client(dialect="ollama_format"))
    post = stub.posts[0]
    assert (post.path, "format" in post.body) == ("/api/chat", False)
    assert post.body["messages"][0]["images"] == [base64.b64encode(PNG_A).decode("ascii")]
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens) == ("yes", 13, 5)


# -- cache -----------------------------------------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path: Any) -> Any:
    store = LLMCache(tmp_path / "llm.sqlite")
    yield store
    store.close()


def test_identical_image_is_a_cache_hit(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply("yes")
    client = make_client(cache=cache)
    first, second = ask_text(client), ask_text(client)
    assert len(stub.posts) == 1
    assert (first.cache_hit, second.cache_hit, second.text, second.attempts) == (False, True, "yes", 0)


def test_different_image_is_a_cache_miss(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply("yes").reply("no")
    client = make_client(cache=cache)
    assert ask_text(client, [image_message(PNG_A)]).text == "yes"
    second = ask_text(client, [image_message(PNG_B)])
    assert (second.cache_hit, second.text) == (False, "no")
    assert len(stub.posts) == 2


def test_text_and_json_calls_do_not_share_cache_entries(
    stub: StubServer, make_client: MakeClient, cache: LLMCache
) -> None:
    stub.reply(json.dumps(VALID)).reply_json(VALID)
    client = make_client(cache=cache)
    ask_text(client)
    reply = client.complete_json([image_message()], Finding, task="t", prompt_version="v1")
    assert (reply.cache_hit, len(stub.posts)) == (False, 2)


def test_cache_key_hashes_images_and_stores_no_bytes(cache: LLMCache) -> None:
    def key(png: bytes) -> str:
        wire = check_messages([image_message(png)], remote=False)
        return cache_key(
            model="m", prompt_version="v", messages=wire, schema=None, dialect="d", temperature=0.0, seed=0
        )

    assert key(PNG_A) == key(PNG_A)
    assert key(PNG_A) != key(PNG_B)


def test_cache_key_of_text_only_messages_is_unchanged() -> None:
    messages = [{"role": "user", "content": "Extract one finding."}]
    expected = stable_hash(
        {
            "model": "m",
            "prompt_version": "v",
            "input": stable_hash(messages),
            "schema": stable_hash(SCHEMA),
            "dialect": "d",
            "temperature": 0.0,
            "seed": 0,
        }
    )
    key = cache_key(
        model="m", prompt_version="v", messages=messages, schema=SCHEMA, dialect="d", temperature=0.0, seed=0
    )
    assert key == expected  # caches written before image support stay valid


def test_cache_file_holds_no_image_bytes(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply("yes")
    ask_text(make_client(cache=cache))
    cache.close()
    raw = b"".join(p.read_bytes() for p in cache.path.parent.iterdir() if p.name.startswith(cache.path.name))
    assert base64.b64encode(PNG_A)[:24] not in raw
    assert b"image-a" not in raw


# -- complete_text: truncation, retries, accounting, async ------------------------------------------------------


def test_truncated_text_reply_is_ml705_and_not_cached(
    stub: StubServer, make_client: MakeClient, cache: LLMCache
) -> None:
    stub.reply("ye", finish_reason="length")
    with pytest.raises(LLMTruncatedError) as info:
        ask_text(make_client(cache=cache))
    assert info.value.code == "ML705"
    assert len(cache) == 0


def test_text_reply_is_returned_unstripped_with_usage(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply("  Yes.\n", prompt_tokens=30, completion_tokens=2)
    reply = ask_text(make_client())
    assert (reply.text, reply.finish_reason, reply.attempts, reply.total_tokens) == ("  Yes.\n", "stop", 1, 32)
    assert (reply.task, reply.prompt_version, reply.model, reply.dialect) == (
        "imaging.vqa",
        "v1",
        "stub-model",
        "openai_json_schema",
    )


def test_text_call_retries_server_errors(stub: StubServer, make_client: MakeClient) -> None:
    stub.status(503).reply("yes")
    reply = ask_text(make_client())
    assert (reply.text, reply.attempts, len(stub.posts)) == ("yes", 2, 2)


def test_text_call_does_not_retry_client_errors(stub: StubServer, make_client: MakeClient) -> None:
    stub.status(400).reply("yes")
    with pytest.raises(LLMHTTPStatusError) as info:
        ask_text(make_client())
    assert (info.value.code, info.value.status, len(stub.posts)) == ("ML702", 400, 1)


def test_text_calls_are_accounted_per_task(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply("yes", prompt_tokens=30, completion_tokens=2).reply("x", finish_reason="length")
    accounting = Accounting()
    client = make_client(cache=cache, accounting=accounting)
    ask_text(client)
    ask_text(client)  # cache hit
    with pytest.raises(LLMTruncatedError):
        ask_text(client, [image_message(PNG_B)])
    totals = accounting.summary()["imaging.vqa"]
    assert {k: totals[k] for k in ("calls", "cache_hits", "errors", "http_attempts", "prompt_tokens")} == {
        "calls": 3,
        "cache_hits": 1,
        "errors": 1,
        "http_attempts": 2,
        "prompt_tokens": 30 + 11,
    }


def test_async_complete_text(stub: StubServer, make_endpoint: Callable[..., EndpointConfig]) -> None:
    stub.reply("no")

    async def run() -> LLMTextResponse:
        async with AsyncLLMClient(make_endpoint()) as client:
            return await client.complete_text([image_message()], task="t", prompt_version="v1")

    assert asyncio.run(run()).text == "no"


def test_failed_text_call_logs_no_text(
    stub: StubServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    stub.reply(SENTINEL, finish_reason="length")
    caplog.set_level(logging.DEBUG, logger="medlens")
    message = Message.of("user", f"About {SENTINEL}: ", ImagePart(png=PNG_A))
    with pytest.raises(LLMTruncatedError) as info:
        ask_text(make_client(), [message])
    assert SENTINEL not in caplog.text
    assert SENTINEL not in str(info.value)
