"""JSON schema -> GBNF grammar (llama.cpp's grammar format), for the ``llamacpp_grammar`` dialect.

Covers what pydantic's ``model_json_schema()`` emits: objects with properties, ``$ref``/``$defs`` (recursion
included), ``anyOf``/``oneOf``, ``allOf`` with one member, ``enum``, ``const``, arrays with ``items``,
``prefixItems``, ``minItems``/``maxItems``, strings with ``minLength``/``maxLength``, integers, numbers, booleans,
null, and maps (``additionalProperties`` schema).

The grammar is never looser than the schema for what it expresses, and where it cannot express a keyword
(``pattern``, ``format``, numeric bounds, ``uniqueItems``) it is looser, so the client's schema validation still
decides. Every declared property is emitted, in declaration order: optional properties are always present, which
any object that validates against the schema may be. Whitespace is limited to one optional space between tokens so
a small model cannot loop on blank output.

GBNF reference: llama.cpp ``grammars/README.md`` (rule names ``[a-zA-Z0-9-]+``, ``{m,n}`` repetition).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from medlens.llm.errors import LLMConfigError

__all__ = ["schema_to_gbnf"]

_PRIMITIVES: dict[str, str] = {
    "space": '" "?',
    "char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])',
    "string": r'"\"" char* "\"" space',
    "integer": r'("-"? ([0-9] | [1-9] [0-9]{0,15})) space',
    "number": r'("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? space',
    "boolean": r'("true" | "false") space',
    "null": r'"null" space',
    "value": "object | array | string | number | boolean | null",
    "object": r'"{" space (string ":" space value ("," space string ":" space value)*)? "}" space',
    "array": r'"[" space (value ("," space value)*)? "]" space',
}
# Which primitive rules each primitive needs (so the grammar holds only rules that are used).
_NEEDS: dict[str, tuple[str, ...]] = {
    "string": ("char", "space"),
    "integer": ("space",),
    "number": ("space",),
    "boolean": ("space",),
    "null": ("space",),
    "value": ("object", "array", "string", "number", "boolean", "null"),
    "object": ("space", "string", "value"),
    "array": ("space", "value"),
}
_NAME_RE = re.compile(r"[^a-zA-Z0-9-]+")


def _literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _json_literal(value: Any) -> str:
    return _literal(json.dumps(value, ensure_ascii=False)) + " space"


class _Converter:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.rules: dict[str, str] = {}
        self.refs: dict[str, str] = {}

    def _use(self, primitive: str) -> str:
        if primitive not in self.rules:
            self.rules[primitive] = _PRIMITIVES[primitive]
            for dep in _NEEDS.get(primitive, ()):
                self._use(dep)
        return primitive

    def _new_rule(self, hint: str, body: str) -> str:
        base = _NAME_RE.sub("-", hint).strip("-").lower() or "rule"
        if base in _PRIMITIVES or base == "root":
            base += "-t"
        name, n = base, 1
        while name in self.rules and self.rules[name] != body:
            n += 1
            name = f"{base}{n}"
        self.rules[name] = body
        return name

    def _resolve_ref(self, ref: str) -> str:
        if ref in self.refs:
            return self.refs[ref]
        if not ref.startswith("#/"):
            raise LLMConfigError(f"only local $ref is supported in grammars, got {ref!r}", code="ML707")
        target: Any = self.root
        for key in ref[2:].split("/"):
            if not isinstance(target, Mapping) or key not in target:
                raise LLMConfigError(f"$ref {ref!r} does not resolve in the schema", code="ML707")
            target = target[key]
        name = self._new_rule(ref.rsplit("/", 1)[-1], "")  # reserve the name first: recursion refers to it
        self.refs[ref] = name
        self.rules[name] = self.expr(target, name)
        return name

    def ref(self, schema: Mapping[str, Any], hint: str) -> str:
        """A rule name matching ``schema``."""
        if "$ref" in schema:
            return self._resolve_ref(str(schema["$ref"]))
        body = self.expr(schema, hint)
        if re.fullmatch(r"[a-zA-Z0-9-]+", body) and body in self.rules:
            return body
        return self._new_rule(hint, body)

    def expr(self, schema: Any, hint: str) -> str:
        """A GBNF expression matching ``schema``."""
        if schema is True or schema == {}:
            return self._use("value")
        if not isinstance(schema, Mapping):
            raise LLMConfigError(
                f"cannot build a grammar for schema node of type {type(schema).__name__}", code="ML707"
            )
        if "$ref" in schema:
            return self._resolve_ref(str(schema["$ref"]))
        if "const" in schema:
            self._use("space")
            return _json_literal(schema["const"])
        if "enum" in schema:
            self._use("space")
            return "(" + " | ".join(_json_literal(v) for v in schema["enum"]) + ")"
        for key in ("anyOf", "oneOf"):
            if key in schema:
                alts = [self.ref(s, f"{hint}-{i}") for i, s in enumerate(schema[key])]
                return "(" + " | ".join(alts) + ")"
        if "allOf" in schema:
            members = schema["allOf"]
            if len(members) != 1:
                raise LLMConfigError("allOf with more than one member is not supported in grammars", code="ML707")
            return self.expr(members[0], hint)
        kind = schema.get("type")
        if isinstance(kind, list):
            alts = [self.ref({**schema, "type": k}, f"{hint}-{k}") for k in kind]
            return "(" + " | ".join(alts) + ")"
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        if kind == "object":
            return self._object(schema, hint)
        if kind == "array":
            return self._array(schema, hint)
        if kind == "string":
            lo = int(schema.get("minLength", 0))
            hi = schema.get("maxLength")
            if lo == 0 and hi is None:
                return self._use("string")
            self._use("char")
            self._use("space")
            rep = f"{{{lo},{int(hi)}}}" if hi is not None else f"{{{lo},}}"
            return rf'"\"" char{rep} "\"" space'
        if kind in ("integer", "number", "boolean", "null"):
            return self._use(kind)
        if kind is None:
            return self._use("value")
        raise LLMConfigError(f"unsupported JSON schema type {kind!r} in grammar", code="ML707")

    def _object(self, schema: Mapping[str, Any], hint: str) -> str:
        self._use("space")
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        if not props:
            if isinstance(extra, Mapping) and extra:
                value = self.ref(extra, f"{hint}-value")
                self._use("string")
                pair = f'string ":" space {value}'
                return f'"{{" space ({pair} ("," space {pair})*)? "}}" space'
            if extra is False:
                return '"{" space "}" space'
            return self._use("object")
        pieces = []
        for i, (key, sub) in enumerate(props.items()):
            value = self.ref(sub, f"{hint}-{key}")
            sep = '"," space ' if i else ""
            pieces.append(f'{sep}{_literal(json.dumps(key, ensure_ascii=False))} space ":" space {value}')
        return '"{" space ' + " ".join(pieces) + ' "}" space'

    def _array(self, schema: Mapping[str, Any], hint: str) -> str:
        self._use("space")
        prefix = schema.get("prefixItems")
        if prefix:
            items = [self.ref(s, f"{hint}-{i}") for i, s in enumerate(prefix)]
            return '"[" space ' + ' "," space '.join(items) + ' "]" space'
        item_schema = schema.get("items", {})
        item = self.ref(item_schema, f"{hint}-item")
        lo = int(schema.get("minItems", 0))
        hi = schema.get("maxItems")
        if hi is not None and int(hi) == 0:
            return '"[" space "]" space'
        more_lo = max(lo - 1, 0)
        more = f"{{{more_lo},{int(hi) - 1}}}" if hi is not None else ("*" if more_lo == 0 else f"{{{more_lo},}}")
        body = f'{item} ("," space {item}){more}'
        if lo == 0:
            body = f"({body})?"
        return f'"[" space {body} "]" space'

    def grammar(self) -> str:
        root = self.rules.pop("root")
        lines = [f"root ::= {root}"]
        lines += [f"{name} ::= {body}" for name, body in sorted(self.rules.items())]
        return "\n".join(lines) + "\n"


def schema_to_gbnf(schema: Mapping[str, Any]) -> str:
    """Convert a JSON schema to a GBNF grammar whose ``root`` rule matches JSON valid for the schema.

    Args:
        schema: a JSON schema (e.g. ``Model.model_json_schema()``).

    Returns:
        The grammar text.

    Raises:
        LLMConfigError: ML707 for constructs the converter does not support (non-local ``$ref``, ``allOf`` with
            several members, unknown types).
    """
    conv = _Converter(schema)
    conv.rules["root"] = conv.expr(schema, "root")
    return conv.grammar()
