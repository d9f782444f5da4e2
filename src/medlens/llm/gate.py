"""The PHI gate: a ``remote`` endpoint never receives text that did not pass ``medlens.safety.deid``.

Messages are built from typed parts:

* :class:`DeidentifiedText` — document-derived text that went through :func:`deidentify`, the only way to make
  one (it calls :meth:`medlens.safety.deid.Deidentifier.deidentify` and keeps the de-identifier's version);
* :class:`PromptText` with ``trusted_template=True`` — the prompt's own wording, marked by the prompt builder
  (:func:`template`);
* :class:`ImagePart` — a rendered image (PNG or JPEG bytes); it goes to a remote endpoint only with
  ``cleared=True``, the caller's attestation that burned-in annotations were removed or checked (pixels can carry
  names, dates and accession numbers; ``medlens.safety.deid.dicom`` lists such images for review);
* anything else (a plain ``str``, a :class:`PromptText` without the mark) counts as identifiable document text.

:func:`check_messages` turns messages into wire form and raises :class:`~medlens.llm.errors.PHIGateError` (ML706)
when a remote endpoint would receive a part of the last kind or an image that was not cleared. A message with image
parts becomes an OpenAI content list (``[{"type": "text", ...}, {"type": "image_url", ...}]``); a text-only message
keeps a plain string content. The client calls it before any cache or network
I/O, so a refused request never leaves the process. Errors and ``repr`` never show the text itself.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.llm.errors import PHIGateError

if TYPE_CHECKING:
    from medlens.core.types import Document
    from medlens.safety.deid import Deidentifier, DeidMode

__all__ = [
    "IMAGE_MEDIA_TYPES",
    "DeidentifiedText",
    "ImagePart",
    "Message",
    "PromptPart",
    "PromptText",
    "Role",
    "WireMessage",
    "check_messages",
    "deidentify",
    "template",
]

Role = Literal["system", "user", "assistant"]
#: A message as sent: ``{"role": str, "content": str | list[content part]}`` (OpenAI chat format).
WireMessage = dict[str, Any]
ImageMediaType = Literal["image/png", "image/jpeg"]
#: Media types an :class:`ImagePart` may carry, with the leading bytes ("magic number") each must start with.
IMAGE_MEDIA_TYPES: dict[str, bytes] = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}

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


class ImagePart(BaseModel):
    """A rendered image in a user message (e.g. ``imaging.vqa.render_png`` output).

    Only rendered pixels are sent, never a DICOM or other file whose header may hold identifiers: the gate checks
    that the bytes start with the magic number of ``media_type``. ``repr`` shows the size and a digest prefix, never
    the bytes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    png: bytes = Field(strict=True, description="The encoded image bytes (PNG unless media_type says otherwise).")
    media_type: ImageMediaType = Field(default="image/png", description="MIME type of the bytes.")
    cleared: bool = Field(
        default=False,
        description="Caller's attestation that burned-in annotations were removed or checked; required for a "
        "remote endpoint.",
    )

    def sha256(self) -> str:
        """sha256 hex digest of the image bytes (cache keys, audit)."""
        return hashlib.sha256(self.png).hexdigest()

    def data_url(self) -> str:
        """The image as a ``data:<media type>;base64,...`` URL."""
        return f"data:{self.media_type};base64," + base64.b64encode(self.png).decode("ascii")

    def __repr__(self) -> str:
        return (
            f"ImagePart(media_type={self.media_type!r}, bytes={len(self.png)}, sha256={self.sha256()[:12]}, "
            f"cleared={self.cleared})"
        )

    def __str__(self) -> str:
        return self.__repr__()


PromptPart = PromptText | DeidentifiedText | ImagePart | str


class Message(BaseModel):
    """One chat message made of typed parts; adjacent text parts are joined without separators on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    role: Role = Field(description="Chat role.")
    parts: tuple[PromptText | DeidentifiedText | ImagePart | str, ...] = Field(
        description="Text and image parts, in order."
    )

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


def _image_item(part: ImagePart, *, remote: bool, where: str) -> dict[str, Any]:
    if remote and not part.cleared:
        raise PHIGateError(
            f"{where}: image not cleared; images may carry burned-in identifiers, so a remote endpoint receives one "
            "only as ImagePart(..., cleared=True) after burned-in annotations were removed or checked (or use a "
            "local endpoint)",
            code="ML706",
        )
    if not part.png.startswith(IMAGE_MEDIA_TYPES[part.media_type]):
        raise PHIGateError(
            f"{where}: the image bytes are not {part.media_type}; only rendered images are sent (e.g. "
            "imaging.vqa.render_png), never DICOM or other files whose headers may hold identifiers",
            code="ML706",
        )
    return {"type": "image_url", "image_url": {"url": part.data_url()}}


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


def _content(parts: Sequence[object], *, role: str, remote: bool, where: str) -> str | list[dict[str, Any]]:
    """Wire content: a string for text-only parts, else a content list (adjacent text parts merged)."""
    if not any(isinstance(p, ImagePart) for p in parts):
        return "".join(_part_text(p, remote=remote, where=f"{where}, part {j}") for j, p in enumerate(parts))
    if role != "user":
        raise PHIGateError(f"{where}: image parts are only allowed in a user message, not {role!r}", code="ML706")
    items: list[dict[str, Any]] = []
    texts: list[str] = []
    for j, part in enumerate(parts):
        if isinstance(part, ImagePart):
            if texts:
                items.append({"type": "text", "text": "".join(texts)})
                texts = []
            items.append(_image_item(part, remote=remote, where=f"{where}, part {j}"))
        else:
            texts.append(_part_text(part, remote=remote, where=f"{where}, part {j}"))
    if texts:
        items.append({"type": "text", "text": "".join(texts)})
    return items


def check_messages(
    messages: Iterable[Message | Mapping[str, Any]], *, remote: bool, endpoint: str = "endpoint"
) -> list[WireMessage]:
    """Check messages against the gate and return them in OpenAI wire form (``{"role", "content"}``).

    A text-only message gets string content (its parts joined without separators); a message with
    :class:`ImagePart` parts gets a content list, ``[{"type": "text", "text": ...}, {"type": "image_url",
    "image_url": {"url": "data:image/png;base64,..."}}]`` in part order, adjacent text parts merged.

    A mapping ``{"role": ..., "content": str}`` is accepted and its content counts as document text (so only a
    local endpoint takes it).

    Args:
        messages: the chat messages.
        remote: whether the endpoint is ``remote``.
        endpoint: endpoint name for the error message.

    Raises:
        PHIGateError: ML706 naming the message and part index (never the text) when a remote endpoint would
            receive text that did not pass de-identification or an image without ``cleared=True``; also for image
            bytes that do not match their media type or an image outside a user message (any endpoint).
    """
    wire: list[WireMessage] = []
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
        wire.append(
            {
                "role": role,
                "content": _content(parts, role=role, remote=remote, where=f"endpoint {endpoint!r}, message {i}"),
            }
        )
    return wire
