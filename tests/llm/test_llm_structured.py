"""Structured output: JSON extraction and repair, validation errors as paths without values."""

from __future__ import annotations

from typing import Any

import pytest
from llm_testkit import SENTINEL, Finding

from medlens.llm.structured import InvalidOutput, OutputSchema, extract_json


@pytest.mark.parametrize(
    ("text", "value", "repaired"),
    [
        ('{"a": 1}', {"a": 1}, False),
        ('\n  {"a": 1}  \n', {"a": 1}, False),
        ("[1, 2]", [1, 2], False),
        ('```json\n{"a": 1}\n```', {"a": 1}, True),
        ('```\n{"a": 1}\n```', {"a": 1}, True),
        ('Sure! ```JSON {"a": 1}``` done', {"a": 1}, True),
        ('Here you go: {"a": {"b": [1, 2]}} -- end', {"a": {"b": [1, 2]}}, True),
        ('{not json} then {"a": 2}', {"a": 2}, True),
        ('{"a": "brace } inside"} trailing', {"a": "brace } inside"}, True),
    ],
)
def test_extract_json(text: str, value: Any, repaired: bool) -> None:
    assert extract_json(text) == (value, repaired)


@pytest.mark.parametrize("text", ["", "no json at all", '{"a": 1', "```json\n{oops}\n```"])
def test_extract_json_failure_is_a_json_error_without_the_text(text: str) -> None:
    with pytest.raises(InvalidOutput) as info:
        extract_json(text + SENTINEL)
    assert info.value.json_error is True
    assert SENTINEL not in str(info.value)
    assert SENTINEL not in info.value.feedback


def test_extract_json_tries_a_bounded_number_of_starts() -> None:
    text = "{" * 10_000 + '{"a": 1}'
    with pytest.raises(InvalidOutput):
        extract_json(text)


def test_model_validation_returns_an_instance() -> None:
    schema: OutputSchema[Finding] = OutputSchema(Finding)
    assert schema.validate({"label": "x", "present": False, "count": 0}) == Finding(label="x", present=False, count=0)
    assert (schema.name, schema.json_schema["title"]) == ("Finding", "Finding")


def test_model_validation_errors_are_paths_and_types_without_values() -> None:
    schema: OutputSchema[Finding] = OutputSchema(Finding)
    with pytest.raises(InvalidOutput) as info:
        schema.validate({"label": SENTINEL * 5, "present": SENTINEL, "extra": SENTINEL})
    assert set(info.value.errors) == {
        "$.label: string_too_long",
        "$.present: bool_parsing",
        "$.count: missing",
        "$.extra: extra_forbidden",
    }
    assert SENTINEL not in str(info.value)
    assert info.value.json_error is False


def test_nested_error_path_uses_indices() -> None:
    from pydantic import BaseModel

    class Outer(BaseModel):
        items: list[Finding]

    with pytest.raises(InvalidOutput) as info:
        OutputSchema(Outer).validate({"items": [{"label": "a", "present": True, "count": 1}, {"label": "b"}]})
    assert "$.items[1].present: missing" in info.value.errors


def test_schema_name_override() -> None:
    assert OutputSchema(Finding, name="notes_extract").name == "notes_extract"


def test_unsupported_schema_type_is_ml707() -> None:
    from medlens.llm import LLMConfigError

    with pytest.raises(LLMConfigError):
        OutputSchema(42)  # type: ignore[arg-type]
