"""The standalone assertion interface: one target concept in one text -> its five statuses and cue spans.

``assertion_lines`` is the library side of ``medlens assertion INPUT.jsonl``: one JSON object per input line,
one result per line, bad lines reported in place and never stopping the stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from medlens.core.errors import InputError
from medlens.core.types import ASSERTION_STATUSES, Assertion
from medlens.text.analysis import analyze
from medlens.text.context import ContextEngine

__all__ = ["assert_target", "assertion_lines", "assertion_to_dict"]

log = logging.getLogger(__name__)

_ENGINE: ContextEngine | None = None


def _engine() -> ContextEngine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = ContextEngine()
    return _ENGINE


def assert_target(
    text: str, *, start: int | None = None, end: int | None = None, target: str | None = None
) -> Assertion:
    """Assertion of a target concept given by its span (``start``, ``end``) or its first occurrence (``target``).

    Args:
        text: the text.
        start: target start offset (with ``end``).
        end: target end offset, exclusive (with ``start``).
        target: the target phrase, found case-insensitively (instead of ``start``/``end``).

    Returns:
        The assertion, with cue spans as offsets into ``text``.

    Raises:
        InputError: ML104 if neither or both ways are given, the span is outside the text, or ``target`` is not
            found (case-insensitive).
    """
    if (start is None) != (end is None) or (start is None) == (target is None):
        raise InputError("give either start and end, or target", code="ML104")
    if target is not None:
        low_text, low_target = text.lower(), target.lower()
        if not target:
            found = -1
        elif len(low_text) == len(text) and len(low_target) == len(target):
            found = low_text.find(low_target)
        else:  # a case mapping changed the length ("İ"): compare window by window
            found = _find_casefold(text, target)
        if found < 0:
            raise InputError("target not found in text", code="ML104")
        start, end = found, found + len(target)
    if start is None or end is None or not 0 <= start < end <= len(text):
        raise InputError(f"span [{start}, {end}) is outside the text (length {len(text)})", code="ML104")
    analysis = analyze(text)
    return _engine().assert_target(
        text, start, end, sentence=analysis.sentence_at(start), section=analysis.section_at(start)
    )


def _find_casefold(text: str, target: str) -> int:
    """First offset where ``target`` occurs ignoring case, robust to case mappings that change length."""
    n = len(target)
    low = target.lower()
    for i in range(len(text) - n + 1):
        if text[i : i + n].lower() == low:
            return i
    return -1


def assertion_to_dict(assertion: Assertion) -> dict[str, Any]:
    """The five statuses and the cues of ``assertion`` as a JSON-ready dict (no ``id``)."""
    out: dict[str, Any] = {s: getattr(assertion, s) for s in ASSERTION_STATUSES}
    out["cues"] = [c.model_dump() for c in assertion.cues]
    return out


def _error(rid: Any, line: int, code: str, message: str) -> dict[str, Any]:
    return {"id": rid, "line": line, "error": {"code": code, "message": message}}


def _int_field(obj: dict[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"field '{name}' must be an integer offset", code="ML104")
    return value


def assertion_lines(lines: Iterable[str], *, source: str) -> Iterator[dict[str, Any]]:
    """Assert the target of each JSONL line; yield one result dict per non-blank line, in order.

    Each line is ``{"id", "text", "start", "end"}`` or ``{"id", "text", "target"}`` (other fields are ignored;
    with both forms the span decides and ``target`` must equal ``text[start:end]`` ignoring case).
    A result is ``{"id", "negated", "uncertain", "historical", "hypothetical", "family", "cues": [...]}``; a line
    that cannot be processed yields ``{"id": <id or None>, "line": n, "error": {"code", "message"}}`` with code
    ML103 (not valid JSON) or ML104 (missing or invalid field, target not found, span outside the text), and
    processing continues.

    Args:
        lines: JSONL lines (e.g. an open text file).
        source: name of the input, used in error messages (never document text).

    Yields:
        One dict per non-blank input line.
    """
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nesting too deep"
            yield _error(None, n, "ML103", f"{source}:{n}: invalid JSON ({msg}); each line must be one JSON object")
            continue
        if not isinstance(obj, dict):
            yield _error(None, n, "ML103", f"{source}:{n}: a line must be a JSON object, got {type(obj).__name__}")
            continue
        rid = obj.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int):
            yield _error(None, n, "ML104", f"{source}:{n}: field 'id' is missing or not a string/integer")
            continue
        try:
            text = obj.get("text")
            if not isinstance(text, str):
                raise InputError("field 'text' is missing or not a string", code="ML104")
            target = obj.get("target")
            if target is not None and not isinstance(target, str):
                raise InputError("field 'target' must be a string", code="ML104")
            start, end = _int_field(obj, "start"), _int_field(obj, "end")
            if start is not None and end is not None and target is not None:
                # Both forms (as in the dev set): the span decides; the phrase must agree with it.
                if not 0 <= start < end <= len(text) or text[start:end].lower() != target.lower():
                    raise InputError("'target' does not match text[start:end]", code="ML104")
                target = None
            assertion = assert_target(text, start=start, end=end, target=target)
        except InputError as exc:
            yield _error(rid, n, exc.code, f"{source}:{n}: {exc.message}")
            continue
        except Exception as exc:  # one bad line must never stop the stream
            log.error("assertion failed on %s:%d (%s)", source, n, type(exc).__name__)
            yield _error(rid, n, "ML900", f"{source}:{n}: internal error ({type(exc).__name__}); please report it")
            continue
        yield {"id": rid, **assertion_to_dict(assertion)}
