"""JSON schema -> GBNF: one row per schema construct, with the rule it must produce."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from medlens.llm import LLMConfigError, schema_to_gbnf


def rules(grammar: str) -> dict[str, str]:
    out = {}
    for line in grammar.strip().splitlines():
        name, _, body = line.partition(" ::= ")
        out[name] = body
    return out


@pytest.mark.parametrize(
    ("schema", "root"),
    [
        ({"type": "integer"}, "integer"),
        ({"type": "number"}, "number"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "null"}, "null"),
        ({"type": "string"}, "string"),
        ({}, "value"),
        ({"type": "string", "maxLength": 5}, r'"\"" char{0,5} "\"" space'),
        ({"type": "string", "minLength": 2}, r'"\"" char{2,} "\"" space'),
        ({"enum": ["a", "b"]}, r'("\"a\"" space | "\"b\"" space)'),
        ({"enum": [1, None]}, r'("1" space | "null" space)'),
        ({"const": "x"}, r'"\"x\"" space'),
        ({"type": ["integer", "null"]}, "(integer | null)"),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "(string | null)"),
        ({"type": "array", "items": {"type": "integer"}}, r'"[" space (integer ("," space integer)*)? "]" space'),
        (
            {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
            r'"[" space integer ("," space integer){0,2} "]" space',
        ),
        (
            {"type": "array", "items": {"type": "integer"}, "minItems": 2},
            r'"[" space integer ("," space integer){1,} "]" space',
        ),
        ({"type": "array", "maxItems": 0}, r'"[" space "]" space'),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
            r'"[" space integer "," space string "]" space',
        ),
        (
            {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}}},
            r'"{" space "\"a\"" space ":" space integer "," space "\"b\"" space ":" space boolean "}" space',
        ),
        ({"type": "object", "additionalProperties": False}, r'"{" space "}" space'),
        ({"type": "object"}, "object"),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}},
            r'"{" space (string ":" space integer ("," space string ":" space integer)*)? "}" space',
        ),
    ],
)
def test_schema_construct_to_root_rule(schema: dict[str, Any], root: str) -> None:
    assert rules(schema_to_gbnf(schema))["root"] == root


def test_only_used_primitives_are_emitted() -> None:
    assert set(rules(schema_to_gbnf({"type": "integer"}))) == {"root", "integer", "space"}


def test_string_escapes_are_allowed_and_control_characters_are_not() -> None:
    char = rules(schema_to_gbnf({"type": "string"}))["char"]
    assert char.startswith(r'[^"\\\x7F\x00-\x1F]')
    assert '"u" [0-9a-fA-F]' in char


def test_whitespace_is_at_most_one_space() -> None:
    assert rules(schema_to_gbnf({"type": "integer"}))["space"] == '" "?'


def test_pydantic_model_with_refs_and_optional_fields() -> None:
    class Evidence(BaseModel):
        quote: str
        start: int

    class Result(BaseModel):
        status: Literal["positive", "negative"]
        evidence: list[Evidence]
        note: str | None = None

    r = rules(schema_to_gbnf(Result.model_json_schema()))
    assert r["root"] == (
        r'"{" space "\"status\"" space ":" space root-status "," space "\"evidence\"" space ":" space '
        r'root-evidence "," space "\"note\"" space ":" space root-note "}" space'
    )
    assert r["root-status"] == r'("\"positive\"" space | "\"negative\"" space)'
    assert r["root-evidence"] == r'"[" space (evidence ("," space evidence)*)? "]" space'
    assert r["evidence"].startswith(r'"{" space "\"quote\"" space ":" space string')
    assert r["root-note"] == "(string | null)"


def test_recursive_schema_refers_to_itself() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node]

    r = rules(schema_to_gbnf(Node.model_json_schema()))
    assert "node" in r["node-children"]
    assert r["root"] == "node"


def test_def_named_like_a_primitive_gets_its_own_rule() -> None:
    schema = {"$defs": {"string": {"type": "integer"}}, "$ref": "#/$defs/string"}
    r = rules(schema_to_gbnf(schema))
    assert r["root"] == "string-t"
    assert r["string-t"] == "integer"


def test_property_names_are_json_escaped() -> None:
    r = rules(schema_to_gbnf({"type": "object", "properties": {'a"b': {"type": "null"}}}))
    assert r"\"a\\\"b\"" in r["root"]


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "http://example.org/schema.json"},
        {"$ref": "#/$defs/missing"},
        {"allOf": [{"type": "integer"}, {"type": "number"}]},
        {"type": "tuple"},
    ],
)
def test_unsupported_schema_is_ml707(schema: dict[str, Any]) -> None:
    with pytest.raises(LLMConfigError) as info:
        schema_to_gbnf(schema)
    assert info.value.code == "ML707"
