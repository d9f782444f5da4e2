"""Endpoint configuration: validation, defaults that fail closed, lazy package import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from medlens.llm import EndpointConfig


@pytest.mark.parametrize("url", ["ftp://host/v1", "127.0.0.1:8080/v1", "", "http://"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValidationError):
        EndpointConfig(base_url=url, model="m")


def test_trailing_slash_is_dropped() -> None:
    assert EndpointConfig(base_url="http://127.0.0.1:8080/v1/", model="m").base_url == "http://127.0.0.1:8080/v1"


@pytest.mark.parametrize(
    ("field", "value"),
    [("dialect", "guided_json"), ("locality", "lan"), ("concurrency", 0), ("timeout_s", 0), ("unknown", 1)],
)
def test_invalid_settings_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        EndpointConfig(base_url="http://127.0.0.1:8080/v1", model="m", **{field: value})


def test_endpoint_is_frozen() -> None:
    endpoint = EndpointConfig(base_url="http://127.0.0.1:8080/v1", model="m")
    with pytest.raises(ValidationError):
        endpoint.model = "other"  # type: ignore[misc]


def test_importing_medlens_llm_does_not_import_httpx() -> None:
    code = (
        "import sys, medlens.llm\n"
        "from medlens.llm import EndpointConfig, Message, gate, LLMCache, Accounting\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
        "from medlens.llm import LLMClient\n"
        "assert 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_raises_attribute_error() -> None:
    import medlens.llm

    with pytest.raises(AttributeError):
        _ = medlens.llm.NoSuchThing
