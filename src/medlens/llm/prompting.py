"""Versioned prompts: Jinja2 templates per task, built from the task's pydantic schema and few-shot examples.

Layout (package data under ``medlens/llm/prompts``)::

    prompts/_shared/defences.v1.j2           the data-not-instructions rules every prompt includes
    prompts/<task_folder>/system.v<N>.j2     system message: role, field list (from the schema), few-shot examples
    prompts/<task_folder>/user.v<N>.j2       user message: instructions and the document between delimiters
    prompts/<task_folder>/examples.v<N>.yaml few-shot examples (synthetic text written for medlens)

The version is in the file name and, as ``medlens.prompt.<task>.v<N>``, in the cache key, the evidence producer
and the audit log; once released a version's wording never changes (add ``v<N+1>``).

The document goes into the user message as its own message part, between ``<document boundary="...">`` and
``</document boundary="...">`` tags whose boundary is derived from a hash of the document: text inside the document
cannot close the delimiter because it cannot know the boundary. Template wording is marked trusted
(:func:`medlens.llm.gate.template`); the document part is a :class:`~medlens.llm.gate.DeidentifiedText` for a remote
endpoint, so the PHI gate sees exactly which characters came from the record.

Few-shot examples are validated against the proposal schema, and every quote in them must occur in their text, when
the prompt is built: a broken example fails loudly (ML205), it never teaches the model to invent quotes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import ConfigError
from medlens.llm.gate import DeidentifiedText, Message, template

__all__ = [
    "FewShotExample",
    "FewShotExamples",
    "TaskPrompt",
    "build_prompt",
    "describe_schema",
    "document_boundary",
    "load_examples",
    "quotes_of",
]

_PACKAGE = "medlens.llm"
_SENTINEL = "\x00medlens-document\x00"
_FOLDER = re.compile(r"^[a-z][a-z0-9_]*$")


class FewShotExample(BaseModel):
    """One worked example: a short synthetic document and the JSON the model should answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="Stable id of the example.")
    text: str = Field(min_length=1, description="Synthetic document text (no real patient data).")
    output: dict[str, Any] = Field(description="The answer, valid against the task's proposal schema.")


class FewShotExamples(BaseModel):
    """An ``examples.v<N>.yaml`` file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1, description="Prompt version the examples belong to.")
    source: str = Field(description="Where the examples come from.")
    licence: str = Field(description="Licence of the examples.")
    examples: tuple[FewShotExample, ...] = Field(description="The examples, in the order shown to the model.")


def _read(folder: str, name: str) -> str:
    try:
        return resources.files(_PACKAGE).joinpath("prompts").joinpath(folder).joinpath(name).read_text("utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"cannot read prompt file medlens/llm/prompts/{folder}/{name}; reinstall medlens", code="ML205"
        ) from exc


def quotes_of(value: Any) -> Iterator[str]:
    """Every string under a ``quote`` key or in a ``quotes`` list, anywhere in a JSON value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "quote" and isinstance(item, str):
                yield item
            elif key == "quotes" and isinstance(item, list | tuple):
                yield from (q for q in item if isinstance(q, str))
            else:
                yield from quotes_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from quotes_of(item)


def load_examples(folder: str, version: int, schema: type[BaseModel]) -> tuple[FewShotExample, ...]:
    """The few-shot examples of a prompt, each checked against ``schema`` and its own text.

    Raises:
        ConfigError: ML205 when the file is missing or invalid, an output does not fit the schema, or a quote is
            not in its example's text.
    """
    where = f"medlens/llm/prompts/{folder}/examples.v{version}.yaml"
    try:
        parsed = FewShotExamples.model_validate(yaml.safe_load(_read(folder, f"examples.v{version}.yaml")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"prompt examples {where} are invalid: {exc}", code="ML205") from exc
    if parsed.version != version:
        raise ConfigError(f"prompt examples {where} say version {parsed.version}", code="ML205")
    for example in parsed.examples:
        try:
            schema.model_validate(example.output)
        except ValidationError as exc:
            raise ConfigError(
                f"prompt example {example.id!r} in {where} does not fit {schema.__name__}: {exc}", code="ML205"
            ) from exc
        for quote in quotes_of(example.output):
            if quote not in example.text:
                raise ConfigError(
                    f"prompt example {example.id!r} in {where} quotes text it does not hold", code="ML205"
                )
    return parsed.examples


def _type_hint(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " | ".join(_type_hint(p, defs) for p in prop["anyOf"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type_hint(prop.get('items', {}), defs)}"
    return str(kind or "any")


def describe_schema(json_schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """The schema's fields as ``{"name", "type", "description"}`` rows, object definitions expanded once.

    Nested objects are listed as ``Parent.field`` after the top-level fields, in schema order.
    """
    defs: Mapping[str, Any] = json_schema.get("$defs", {})
    rows: list[dict[str, str]] = []

    def add(props: Mapping[str, Any], prefix: str) -> None:
        for name, prop in props.items():
            rows.append(
                {
                    "name": f"{prefix}{name}",
                    "type": _type_hint(prop, defs),
                    "description": str(prop.get("description", "")),
                }
            )

    add(json_schema.get("properties", {}), "")
    for def_name, definition in defs.items():
        add(definition.get("properties", {}), f"{def_name}.")
    return rows


def document_boundary(text: str) -> str:
    """The delimiter boundary of one document: a short hash of its text (stable, so caching works)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@functools.cache
def _environment() -> Any:
    import jinja2

    def load(name: str) -> str:
        folder, _, file = name.partition("/")
        if not _FOLDER.match(folder.lstrip("_")) or "/" in file:
            raise jinja2.TemplateNotFound(name)
        return _read(folder, file)

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class TaskPrompt:
    """A rendered, versioned prompt for one task; :meth:`messages` adds one document.

    Attributes:
        task: task alias, e.g. ``notes.extract``.
        version: prompt version number.
        prompt_version: ``medlens.prompt.<task>.v<N>`` (cache key, evidence producer, audit log).
        system: the system message text (trusted template wording and synthetic examples only).
    """

    task: str
    version: int
    prompt_version: str
    system: str
    _user: Any

    def messages(self, document: DeidentifiedText | str) -> list[Message]:
        """System and user messages for one document.

        Args:
            document: the record text: a :class:`DeidentifiedText` (any endpoint) or a plain string (the PHI gate
                lets it through to a ``local`` endpoint only).
        """
        text = document.text if isinstance(document, DeidentifiedText) else document
        rendered = self._user.render(document=_SENTINEL, boundary=document_boundary(text))
        before, found, after = rendered.partition(_SENTINEL)
        if not found or _SENTINEL in after:
            raise ConfigError(
                f"prompt {self.prompt_version}: the user template must place the document once", code="ML205"
            )
        return [
            Message.of("system", template(self.system)),
            Message.of("user", template(before), document, template(after)),
        ]


def build_prompt(
    task: str,
    schema: type[BaseModel],
    *,
    version: int = 1,
    context: Mapping[str, Any] | None = None,
    few_shot: bool = True,
) -> TaskPrompt:
    """Load and render the prompt of ``task`` (folder ``task`` with dots as underscores).

    Args:
        task: task alias, e.g. ``notes.extract``.
        schema: the proposal schema the model answers in (its fields are listed in the prompt).
        version: prompt version.
        context: extra template variables (e.g. the label names of a label set).
        few_shot: include the worked examples.

    Raises:
        ConfigError: ML205 for a missing or invalid template or example file.
    """
    import jinja2

    folder = task.replace(".", "_")
    if not _FOLDER.match(folder):
        raise ConfigError(f"invalid task name {task!r} for a prompt", code="ML205")
    examples = load_examples(folder, version, schema) if few_shot else ()
    env = _environment()
    variables = {
        "task": task,
        "fields": describe_schema(schema.model_json_schema()),
        "examples": [
            {
                "id": e.id,
                "text": e.text,
                "output": json.dumps(e.output, ensure_ascii=False),
                "boundary": document_boundary(e.text),
            }
            for e in examples
        ],
        **(context or {}),
    }
    try:
        system = env.get_template(f"{folder}/system.v{version}.j2").render(**variables).strip() + "\n"
        user = env.get_template(f"{folder}/user.v{version}.j2")
    except jinja2.TemplateError as exc:
        raise ConfigError(
            f"prompt {task} v{version} cannot be rendered: {type(exc).__name__}: {exc}", code="ML205"
        ) from exc
    # Bind the static variables now; only document and boundary vary per record.
    bound = _Bound(user, variables)
    return TaskPrompt(
        task=task, version=version, prompt_version=f"medlens.prompt.{task}.v{version}", system=system, _user=bound
    )


class _Bound:
    """A user template with the prompt's static variables bound."""

    def __init__(self, tmpl: Any, variables: Mapping[str, Any]) -> None:
        self._tmpl = tmpl
        self._vars = dict(variables)

    def render(self, **kw: Any) -> str:
        return str(self._tmpl.render(**self._vars, **kw))
