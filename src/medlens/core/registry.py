"""Registries of tasks, readers and writers, with versioned names loaded lazily.

Names are registered explicitly by dotted path (``"medlens.notes.rules:NotesExtractRules"``) in
``medlens/registrations.py`` and imported only when first used, so ``import medlens`` stays light. Third parties add
entries through the entry-point groups ``medlens.tasks``, ``medlens.readers`` and ``medlens.writers``; an entry
point's object is the thing itself (a :class:`TaskSpec` for tasks). Once released, a name's behaviour never
changes: add ``...v2``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from medlens.core.errors import ConfigError, RegistryError
from medlens.core.types import Document, RecordResult, TaskResult

__all__ = [
    "Registry",
    "Task",
    "TaskSpec",
    "Writer",
    "load_object",
    "readers",
    "tasks",
    "writers",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


def load_object(path: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise RegistryError(f"dotted path {path!r} must look like 'package.module:attribute'", code="ML302")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise RegistryError(f"module {module_name!r} has no attribute {attr!r}", code="ML302") from exc


@runtime_checkable
class Task(Protocol):
    """A task backend instance. Heavy set-up in ``__init__``; ``__call__`` is pure, so it also runs as an actor.

    ``requires`` and ``assigns`` name the fields the stage reads and writes (``medlens check`` uses them).
    """

    name: str
    backend: str
    requires: tuple[str, ...]
    assigns: tuple[str, ...]

    def __call__(self, batch: Sequence[Document]) -> list[TaskResult]:
        """Return one result per document, in order."""
        ...


@runtime_checkable
class Writer(Protocol):
    """An output writer. Constructed as ``Writer(out_dir, **options)``; receives every record once, in order."""

    filename: str

    def write(self, document: Document, result: RecordResult) -> None:
        """Add one record and its results."""
        ...

    def close(self) -> None:
        """Finish the file (flush, write footers)."""
        ...


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: versioned name, short alias, backends and result model.

    ``backends`` maps a backend name to the dotted path of its factory; ``result`` is the dotted path of the result
    model, used to read results.jsonl back.
    """

    name: str
    alias: str
    description: str
    backends: dict[str, str]
    result: str = "medlens.core.types:TaskResult"
    default_backend: str = "rules"
    kinds: tuple[str, ...] = ("note",)
    card: str | None = None

    def create(self, backend: str | None = None, **options: Any) -> Task:
        """Instantiate ``backend`` (default: ``default_backend``) with ``options``."""
        chosen = backend or self.default_backend
        if chosen not in self.backends:
            raise RegistryError(
                f"unknown backend {chosen!r} for task {self.alias!r}; available: {', '.join(sorted(self.backends))}",
                code="ML303",
            )
        factory: Callable[..., Task] = load_object(self.backends[chosen])
        unknown = _unknown_options(factory, options)
        if unknown:
            raise ConfigError(
                f"task {self.alias!r} backend {chosen!r} takes no option(s) {', '.join(unknown)}; remove them from "
                f"task_options.{self.alias} or choose the backend they belong to",
                code="ML201",
            )
        return factory(**options)


def _unknown_options(factory: Callable[..., Any], options: dict[str, Any]) -> list[str]:
    """Option names ``factory`` does not accept (none when it takes ``**kwargs`` or cannot be inspected)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return []
    accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return sorted(set(options) - accepted)


@dataclass
class Registry(Generic[T]):
    """Names -> objects, by dotted path (lazy) or object, plus short aliases and an entry-point group."""

    kind: str
    entry_point_group: str
    _targets: dict[str, str | T] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)
    _entry_points_loaded: bool = False

    def register(self, name: str, target: str | T, *, alias: str | None = None) -> None:
        """Register ``target`` (an object or ``"module:attr"`` path) under ``name`` and optional ``alias``."""
        if name in self._targets:
            raise RegistryError(f"{self.kind} {name!r} is already registered", code="ML304")
        self._targets[name] = target
        if alias is not None:
            self._aliases[alias] = name

    def resolve(self, name: str) -> str:
        """Return the full registered name for ``name`` or its alias."""
        self._load_entry_points()
        full = self._aliases.get(name, name)
        if full not in self._targets:
            raise RegistryError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.aliases() or self.names())}",
                code="ML301",
            )
        return full

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` (or alias), importing it on first use."""
        full = self.resolve(name)
        target = self._targets[full]
        if isinstance(target, str):
            obj: T = load_object(target)
            self._targets[full] = obj
            return obj
        return target

    def names(self) -> list[str]:
        """All full names, sorted."""
        self._load_entry_points()
        return sorted(self._targets)

    def aliases(self) -> list[str]:
        """All short aliases, sorted."""
        self._load_entry_points()
        return sorted(self._aliases)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in metadata.entry_points(group=self.entry_point_group):
            if ep.name in self._targets:
                continue
            try:
                obj = ep.load()
            except Exception:  # a broken plug-in must not break medlens itself
                log.warning("could not load %s entry point %r", self.kind, ep.name, exc_info=True)
                continue
            alias = getattr(obj, "alias", None)
            self.register(ep.name, obj, alias=alias if isinstance(alias, str) else None)


tasks: Registry[TaskSpec] = Registry("task", "medlens.tasks")
readers: Registry[Any] = Registry("reader", "medlens.readers")
writers: Registry[Any] = Registry("writer", "medlens.writers")
