"""Fixtures for the LLM client tests: a scripted OpenAI-compatible server on loopback, endpoints, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openai_stub import StubServer

from medlens.llm import EndpointConfig, LLMClient


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture
def make_endpoint(stub: StubServer) -> Callable[..., EndpointConfig]:
    def make(**overrides: Any) -> EndpointConfig:
        options: dict[str, Any] = {
            "name": "stub",
            "base_url": stub.base_url,
            "model": "stub-model",
            "locality": "local",
            "dialect": "openai_json_schema",
            "timeout_s": 5.0,
            "max_retries": 2,
            "backoff_s": 0.001,
            "max_backoff_s": 0.05,
        }
        options.update(overrides)
        return EndpointConfig(**options)

    return make


@pytest.fixture
def make_client(make_endpoint: Callable[..., EndpointConfig]) -> Iterator[Callable[..., LLMClient]]:
    clients: list[LLMClient] = []

    def make(*, cache: Any = None, accounting: Any = None, **overrides: Any) -> LLMClient:
        client = LLMClient(make_endpoint(**overrides), cache=cache, accounting=accounting)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
