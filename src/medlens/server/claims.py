"""Claims of a stored result payload, for the review UI: listing, highlighting in the text, and applying an edit.

Payloads are the JSON of any task result (DESIGN.md §1.1), read by duck typing as the HTML report does
(:mod:`medlens.export.html`): each item of the ``findings``, ``labels``, ``lesions``, ``measurements`` and
``sentences`` lists is a claim, and so is each field of a ``fields`` record that carries evidence. A claim's id
(``findings-3``, ``fields-pT``, ``fields-margins-0``) is its place in the payload, stable for one payload.

The edit form names its inputs ``<claim id>.<attribute>`` (``findings-3.text``), ``<claim id>.ev<j>.start`` /
``.end`` (offsets of evidence item ``j``) and ``<claim id>.drop``; :func:`apply_edit` turns such a form into an
edited payload whose quotes are re-read from the record text, so the reviewer changes offsets and the quote
follows. The result is then validated and grounding-checked by :func:`medlens.server.review.apply_decision`.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from medlens.core.types import ASSERTION_STATUSES
from medlens.export.html import Highlight, segment_text

__all__ = [
    "CLAIM_LISTS",
    "EDIT_ATTRIBUTES",
    "Claim",
    "apply_edit",
    "draft_fields",
    "highlighted_text",
    "iter_claims",
]

CLAIM_LISTS = ("findings", "labels", "lesions", "measurements", "sentences")
# Attributes a reviewer may change in place (when the claim has them as strings).
EDIT_ATTRIBUTES = ("text", "name", "value", "status")
_LABEL_KEYS = ("text", "name", "value", "label")
_SLUG = re.compile(r"[^a-z0-9_-]+")
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}\.(?:[a-z_]{1,16}|ev\d{1,3}\.(?:start|end))$")
_MAX_DRAFT_FIELDS = 4000
_MAX_VALUE = 2000


def _slug(value: str) -> str:
    return _SLUG.sub("-", value.lower()).strip("-") or "other"


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim of a payload, as the UI shows it."""

    cid: str
    key: str
    index: int | None
    type: str
    label: str
    statuses: tuple[str, ...]
    supported: bool
    code: str
    evidence: tuple[dict[str, Any], ...]
    editable: tuple[tuple[str, str], ...]
    droppable: bool

    @property
    def slug(self) -> str:
        """CSS-safe type name."""
        return _slug(self.type)


def _label(claim: Mapping[str, Any], fallback: str) -> str:
    for key in _LABEL_KEYS:
        value = claim.get(key)
        if isinstance(value, str) and value:
            return value
    return fallback


def _statuses(claim: Mapping[str, Any]) -> tuple[str, ...]:
    assertion = claim.get("assertion")
    if not isinstance(assertion, Mapping):
        return ()
    return tuple(s for s in ASSERTION_STATUSES if assertion.get(s) is True)


def _code(claim: Mapping[str, Any]) -> str:
    code = claim.get("code")
    if isinstance(code, Mapping) and code.get("code"):
        return str(code["code"])
    return ""


def _make(cid: str, key: str, index: int | None, claim: Mapping[str, Any], droppable: bool) -> Claim:
    kind = claim.get("type")
    ctype = kind if isinstance(kind, str) and kind else (key[:-1] if key.endswith("s") else key)
    evidence = tuple(e for e in claim.get("evidence") or () if isinstance(e, Mapping))
    editable = tuple((a, str(claim[a])) for a in EDIT_ATTRIBUTES if isinstance(claim.get(a), str))
    return Claim(
        cid=cid,
        key=key,
        index=index,
        type=ctype,
        label=_label(claim, key),
        statuses=_statuses(claim),
        supported=claim.get("supported") is not False,
        code=_code(claim),
        evidence=tuple(dict(e) for e in evidence),
        editable=editable,
        droppable=droppable,
    )


def _refs(payload: Mapping[str, Any]) -> Iterator[tuple[str, str, int | None, Any]]:
    """(claim id, list or field name, index, the claim mapping itself) for every claim, in payload order."""
    for key in CLAIM_LISTS:
        items = payload.get(key)
        if isinstance(items, list):
            for i, claim in enumerate(items):
                if isinstance(claim, dict):
                    yield f"{key}-{i}", key, i, claim
    fields = payload.get("fields")
    if isinstance(fields, dict):
        for name, value in fields.items():
            if isinstance(value, list):
                for j, claim in enumerate(value):
                    if isinstance(claim, dict) and claim.get("evidence"):
                        yield f"fields-{name}-{j}", name, j, claim
            elif isinstance(value, dict) and value.get("evidence"):
                yield f"fields-{name}", name, None, value


def iter_claims(payload: Mapping[str, Any]) -> Iterator[Claim]:
    """Every claim of a result payload, in payload order."""
    for cid, key, index, claim in _refs(payload):
        yield _make(cid, key, index, claim, droppable=key in CLAIM_LISTS)


def highlighted_text(text: str, claims: list[Claim]) -> Markup:
    """The record text as HTML: all of it escaped, every claim's evidence wrapped in ``<mark>``.

    Overlaps are cut into segments (:func:`medlens.export.html.segment_text`); each ``<mark>`` lists the ids of the
    claims covering it in ``data-c`` and is coloured by the innermost claim's type.
    """
    highlights = [
        Highlight(c.cid, c.type, int(e["start"]), int(e["end"]), c.label)
        for c in claims
        for e in c.evidence
        if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
    ]
    parts: list[str] = []
    for seg in segment_text(text, highlights):
        body = html.escape(seg.text)
        if not seg.highlights:
            parts.append(body)
            continue
        inner = seg.highlights[-1]
        cids = " ".join(dict.fromkeys(h.fid for h in seg.highlights))
        title = "\n".join(dict.fromkeys(h.label for h in seg.highlights))
        parts.append(
            f'<mark class="hl t-{_slug(inner.type)}" data-c="{html.escape(cids)}" '
            f'data-start="{seg.start}" data-end="{seg.end}" title="{html.escape(title)}">{body}</mark>'
        )
    return Markup("".join(parts))


def draft_fields(form: Mapping[str, Any]) -> dict[str, str]:
    """The edit-form values worth keeping in a draft: claim inputs and the reason code, bounded in number and size."""
    out: dict[str, str] = {}
    for name, value in form.items():
        if len(out) >= _MAX_DRAFT_FIELDS:
            break
        if (name == "reason_code" or _FIELD_NAME.match(name)) and isinstance(value, str):
            out[name] = value[:_MAX_VALUE]
    return out


def _offset(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def apply_edit(payload: Mapping[str, Any], text: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with the edit form applied: attribute values, evidence offsets (quotes re-read), dropped claims.

    Offsets outside the text keep the old quote, so the grounding check of the decision rejects them (ML402).

    Args:
        payload: The result payload as produced.
        text: The record text the evidence offsets index.
        form: Edit-form values (see the module docstring).

    Returns:
        A new payload (``payload`` is not changed).
    """
    edited: dict[str, Any] = copy.deepcopy(dict(payload))
    dropped: dict[str, list[int]] = {}
    for cid, key, index, claim in list(_refs(edited)):
        for attribute in EDIT_ATTRIBUTES:
            name = f"{cid}.{attribute}"
            if name in form and isinstance(claim.get(attribute), str):
                claim[attribute] = str(form[name]).strip()[:_MAX_VALUE]
        for j, item in enumerate(claim.get("evidence") or ()):
            if not isinstance(item, dict):
                continue
            start, end = _offset(form.get(f"{cid}.ev{j}.start")), _offset(form.get(f"{cid}.ev{j}.end"))
            if start is None and end is None:
                continue
            start = item.get("start") if start is None else start
            end = item.get("end") if end is None else end
            item["start"], item["end"] = start, end
            if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
                item["quote"] = text[start:end]
        if key in CLAIM_LISTS and index is not None and form.get(f"{cid}.drop"):
            dropped.setdefault(key, []).append(index)
    for key, indexes in dropped.items():
        for i in sorted(indexes, reverse=True):
            del edited[key][i]
    return edited
