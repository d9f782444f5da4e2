"""Visual question answering: answer what DICOM tags and the HU engine can compute, delegate the rest.

Computable questions (patterns and vocabularies in ``lexicon/vqa_questions.yaml``, each with its DICOM source):

- **modality** -- the ``Modality`` tag (or :attr:`Volume.modality`);
- **plane** -- the slice normal from ``ImageOrientationPatient`` (or the volume's direction matrix), or the
  ``ViewPosition`` tag of a projection radiograph (PA, AP, lateral);
- **body part** -- the ``BodyPartExamined`` tag;
- **contrast** -- the Contrast/Bolus module (``ContrastBolusAgent``, ``ContrastBolusIngredient``,
  ``ContrastBolusRoute``); an absent module is *not* read as "no contrast" (exports strip it);
- **laterality** -- ``ImageLaterality`` / ``Laterality``;
- **presence / volume of a structure** the CT Hounsfield-unit engine segments (lungs, left/right lung, body, bone,
  fat), answered from the mask with its voxel count and volume as evidence.

Everything else is ``cannot_answer_offline`` unless a :class:`VisionAnswerer` is given, in which case the question
and a PNG rendering go to it (``delegated``). When both answer, the vision model's answer is kept beside the
offline one and a disagreement is flagged. A 2-D picture without DICOM tags (PNG/JPEG, as in VQA-RAD) carries no
modality, plane, body part or contrast information that can be read honestly from pixels, and no HU scale, so every
question about one is ``cannot_answer_offline`` without a vision model.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import InputError, MedlensError, MissingDependencyError
from medlens.core.lexicon import load_yaml_lexicon
from medlens.imaging.prompts import load_structures
from medlens.imaging.volume import Volume, load_volume

__all__ = [
    "ENGINE_GEOMETRY",
    "ENGINE_HU",
    "ENGINE_TAGS",
    "ParsedQuestion",
    "VisionAnswerer",
    "VqaAnswer",
    "VqaEvidence",
    "VqaLexicon",
    "answer",
    "load_vqa_lexicon",
    "parse_question",
    "render_png",
]

log = logging.getLogger(__name__)

#: Producer names written in evidence and ``VqaAnswer.engine``.
ENGINE_TAGS = "medlens.imaging.vqa.dicom_tags.v1"
ENGINE_GEOMETRY = "medlens.imaging.vqa.geometry.v1"
ENGINE_HU = "medlens.imaging.segment_hu.v1"

_FORBID = ConfigDict(frozen=True, extra="forbid")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")
_TAG_KEYWORDS = (
    "Modality",
    "BodyPartExamined",
    "ImageOrientationPatient",
    "ViewPosition",
    "ContrastBolusAgent",
    "ContrastBolusRoute",
    "ContrastBolusIngredient",
    "Laterality",
    "ImageLaterality",
)
# A slice normal whose dominant LPS component is below cos(30 deg) is oblique: no plane name is given (project choice).
_OBLIQUE_COS = 0.866
# Non-DICOM volumes whose three spacings agree within 10 % are treated as isotropic: any plane can be displayed, so
# the stored slice axis says nothing about how the image was taken (project choice).
_ISOTROPIC_TOLERANCE = 0.10
# A CT whose minimum is above this is not in HU (same rule as qc.not_hu_like).
_HU_AIR_CEILING = -500.0

Intent = Literal["modality", "plane", "body_part", "contrast", "laterality", "structure_presence", "structure_volume"]


# ------------------------------------------------------------------------------------------------ lexicon


class IntentDef(BaseModel):
    """Patterns of one computable question type."""

    model_config = _FORBID

    name: Intent = Field(description="Intent name.")
    patterns: tuple[str, ...] = Field(min_length=1, description="Regexes over the normalised question.")
    exclude: tuple[str, ...] = Field(default=(), description="Regexes that veto the intent (questions on findings).")


class TermGroup(BaseModel):
    """One answer value with the phrases naming it and the tag values meaning it."""

    model_config = _FORBID

    display: str = Field(description="Answer as written.")
    phrases: tuple[str, ...] = Field(min_length=1, description="Phrases naming it in a question (lower case).")
    codes: tuple[str, ...] = Field(default=(), description="DICOM defined terms that mean it.")
    tag_terms: tuple[str, ...] = Field(default=(), description="Substrings of BodyPartExamined that mean it.")
    axis: Literal["L", "P", "S"] | None = Field(default=None, description="LPS axis normal to a plane.")


class ContrastLexicon(BaseModel):
    """Contrast vocabulary."""

    model_config = _FORBID

    with_phrases: tuple[str, ...] = Field(description="Phrases naming a contrast-enhanced image.")
    without_phrases: tuple[str, ...] = Field(description="Phrases naming an image without contrast.")
    route_phrases: dict[str, tuple[str, ...]] = Field(description="Route -> phrases (IV, ORAL).")
    negative_values: tuple[str, ...] = Field(description="ContrastBolusAgent values meaning 'no contrast'.")


class VqaLexicon(BaseModel):
    """The whole ``vqa_questions.yaml``."""

    model_config = _FORBID

    source: str = Field(description="Where the terms come from.")
    closed_starts: tuple[str, ...] = Field(description="First words of closed (yes/no or choice) questions.")
    intents: tuple[IntentDef, ...] = Field(description="Computable question types, in order.")
    vqa_structures: tuple[str, ...] = Field(description="HU-engine structures VQA may answer about.")
    modalities: tuple[TermGroup, ...] = Field(description="Modality groups.")
    planes: tuple[TermGroup, ...] = Field(description="Anatomical planes.")
    views: tuple[TermGroup, ...] = Field(description="Projection views (ViewPosition).")
    body_parts: tuple[TermGroup, ...] = Field(description="Body parts (BodyPartExamined).")
    contrast: ContrastLexicon = Field(description="Contrast vocabulary.")
    laterality: tuple[TermGroup, ...] = Field(description="Laterality values.")


@lru_cache(maxsize=1)
def load_vqa_lexicon() -> VqaLexicon:
    """The packaged question lexicon (validated once, cached).

    Raises:
        ConfigError: ML205 if the packaged file is unreadable or invalid.
    """
    return load_yaml_lexicon("medlens.imaging", "vqa_questions.yaml", VqaLexicon)


_NON_WORD = re.compile(r"[^a-z0-9]+")


def _normalise(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


@lru_cache(maxsize=1)
def _structure_phrases() -> tuple[tuple[str, str], ...]:
    """(normalised synonym, structure name) for the VQA structures, longest first."""
    lex = load_vqa_lexicon()
    pairs = [
        (_normalise(syn), s.name)
        for s in load_structures().structures
        if s.name in lex.vqa_structures
        for syn in s.synonyms
    ]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@lru_cache(maxsize=1)
def _compiled_intents() -> tuple[tuple[Intent, tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]], ...]:
    structure_alt = "(?P<structure>" + "|".join(re.escape(p) for p, _ in _structure_phrases()) + ")"
    out = []
    for intent in load_vqa_lexicon().intents:
        pats = tuple(re.compile(p.replace("{structure}", structure_alt)) for p in intent.patterns)
        excl = tuple(re.compile(p) for p in intent.exclude)
        out.append((intent.name, pats, excl))
    return tuple(out)


def _mentions(text: str, groups: Sequence[TermGroup]) -> list[int]:
    """Indices of the groups named in ``text`` (whole words, longest phrase first, no overlaps), in text order."""
    phrases = sorted(((_normalise(p), n) for n, g in enumerate(groups) for p in g.phrases), key=lambda t: -len(t[0]))
    padded = f" {text} "
    taken = [False] * len(padded)
    found: list[tuple[int, int]] = []
    for phrase, n in phrases:
        needle = f" {phrase} "
        start = padded.find(needle)
        while start >= 0:
            span = range(start + 1, start + len(needle) - 1)
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                found.append((start, n))
            start = padded.find(needle, start + 1)
    ordered: list[int] = []
    for _, n in sorted(found):
        if n not in ordered:
            ordered.append(n)
    return ordered


class ParsedQuestion(BaseModel):
    """What the question asks, as far as the lexicon can tell."""

    model_config = _FORBID

    text: str = Field(description="Normalised question (lower case, punctuation as spaces).")
    answer_type: Literal["closed", "open"] = Field(description="Closed = yes/no or a choice between named options.")
    intent: Intent | None = Field(default=None, description="Computable intent, or None.")
    structure: str | None = Field(default=None, description="HU-engine structure for presence/volume intents.")
    ambiguous: tuple[str, ...] = Field(default=(), description="Intents that all matched (then intent is None).")


def parse_question(question: str) -> ParsedQuestion:
    """Classify a question as closed/open and find its computable intent (if exactly one matches)."""
    lex = load_vqa_lexicon()
    text = _normalise(question)
    first = text.split(" ", 1)[0] if text else ""
    answer_type: Literal["closed", "open"] = "closed" if first in lex.closed_starts else "open"
    matched: list[tuple[Intent, str | None]] = []
    for name, patterns, excludes in _compiled_intents():
        if any(x.search(text) for x in excludes):
            continue
        for pat in patterns:
            m = pat.search(text)
            if m:
                structure = None
                if "structure" in pat.groupindex:
                    phrase = m.group("structure")
                    structure = next(s for p, s in _structure_phrases() if p == phrase)
                matched.append((name, structure))
                break
    if len(matched) == 1:
        return ParsedQuestion(text=text, answer_type=answer_type, intent=matched[0][0], structure=matched[0][1])
    return ParsedQuestion(text=text, answer_type=answer_type, ambiguous=tuple(m[0] for m in matched))


# ------------------------------------------------------------------------------------------------ results


class VqaEvidence(BaseModel):
    """What an offline answer rests on: a DICOM tag, the image geometry, or a mask."""

    model_config = _FORBID

    kind: Literal["dicom_tag", "geometry", "mask"] = Field(description="Kind of evidence.")
    name: str = Field(description="Tag keyword, geometry item, or structure name.")
    value: str = Field(description="Tag value, geometry value, or mask summary, as text.")
    producer: str = Field(description="Versioned name of the engine that read it.")
    voxel_count: int | None = Field(default=None, description="Mask voxels (mask evidence only).")
    volume_ml: float | None = Field(default=None, description="Mask volume in mL (mask evidence only).")


class VqaAnswer(BaseModel):
    """The answer to one visual question."""

    model_config = _FORBID

    question: str = Field(description="The question as asked.")
    answer: str | None = Field(description="The answer; None when it cannot be answered offline.")
    answer_type: Literal["closed", "open"] = Field(description="Closed (yes/no or choice) or open.")
    status: Literal["answered", "cannot_answer_offline", "delegated"] = Field(
        description="answered = computed offline; delegated = answered by the vision model only."
    )
    intent: str | None = Field(default=None, description="Computable intent recognised in the question.")
    evidence: tuple[VqaEvidence, ...] = Field(default=(), description="Evidence of an offline answer.")
    engine: str | None = Field(default=None, description="Engine that produced ``answer``.")
    reason: str | None = Field(default=None, description="Why the offline engines could not answer.")
    vlm_answer: str | None = Field(default=None, description="The vision model's answer, when one was asked.")
    disagreement: bool | None = Field(
        default=None, description="True when offline and vision answers differ; None when not both or not comparable."
    )


@runtime_checkable
class VisionAnswerer(Protocol):
    """A vision-language model: answers a question about a PNG image (an OpenAI-compatible image chat client)."""

    def answer(self, question: str, png_bytes: bytes) -> str:
        """Free-text answer to ``question`` about the image ``png_bytes``."""
        ...


class _Offline(BaseModel):
    model_config = _FORBID

    answer: str | None = None
    evidence: tuple[VqaEvidence, ...] = ()
    engine: str | None = None
    reason: str | None = None


# ------------------------------------------------------------------------------------------------ inputs


class _Image:
    """What the question is about: a 3-D volume or a 2-D picture, plus its DICOM tags."""

    def __init__(self, volume: Volume | None, picture: npt.NDArray[Any] | None, tags: dict[str, Any]) -> None:
        self.volume = volume
        self.picture = picture
        self.tags = tags


def _tag_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _read_tags(source: Any) -> dict[str, Any]:
    if source is None:
        return {}
    out: dict[str, Any] = {}
    for key in _TAG_KEYWORDS:
        try:
            value = source.get(key) if hasattr(source, "get") else None
        except (KeyError, AttributeError, TypeError):
            value = None
        value = getattr(value, "value", value)  # a pydicom DataElement
        if value is not None and _tag_text(value) != "":
            out[key] = value
    return out


def _dicom_header(volume: Volume) -> Any:
    files = volume.meta.get("files")
    if volume.meta.get("format") != "dicom" or not files:
        return None
    import pydicom

    return pydicom.dcmread(files[0], stop_before_pixels=True)


def _load_picture(data: bytes | Path) -> npt.NDArray[Any]:
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError(
            'reading PNG/JPEG images needs Pillow; install it with: pip install "medlens[imaging]"', code="ML501"
        ) from exc
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as img:
            return np.asarray(img.convert("L") if img.mode not in ("L", "RGB") else img)
    except OSError as exc:
        raise InputError(f"not a readable image ({type(exc).__name__})", code="ML109") from exc


def _as_image(image_or_volume: Volume | npt.NDArray[Any] | str | Path | bytes, dicom_tags: Any) -> _Image:
    volume: Volume | None = None
    picture: npt.NDArray[Any] | None = None
    if isinstance(image_or_volume, Volume):
        volume = image_or_volume
    elif isinstance(image_or_volume, bytes):
        picture = _load_picture(image_or_volume)
    elif isinstance(image_or_volume, (str, Path)):
        path = Path(image_or_volume)
        if path.is_file() and path.name.lower().endswith(_IMAGE_SUFFIXES):
            picture = _load_picture(path)
        else:
            volume = load_volume(path)
    elif isinstance(image_or_volume, np.ndarray):
        if image_or_volume.ndim == 2 or (image_or_volume.ndim == 3 and image_or_volume.shape[-1] in (3, 4)):
            picture = image_or_volume
        else:
            raise InputError(
                f"an array of shape {image_or_volume.shape} is ambiguous; pass a 3-D image as a Volume", code="ML125"
            )
    else:
        raise InputError(f"unsupported image input {type(image_or_volume).__name__}", code="ML109")
    tags = _read_tags(dicom_tags)
    if volume is not None and not tags:
        tags = _read_tags(_dicom_header(volume))
    if volume is not None and "Modality" not in tags and volume.modality:
        tags["Modality"] = volume.modality
    return _Image(volume, picture, tags)


# ------------------------------------------------------------------------------------------------ answering


def _tag_ev(name: str, value: Any) -> VqaEvidence:
    return VqaEvidence(kind="dicom_tag", name=name, value=_tag_text(value), producer=ENGINE_TAGS)


def _choose(
    parsed: ParsedQuestion, groups: Sequence[TermGroup], truth: Sequence[int], *, known: bool = True
) -> str | None:
    """Answer a vocabulary question given the indices of the true groups.

    Closed with two or more named options: the true option's display (or the truth when none is named); closed with
    one named option: yes/no (no only when ``known``, i.e. the truth excludes the others); open: the truth.
    """
    if not truth:
        return None
    if parsed.answer_type == "open":
        return groups[truth[0]].display
    options = _mentions(parsed.text, groups)
    if len(options) >= 2:
        hits = [n for n in options if n in truth]
        return groups[hits[0]].display if hits else groups[truth[0]].display
    if len(options) == 1:
        if options[0] in truth:
            return "yes"
        return "no" if known else None
    return None


def _answer_modality(parsed: ParsedQuestion, img: _Image) -> _Offline:
    lex = load_vqa_lexicon()
    code = _tag_text(img.tags.get("Modality")).upper()
    if not code:
        return _Offline(reason="no Modality tag")
    truth = [n for n, g in enumerate(lex.modalities) if code in g.codes]
    if not truth:
        return _Offline(reason="the Modality value is not in the lexicon")
    ans = _choose(parsed, lex.modalities, truth)
    if ans is None:
        return _Offline(reason="the question names no modality option")
    return _Offline(answer=ans, evidence=(_tag_ev("Modality", code),), engine=ENGINE_TAGS)


def _slice_normal(img: _Image) -> tuple[npt.NDArray[np.float64], VqaEvidence] | None:
    iop = img.tags.get("ImageOrientationPatient")
    if iop is not None and len(iop) == 6:
        cos = np.asarray([float(v) for v in iop])
        normal = np.cross(cos[:3], cos[3:])
        return normal, _tag_ev("ImageOrientationPatient", iop)
    vol = img.volume
    if vol is None:
        return None
    if vol.meta.get("format") != "dicom":
        s = np.asarray(vol.spacing)
        if float(s.max() - s.min()) <= _ISOTROPIC_TOLERANCE * float(s.min()):
            return None
    normal = vol.direction[:, 2]
    text = "slice axis k (LPS) = (" + ", ".join(f"{v:.3f}" for v in normal) + ")"
    return normal, VqaEvidence(kind="geometry", name="direction", value=text, producer=ENGINE_GEOMETRY)


def _answer_plane(parsed: ParsedQuestion, img: _Image) -> _Offline:
    lex = load_vqa_lexicon()
    asks_view = bool(_mentions(parsed.text, lex.views))
    asks_plane = bool(_mentions(parsed.text, lex.planes))
    view = _tag_text(img.tags.get("ViewPosition")).upper()
    if view and (asks_view or not asks_plane):
        truth = [n for n, g in enumerate(lex.views) if view in g.codes]
        ans = _choose(parsed, lex.views, truth)
        if ans is not None:
            return _Offline(answer=ans, evidence=(_tag_ev("ViewPosition", view),), engine=ENGINE_TAGS)
        return _Offline(reason="the ViewPosition value or the question's options are not in the lexicon")
    if asks_view:
        return _Offline(reason="no ViewPosition tag")
    found = _slice_normal(img)
    if found is None:
        return _Offline(reason="no slice orientation (no ImageOrientationPatient; isotropic or 2-D image)")
    normal, ev = found
    axis = int(np.argmax(np.abs(normal)))
    if abs(float(normal[axis])) < _OBLIQUE_COS:
        return _Offline(reason="oblique slice orientation")
    letter = "LPS"[axis]
    truth = [n for n, g in enumerate(lex.planes) if g.axis == letter]
    ans = _choose(parsed, lex.planes, truth)
    if ans is None:
        return _Offline(reason="the question names no plane option")
    engine = ENGINE_TAGS if ev.kind == "dicom_tag" else ENGINE_GEOMETRY
    return _Offline(answer=ans, evidence=(ev,), engine=engine)


def _answer_body_part(parsed: ParsedQuestion, img: _Image) -> _Offline:
    lex = load_vqa_lexicon()
    value = _tag_text(img.tags.get("BodyPartExamined")).upper()
    if not value:
        return _Offline(reason="no BodyPartExamined tag")
    truth = [n for n, g in enumerate(lex.body_parts) if any(t in value for t in g.tag_terms)]
    if not truth:
        return _Offline(reason="the BodyPartExamined value is not in the lexicon")
    ans = _choose(parsed, lex.body_parts, truth)
    if ans is None:
        return _Offline(reason="the question names no body part option")
    return _Offline(answer=ans, evidence=(_tag_ev("BodyPartExamined", value),), engine=ENGINE_TAGS)


def _answer_contrast(parsed: ParsedQuestion, img: _Image) -> _Offline:
    c = load_vqa_lexicon().contrast
    agent = _tag_text(img.tags.get("ContrastBolusAgent"))
    ingredient = _tag_text(img.tags.get("ContrastBolusIngredient"))
    evidence: list[VqaEvidence] = []
    given: bool | None = None
    if agent:
        evidence.append(_tag_ev("ContrastBolusAgent", agent))
        given = _normalise(agent) not in {_normalise(v) for v in c.negative_values}
    elif ingredient:
        evidence.append(_tag_ev("ContrastBolusIngredient", ingredient))
        given = True
    if given is None:
        return _Offline(reason="no Contrast/Bolus tags (their absence is not evidence of a non-contrast study)")
    routes = {route for route, phrases in c.route_phrases.items() if _mentions(parsed.text, [_group(phrases)])}
    if routes and given:
        route_tag = _tag_text(img.tags.get("ContrastBolusRoute")).upper()
        if not route_tag:
            return _Offline(reason="the question asks for a route and there is no ContrastBolusRoute tag")
        evidence.append(_tag_ev("ContrastBolusRoute", route_tag))
        tag_route = "IV" if ("IV" in route_tag.split() or "INTRAVENOUS" in route_tag) else route_tag
        given = tag_route in routes
    groups = [_group(c.with_phrases, "with contrast"), _group(c.without_phrases, "without contrast")]
    truth = [0] if given else [1]
    options = _mentions(parsed.text, groups)
    if " or " in f" {parsed.text} ":  # "with or without contrast?", "contrast or non-contrast?": a choice
        ans: str | None = groups[truth[0]].display
    elif parsed.answer_type == "closed" and options == [1]:
        ans = "no" if given else "yes"
    elif parsed.answer_type == "closed" and len(options) < 2:
        ans = "yes" if given else "no"
    else:
        ans = _choose(parsed, groups, truth)
    return _Offline(answer=ans, evidence=tuple(evidence), engine=ENGINE_TAGS)


def _group(phrases: Sequence[str], display: str = "") -> TermGroup:
    return TermGroup(display=display or phrases[0], phrases=tuple(phrases))


def _answer_laterality(parsed: ParsedQuestion, img: _Image) -> _Offline:
    lex = load_vqa_lexicon()
    for key in ("ImageLaterality", "Laterality"):
        value = _tag_text(img.tags.get(key)).upper()
        if value:
            truth = [n for n, g in enumerate(lex.laterality) if value in g.codes]
            ans = _choose(parsed, lex.laterality, truth)
            if ans is None:
                return _Offline(reason=f"the {key} value or the question's options are not in the lexicon")
            return _Offline(answer=ans, evidence=(_tag_ev(key, value),), engine=ENGINE_TAGS)
    return _Offline(reason="no ImageLaterality or Laterality tag")


def _answer_structure(parsed: ParsedQuestion, img: _Image) -> _Offline:
    from medlens.imaging.qc import check_mask
    from medlens.imaging.segment_hu import segment_ct

    vol = img.volume
    structure = parsed.structure
    if vol is None or structure is None:
        return _Offline(reason="structure questions need a 3-D CT volume in HU")
    if vol.modality not in (None, "CT") or float(vol.array.min()) > _HU_AIR_CEILING:
        return _Offline(reason="the HU engine needs a CT volume in Hounsfield units")
    mask = segment_ct(vol, [structure])[structure]
    qc = check_mask(vol, mask, structure)
    count = int(np.count_nonzero(mask))
    flags = ", ".join(f for f in qc.flags if f != "empty") or "none"
    ev = VqaEvidence(
        kind="mask",
        name=structure,
        value=f"{count} voxels, {qc.volume_ml:.1f} mL, QC flags: {flags}",
        producer=ENGINE_HU,
        voxel_count=count,
        volume_ml=qc.volume_ml,
    )
    if parsed.intent == "structure_presence":
        return _Offline(answer="yes" if count else "no", evidence=(ev,), engine=ENGINE_HU)
    if count == 0:
        return _Offline(reason="the structure is not in the image, so it has no volume", evidence=(ev,))
    text = f"{qc.volume_ml:.1f} mL"
    if "touches_border" in qc.flags:
        text += " (touches the image border: a lower bound)"
    return _Offline(answer=text, evidence=(ev,), engine=ENGINE_HU)


_ANSWERERS = {
    "modality": _answer_modality,
    "plane": _answer_plane,
    "body_part": _answer_body_part,
    "contrast": _answer_contrast,
    "laterality": _answer_laterality,
    "structure_presence": _answer_structure,
    "structure_volume": _answer_structure,
}


def _offline(parsed: ParsedQuestion, img: _Image) -> _Offline:
    if parsed.intent is None:
        if parsed.ambiguous:
            return _Offline(reason="the question asks several things: " + ", ".join(parsed.ambiguous))
        return _Offline(reason="not a computable question (needs image understanding)")
    if img.volume is None and not img.tags:
        return _Offline(reason="a 2-D picture without DICOM tags: not computable from pixels")
    return _ANSWERERS[parsed.intent](parsed, img)


# ------------------------------------------------------------------------------------------------ vision model


def render_png(image_or_volume: Volume | npt.NDArray[Any]) -> bytes:
    """PNG bytes of a 2-D picture, or of the middle slice ``k`` of a volume, for a vision model.

    CT is shown in a soft-tissue window (level 40, width 400 HU); other images are scaled between their 1st and
    99th percentiles.

    Raises:
        MissingDependencyError: ML501 without Pillow.
    """
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError(
            'rendering PNG needs Pillow; install it with: pip install "medlens[imaging]"', code="ML501"
        ) from exc
    if isinstance(image_or_volume, Volume):
        plane = image_or_volume.array[image_or_volume.shape[0] // 2].astype(np.float32)
        lo, hi = (-160.0, 240.0) if image_or_volume.modality == "CT" else (None, None)
    else:
        plane = np.asarray(image_or_volume)
        lo = hi = None
        if plane.dtype == np.uint8:
            lo, hi = 0.0, 255.0
    if lo is None or hi is None:
        lo, hi = (float(v) for v in np.percentile(plane, [1, 99]))
        hi = hi if hi > lo else lo + 1.0
    scaled = ((np.clip(plane.astype(np.float32), lo, hi) - lo) / (hi - lo) * 255.0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(scaled).save(buf, format="PNG")
    return buf.getvalue()


def _vocabulary(intent: str | None) -> list[TermGroup]:
    lex = load_vqa_lexicon()
    c = lex.contrast
    table: dict[str, list[TermGroup]] = {
        "modality": list(lex.modalities),
        "plane": list(lex.planes) + list(lex.views),
        "body_part": list(lex.body_parts),
        "laterality": list(lex.laterality),
        "contrast": [_group(c.with_phrases, "with contrast"), _group(c.without_phrases, "without contrast")],
    }
    return table.get(intent or "", [])


_YES_NO = re.compile(r"\b(yes|no)\b")


def _disagree(intent: str | None, offline: str, vlm: str) -> bool | None:
    """True/False when the two answers can be compared, None when they cannot."""
    a, b = _normalise(offline), _normalise(vlm)
    if a in ("yes", "no"):
        m = _YES_NO.search(b)
        return None if m is None else m.group(1) != a
    groups = _vocabulary(intent)
    own = [n for n, g in enumerate(groups) if g.display == offline]
    theirs = _mentions(b, groups)
    if own and theirs:
        return own[0] not in theirs
    return None


# ------------------------------------------------------------------------------------------------ entry point


def answer(
    question: str,
    image_or_volume: Volume | npt.NDArray[Any] | str | Path | bytes,
    *,
    dicom_tags: Mapping[str, Any] | Any | None = None,
    vlm: VisionAnswerer | None = None,
) -> VqaAnswer:
    """Answer a question about an image from DICOM tags and the HU engine; delegate the rest to ``vlm`` if given.

    Args:
        question: The question, free text.
        image_or_volume: A :class:`Volume`, a path (NIfTI, NRRD, DICOM file or series folder, PNG/JPEG), PNG/JPEG
            bytes, or a 2-D numpy array (greyscale or RGB).
        dicom_tags: DICOM attributes by keyword (a mapping or a ``pydicom.Dataset``). For a volume read from DICOM
            they are read from its first slice when not given.
        vlm: Optional vision-language model; asked for every question, so that a disagreement with an offline
            answer can be flagged.

    Returns:
        The answer with its evidence; ``status`` says whether it was computed offline, delegated, or neither.

    Raises:
        InputError: ML109/ML125 for an unreadable or ambiguous image input.
        MedlensError: ML706 when the vision model's PHI gate refuses the request (other vision-model failures are
            logged and the offline result is kept).
    """
    parsed = parse_question(question)
    img = _as_image(image_or_volume, dicom_tags)
    off = _offline(parsed, img)
    vlm_text: str | None = None
    if vlm is not None:
        png = render_png(img.volume if img.volume is not None else np.asarray(img.picture))
        try:
            vlm_text = str(vlm.answer(question, png)).strip()
        except MedlensError as exc:
            if exc.code == "ML706":  # a PHI-gate refusal is an error, never a silent fallback (DESIGN.md section 3)
                raise
            log.warning("vision model failed (%s); keeping the offline result", exc.code)
        except Exception as exc:  # the client is another component; its failure must not lose the offline answer
            log.warning("vision model failed (%s); keeping the offline result", type(exc).__name__)
    if off.answer is not None:
        return VqaAnswer(
            question=question,
            answer=off.answer,
            answer_type=parsed.answer_type,
            status="answered",
            intent=parsed.intent,
            evidence=off.evidence,
            engine=off.engine,
            vlm_answer=vlm_text,
            disagreement=None if vlm_text is None else _disagree(parsed.intent, off.answer, vlm_text),
        )
    if vlm_text:
        return VqaAnswer(
            question=question,
            answer=vlm_text,
            answer_type=parsed.answer_type,
            status="delegated",
            intent=parsed.intent,
            evidence=off.evidence,
            engine=str(getattr(vlm, "name", "vlm")),
            reason=off.reason,
            vlm_answer=vlm_text,
        )
    return VqaAnswer(
        question=question,
        answer=None,
        answer_type=parsed.answer_type,
        status="cannot_answer_offline",
        intent=parsed.intent,
        evidence=off.evidence,
        reason=off.reason,
    )
