"""The PHI gate: a ``remote`` endpoint never receives text that did not pass ``medlens.safety.deid``.

Messages are built from typed parts:

* :class:`DeidentifiedText` — document-derived text that went through :func:`deidentify`, the only way to make
  one (it calls :meth:`medlens.safety.deid.Deidentifier.deidentify` and keeps the de-identifier's version);
* :class:`PromptText` with ``trusted_template=True`` — the prompt's own wording, marked by the prompt builder
  (:func:`template`);
* anything else (a plain ``str``, a :class:`PromptText` without the mark) counts as identifiable document text.

:func:`check_messages` turns messages into wire form and raises :class:`~medlens.llm.errors.PHIGateError` (ML706)
when a remote endpoint would receive a part of the last kind. The client calls it before any cache or network
I/O, so a refused request never leaves the process. Errors and ``repr`` never show the text itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.llm.errors import PHIGateError

if TYPE_CHECKING:
    from medlens.core.types import Document
    from medlens.safety.deid import Deidentifier, DeidMode

__all__ = [
    "DeidentifiedText",
    "Message",
    "PromptPart",
    "PromptText",
    "Role",
    "check_messages",
    "deidentify",
    "template",
]

Role = Literal["system", "user", "assistant"]

_MINT = object()  # only this module holds it, so only deidentify() can construct a DeidentifiedText


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DeidentifiedText:
    """Text of one record after ``medlens.safety.deid``; build it with :func:`deidentify`, never directly.

    Attributes:
        text: the de-identified text.
        record_id: id of the source record.
        deid_version: versioned name of the de-identifier that produced it (e.g. ``medlens.deid.text.v1``).
        mode: ``redact``, ``mask`` or ``surrogate``.
    """

    __slots__ = ("_digest", "deid_version", "mode", "record_id", "text")

    text: str
    record_id: str
    deid_version: str
    mode: str
    _digest: str

    def __init__(self, *, text: str, record_id: str, deid_version: str, mode: str, _token: object = None) -> None:
        if _token is not _MINT:
            raise PHIGateError(
                "DeidentifiedText can only be made by medlens.llm.gate.deidentify(deidentifier, document, mode)",
                code="ML706",
            )
        for name, value in (
            ("text", text),
            ("record_id", record_id),
            ("deid_version", deid_version),
            ("mode", mode),
            ("_digest", _digest(text)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("DeidentifiedText is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("DeidentifiedText is immutable")

    def __repr__(self) -> str:
        return (
            f"DeidentifiedText(record_id={self.record_id!r}, deid_version={self.deid_version!r}, "
            f"mode={self.mode!r}, chars={len(self.text)})"
        )

    def intact(self) -> bool:
        """True when the text is still the one the de-identifier produced."""
        return _digest(self.text) == self._digest


class PromptText(BaseModel):
    """A piece of prompt text, trusted or not.

    Only ``trusted_template=True`` text (the prompt's own wording) may go to a remote endpoint without
    de-identification; text without the mark is treated as document text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The text.")
    trusted_template: bool = Field(
        default=False, description="Set by the prompt builder for template wording that holds no document text."
    )

    def __repr__(self) -> str:
        shown = repr(self.text) if self.trusted_template else f"<{len(self.text)} chars>"
        return f"PromptText(text={shown}, trusted_template={self.trusted_template})"

    def __str__(self) -> str:
        return self.__repr__()


PromptPart = PromptText | DeidentifiedText | str


class Message(BaseModel):
    """One chat message made of typed parts, joined without separators on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    role: Role = Field(description="Chat role.")
    parts: tuple[PromptText | DeidentifiedText | str, ...] = Field(description="Text parts, in order.")

    @classmethod
    def of(cls, role: Role, *parts: PromptPart) -> Message:
        """A message from parts: ``Message.of("user", template("Note: "), deidentified)``."""
        return cls(role=role, parts=parts)

    def __repr__(self) -> str:
        shown = ", ".join(f"<{len(p)} chars>" if isinstance(p, str) else repr(p) for p in self.parts)
        return f"Message(role={self.role!r}, parts=[{shown}])"

    def __str__(self) -> str:
        return self.__repr__()


def template(text: str) -> PromptText:
    """Mark prompt wording (no document text in it) as trusted for any endpoint."""
    return PromptText(text=text, trusted_template=True)


def deidentify(deidentifier: Deidentifier, document: Document, mode: DeidMode = "redact") -> DeidentifiedText:
    """De-identify a document's text with ``medlens.safety.deid`` and wrap it for the gate.

    Args:
        deidentifier: a :class:`medlens.safety.deid.Deidentifier`.
        document: the record whose text the prompt will carry.
        mode: ``redact``, ``mask`` or ``surrogate``.

    Returns:
        The de-identified text, with the record id, mode and the de-identifier's version.

    Raises:
        PHIGateError: ML706 if ``deidentifier`` is not a medlens de-identifier or its result lacks provenance.
        DeidError: ML6xx when de-identification fails (fail closed).
    """
    from medlens.safety.deid import DEID_VERSION, Deidentifier, DeidResult

    if not isinstance(deidentifier, Deidentifier):
        raise PHIGateError(
            f"gate.deidentify needs a medlens.safety.deid.Deidentifier, got {type(deidentifier).__name__}",
            code="ML706",
        )
    result = deidentifier.deidentify(document, mode=mode)
    meta = result.document.meta.get("deid") if isinstance(result, DeidResult) else None
    if not isinstance(meta, Mapping) or meta.get("version") != DEID_VERSION or meta.get("mode") != mode:
        raise PHIGateError(
            f"record {document.id!r}: the de-identifier returned no provenance for mode {mode!r}; refusing",
            code="ML706",
        )
    return DeidentifiedText(
        text=result.document.text,
        record_id=document.id,
        deid_version=str(meta["version"]),
        mode=mode,
        _token=_MINT,
    )


def _part_text(part: object, *, remote: bool, where: str) -> str:
    if isinstance(part, DeidentifiedText):
        if not part.intact():
            raise PHIGateError(f"{where}: de-identified text of record {part.record_id!r} was altered", code="ML706")
        return part.text
    if isinstance(part, PromptText):
        if remote and not part.trusted_template:
            raise PHIGateError(
                f"{where}: text not marked trusted_template and not de-identified; a remote endpoint only receives "
                "text from medlens.llm.gate.deidentify() or gate.template()",
                code="ML706",
            )
        return part.text
    if isinstance(part, str):
        if remote:
            raise PHIGateError(
                f"{where}: plain string part; a remote endpoint only receives text from "
                "medlens.llm.gate.deidentify() or gate.template()",
                code="ML706",
            )
        return part
    raise PHIGateError(f"{where}: unsupported part type {type(part).__name__}", code="ML706")


def check_messages(
    messages: Iterable[Message | Mapping[str, Any]], *, remote: bool, endpoint: str = "endpoint"
) -> list[dict[str, str]]:
    """Check messages against the gate and return them in OpenAI wire form (``{"role", "content"}``).

    A mapping ``{"role": ..., "content": str}`` is accepted and its content counts as document text (so only a
    local endpoint takes it).

    Args:
        messages: the chat messages.
        remote: whether the endpoint is ``remote``.
        endpoint: endpoint name for the error message.

    Raises:
        PHIGateError: ML706 naming the message and part index (never the text) when a remote endpoint would
            receive text that did not pass de-identification.
    """
    wire: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        parts: Sequence[object]
        if isinstance(message, Message):
            role: str = message.role
            parts = message.parts
        elif isinstance(message, Mapping):
            role = str(message.get("role", ""))
            content = message.get("content")
            parts = [content]
            if role not in ("system", "user", "assistant") or not isinstance(content, str):
                raise PHIGateError(f"endpoint {endpoint!r}, message {i}: needs a role and string content", code="ML706")
        else:
            raise PHIGateError(
                f"endpoint {endpoint!r}, message {i}: unsupported type {type(message).__name__}", code="ML706"
            )
        texts = [
            _part_text(p, remote=remote, where=f"endpoint {endpoint!r}, message {i}, part {j}")
            for j, p in enumerate(parts)
        ]
        wire.append({"role": role, "content": "".join(texts)})
    return wire
