"""On-disk reply cache: hits served without HTTP, misses on any key part, safe with concurrent writers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_testkit import Finding
from openai_stub import StubServer
from pydantic import BaseModel

from medlens.llm import Accounting, LLMCache, LLMClient, LLMTruncatedError, PHIGateError
from medlens.llm.cache import CachedReply, cache_key

MakeClient = Callable[..., LLMClient]
VALID = {"label": "effusion", "present": True, "count": 2}
MESSAGES = [{"role": "user", "content": "Extract one finding."}]


class OtherFinding(BaseModel):
    label: str
    present: bool
    count: int


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[LLMCache]:
    store = LLMCache(tmp_path / "llm.sqlite")
    yield store
    store.close()


def ask(client: LLMClient, schema: Any = Finding, *, prompt_version: str = "v1", messages: Any = None) -> Any:
    return client.complete_json(messages or MESSAGES, schema, task="t", prompt_version=prompt_version)


def test_second_identical_call_is_served_from_disk_without_http(
    stub: StubServer, make_client: MakeClient, cache: LLMCache
) -> None:
    stub.reply_json(VALID)
    accounting = Accounting()
    client = make_client(cache=cache, accounting=accounting)
    first = ask(client)
    second = ask(client)
    assert len(stub.posts) == 1
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.parsed == first.parsed
    assert (second.attempts, second.prompt_tokens, second.raw_text) == (0, 0, first.raw_text)
    assert accounting.summary()["t"]["cache_hits"] == 1


def test_cache_survives_a_new_client_and_connection(stub: StubServer, make_client: MakeClient, tmp_path: Path) -> None:
    stub.reply_json(VALID)
    first = LLMCache(tmp_path / "c.sqlite")
    ask(make_client(cache=first))
    first.close()
    second = LLMCache(tmp_path / "c.sqlite")
    try:
        assert ask(make_client(cache=second)).cache_hit is True
    finally:
        second.close()
    assert len(stub.posts) == 1


@pytest.mark.parametrize(
    ("change", "value"),
    [("schema", OtherFinding), ("prompt_version", "v2"), ("model", "other-model"), ("messages", "other")],
)
def test_any_key_part_changed_is_a_miss(
    stub: StubServer, make_client: MakeClient, cache: LLMCache, change: str, value: Any
) -> None:
    stub.reply_json(VALID).reply_json(VALID)
    ask(make_client(cache=cache))
    if change == "schema":
        reply = ask(make_client(cache=cache), value)
    elif change == "prompt_version":
        reply = ask(make_client(cache=cache), prompt_version=value)
    elif change == "model":
        reply = ask(make_client(cache=cache, model=value))
    else:
        reply = ask(make_client(cache=cache), messages=[{"role": "user", "content": value}])
    assert reply.cache_hit is False
    assert len(stub.posts) == 2


@pytest.mark.parametrize(("field", "value"), [("dialect", "prompt_only"), ("temperature", 0.7), ("seed", 99)])
def test_dialect_temperature_and_seed_are_in_the_key(field: str, value: Any) -> None:
    base: dict[str, Any] = {
        "model": "m",
        "prompt_version": "v1",
        "messages": MESSAGES,
        "schema": Finding.model_json_schema(),
        "dialect": "openai_json_schema",
        "temperature": 0.0,
        "seed": 0,
    }
    assert cache_key(**base) != cache_key(**{**base, field: value})
    assert cache_key(**base) == cache_key(**dict(base))


def test_failed_calls_are_not_cached(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply_json(VALID, finish_reason="length").reply_json(VALID)
    client = make_client(cache=cache)
    with pytest.raises(LLMTruncatedError):
        ask(client)
    assert len(cache) == 0
    assert ask(client).cache_hit is False


def test_cached_entry_that_no_longer_validates_is_asked_again(
    stub: StubServer, make_client: MakeClient, cache: LLMCache
) -> None:
    client = make_client(cache=cache)
    key = cache_key(
        model="stub-model",
        prompt_version="v1",
        messages=MESSAGES,
        schema=Finding.model_json_schema(),
        dialect="openai_json_schema",
        temperature=0.0,
        seed=0,
    )
    cache.put(key, CachedReply("{}", {}, "stop", 1, 1), model="stub-model", prompt_version="v1")
    stub.reply_json(VALID)
    assert ask(client).cache_hit is False
    assert len(stub.posts) == 1


def test_gate_is_checked_before_the_cache(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply_json(VALID)
    ask(make_client(cache=cache, locality="local"))
    with pytest.raises(PHIGateError):
        ask(make_client(cache=cache, locality="remote"))


def test_prompt_text_is_not_stored(stub: StubServer, make_client: MakeClient, cache: LLMCache) -> None:
    stub.reply_json(VALID)
    ask(make_client(cache=cache), messages=[{"role": "user", "content": "UNIQUE-PROMPT-MARKER"}])
    cache.close()
    assert b"UNIQUE-PROMPT-MARKER" not in b"".join(p.read_bytes() for p in cache.path.parent.iterdir())


def test_concurrent_threads_write_safely(cache: LLMCache) -> None:
    def write(worker: int) -> None:
        for i in range(50):
            cache.put(f"k{worker}-{i}", CachedReply("{}", {"i": i}, "stop", 1, 1), model="m", prompt_version="v")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 300
    assert cache.get("k5-49") == CachedReply("{}", {"i": 49}, "stop", 1, 1)


def test_concurrent_processes_write_safely(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    script = textwrap.dedent(
        """
        import sys
        from medlens.llm.cache import CachedReply, LLMCache
        cache = LLMCache(sys.argv[1])
        for i in range(200):
            cache.put(f"{sys.argv[2]}-{i}", CachedReply("{}", {"i": i}, "stop", 1, 1), model="m", prompt_version="v")
        cache.close()
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"p{n}"]) for n in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    cache = LLMCache(path)
    try:
        assert len(cache) == 600
    finally:
        cache.close()


def test_clear_empties_the_cache(cache: LLMCache) -> None:
    cache.put("k", CachedReply("{}", {}, "stop", 0, 0), model="m", prompt_version="v")
    cache.clear()
    assert cache.get("k") is None
