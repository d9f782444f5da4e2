"""Structured output: pull the JSON object out of a reply and validate it against the result schema.

Two schema forms are accepted: a pydantic model class (the primary route: families already have one, and the
parsed result is an instance of it) or a JSON-schema dict (validated with ``jsonschema`` when it is installed).
Validation errors are reported as JSON paths and error types only, never the values, because values may quote
the document.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from medlens.llm.errors import LLMConfigError

__all__ = ["InvalidOutput", "OutputSchema", "extract_json"]

T = TypeVar("T")

_FENCE_RE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
_MAX_OBJECT_STARTS = 16  # '{' positions tried when extracting the first object (bounded: no O(n^2) scans)
_MAX_ERRORS = 10


class InvalidOutput(Exception):
    """The reply is not valid JSON or does not fit the schema.

    Attributes:
        errors: ``"path: error type"`` strings, safe for logs and exception messages (no values).
        feedback: a longer description for the re-ask prompt, sent back to the same endpoint only.
        json_error: True when the reply is not JSON at all.
    """

    def __init__(self, errors: tuple[str, ...], feedback: str, *, json_error: bool) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.feedback = feedback
        self.json_error = json_error


def _json_problem(exc: json.JSONDecodeError) -> str:
    # exc.msg is the parser's wording ("Expecting ',' delimiter"); exc.doc (the text) is never used.
    return f"{exc.msg} at line {exc.lineno} column {exc.colno}"


def extract_json(text: str) -> tuple[Any, bool]:
    """Parse a reply as JSON, repairing the usual wrapping.

    Tries, in order: the whole reply; the inside of the first Markdown code fence; the first JSON object or
    array that decodes, from one of the first few ``{``/``[`` positions (prose before or after is dropped).

    Returns:
        ``(value, repaired)``; ``repaired`` is True when the reply needed one of the repairs.

    Raises:
        InvalidOutput: when nothing decodes (``json_error=True``).
    """
    stripped = text.strip()
    try:
        return json.loads(stripped), False
    except json.JSONDecodeError as exc:
        first_problem = _json_problem(exc)
    fence = _FENCE_RE.search(stripped)
    if fence is not None:
        try:
            return json.loads(fence.group(1).strip()), True
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    starts = [m.start() for m in re.finditer(r"[{\[]", stripped)][:_MAX_OBJECT_STARTS]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(stripped, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict | list):
            return value, True
    raise InvalidOutput(
        (f"invalid JSON: {first_problem}",),
        f"The reply was not valid JSON ({first_problem}).",
        json_error=True,
    )


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@functools.lru_cache(maxsize=256)
def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    # model_json_schema() rebuilds the schema on every call (~0.3 ms for a small model); one call per class.
    return model.model_json_schema()


class OutputSchema(Generic[T]):
    """The schema a reply must fit: a pydantic model class or a JSON-schema dict.

    Args:
        schema: the model class or JSON schema.
        name: schema name for dialects that send one; the model's name or the schema's ``title`` by default.

    Raises:
        LLMConfigError: ML707 if a dict schema is given and ``jsonschema`` is not installed, or the schema is
            itself invalid.
    """

    def __init__(self, schema: type[BaseModel] | Mapping[str, Any], *, name: str | None = None) -> None:
        self.model: type[BaseModel] | None = None
        self._validator: Any = None
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            self.model = schema
            self.json_schema: dict[str, Any] = _model_schema(schema)
            self.name = name or schema.__name__
        elif isinstance(schema, Mapping):
            self.json_schema = dict(schema)
            self.name = name or str(schema.get("title") or "result")
            try:
                jsonschema: Any = importlib.import_module("jsonschema")  # optional; typed as Any (no stubs)
            except ImportError:
                raise LLMConfigError(
                    "a JSON-schema dict needs the 'jsonschema' package to validate replies; pip install jsonschema, "
                    "or pass a pydantic model class instead",
                    code="ML707",
                ) from None
            cls = jsonschema.validators.validator_for(self.json_schema)
            try:
                cls.check_schema(self.json_schema)
            except jsonschema.SchemaError as exc:
                raise LLMConfigError(f"the JSON schema is invalid at {_path(exc.path)}", code="ML707") from None
            self._validator = cls(self.json_schema)
        else:
            raise LLMConfigError(
                f"schema must be a pydantic model class or a JSON-schema dict, got {type(schema).__name__}",
                code="ML707",
            )

    def validate(self, data: Any) -> T:
        """Validate parsed JSON and return the result (a model instance, or the data itself for a dict schema).

        Raises:
            InvalidOutput: with the error paths and types (``json_error=False``).
        """
        if self.model is not None:
            try:
                return self.model.model_validate(data)  # type: ignore[return-value]
            except ValidationError as exc:
                details = exc.errors(include_url=False, include_input=False, include_context=False)
                errors = tuple(f"{_path(d['loc'])}: {d['type']}" for d in details[:_MAX_ERRORS])
                feedback = "; ".join(f"{_path(d['loc'])}: {d['msg']}" for d in details[:_MAX_ERRORS])
                raise InvalidOutput(errors, feedback, json_error=False) from None
        found = sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path))[:_MAX_ERRORS]
        if not found:
            return data  # type: ignore[no-any-return]
        errors = tuple(f"{_path(e.absolute_path)}: {e.validator}" for e in found)
        feedback = "; ".join(
            f"{_path(e.absolute_path)}: fails {e.validator!s} {json.dumps(e.validator_value, default=str)[:200]}"
            for e in found
        )
        raise InvalidOutput(errors, feedback, json_error=False)
