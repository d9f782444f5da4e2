"""The ``monai`` segmentation backend: run a MONAI bundle the user supplies, with sliding-window inference.

A bundle is a folder laid out as MONAI's bundle specification describes::

    <bundle>/configs/inference.json   (or inference.yaml / .yml)  network_def, preprocessing, inferer, postprocessing
    <bundle>/configs/metadata.json    network_data_format.outputs.<name>.channel_def: {"0": "background", ...}
    <bundle>/models/model.pt          state dict for network_def   -- or --   <bundle>/models/model.ts  TorchScript

torch and monai are an optional extra, imported only when a :class:`MonaiBundleSegmenter` is built; without them
the constructor raises ``MissingDependencyError`` ML501 with the pip line (:data:`PIP_LINE`). Importing this module
(and :mod:`medlens.imaging`) never imports torch or monai; :func:`resolve_bundle_prompt` works without them.

**Nothing in the bundle's config is evaluated as code** (CONVENTIONS.md 6). The config is read with
``monai.bundle.ConfigParser`` so that ``@`` references resolve, but with ``instantiate=False, eval_expr=False``:

- the network is built only from ``network_def`` whose ``_target_`` names a class of ``monai.networks.nets`` and
  whose arguments are literal values (no ``$`` expression, no nested ``_target_``); any other network must be
  shipped as TorchScript ``models/model.ts``;
- weights are read with ``torch.load(..., weights_only=True)``;
- preprocessing is *read*, not run: the parameters of the transforms below are taken from ``preprocessing`` and
  applied by this module to the in-memory volume (``LoadImage``, ``EnsureChannelFirst``, ``EnsureType``,
  ``CastToType`` are implied; every other transform is listed in :attr:`BundlePreprocessing.ignored` and logged):

  ==========================  ========================================================================
  ``Orientation(d)``          ``axcodes`` (nibabel-style RAS letters, as :attr:`Volume.orientation`)
  ``Spacing(d)``              ``pixdim`` (mm along the oriented voxel axes i, j, k; trilinear)
  ``ScaleIntensityRange(d)``  ``a_min, a_max, b_min, b_max, clip``
  ``NormalizeIntensity(d)``   ``nonzero`` (z-score over all voxels or the non-zero ones)
  ==========================  ========================================================================

  Defaults when the bundle has no ``preprocessing`` (documented choice, not MONAI's): orientation ``RAS`` (the
  orientation MONAI bundles are trained in), native spacing, z-score intensity normalisation.

Inference: the oriented, resampled, scaled volume becomes a ``[1, 1, I, J, K]`` tensor (MONAI's channel-first
spatial order x, y, z, i.e. this package's array ``[k, j, i]`` transposed), and
``monai.inferers.sliding_window_inference`` runs the network over windows of ``roi_size`` (from the argument, else
the bundle's ``inferer.roi_size``, else metadata ``inputs.<name>.spatial_shape``, else 96^3). Probabilities
(softmax, or sigmoid for multi-label bundles) are resampled back to the oriented grid (trilinear), turned into
labels (argmax, or > 0.5 for multi-label) and the axes are permuted/flipped back: every mask is shaped and placed
exactly like the input volume's array.

Error codes: ML108 bundle folder, config or model file not found (names the path); ML202 a config file cannot be
read; ML201 the bundle is invalid (channel_def, network_def not allowed, weights not matching, unknown device);
ML109 the model file is not a readable state dict or TorchScript archive; ML501 torch/monai not installed.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import ConfigError, InputError, MissingDependencyError
from medlens.imaging.volume import Volume, reorient

__all__ = [
    "ENGINE_MONAI",
    "PIP_LINE",
    "BundleInfo",
    "BundlePreprocessing",
    "BundlePromptResolution",
    "MonaiBundleSegmenter",
    "read_bundle_labels",
    "resolve_bundle_prompt",
]

log = logging.getLogger(__name__)

#: Versioned name of this engine (``SegmentSummary.engine``, evidence producers).
ENGINE_MONAI = "medlens.imaging.monai_bundle.v1"
#: What to install for this backend. torch is pinned exactly: 2.13.0 is the CPU wheel this project is tested with;
#: an unpinned torch request resolves to a multi-GB CUDA build.
PIP_LINE = "pip install torch==2.13.0 monai"
#: roi_size when neither the argument, the bundle's inferer nor its metadata gives one (MONAI bundles' usual size).
DEFAULT_ROI_SIZE = (96, 96, 96)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_CONFIG_NAMES = ("inference.json", "inference.yaml", "inference.yml")
_IMPLIED = {"LoadImage", "EnsureChannelFirst", "EnsureType", "CastToType", "AddChannel", "ToTensor", "Compose"}
_BACKGROUND = "background"


# ------------------------------------------------------------------------------------------------ bundle description


class BundlePreprocessing(BaseModel):
    """What the backend does to a volume before the network sees it (read from the bundle, or the defaults)."""

    model_config = _FROZEN

    source: Literal["bundle", "default"] = Field(description="'bundle' when read from configs, else the defaults.")
    orientation: str = Field(default="RAS", description="Axis code the volume is reoriented to (RAS letters).")
    pixdim: tuple[float, float, float] | None = Field(
        default=None, description="Voxel size (mm) along the oriented i, j, k axes; None keeps native spacing."
    )
    intensity: Literal["scale_range", "normalize", "none"] = Field(
        default="normalize", description="Intensity transform: ScaleIntensityRange, NormalizeIntensity, or none."
    )
    a_min: float | None = Field(default=None, description="ScaleIntensityRange a_min (input units, e.g. HU).")
    a_max: float | None = Field(default=None, description="ScaleIntensityRange a_max.")
    b_min: float | None = Field(default=None, description="ScaleIntensityRange b_min.")
    b_max: float | None = Field(default=None, description="ScaleIntensityRange b_max.")
    clip: bool = Field(default=False, description="ScaleIntensityRange clip.")
    nonzero: bool = Field(default=False, description="NormalizeIntensity over non-zero voxels only.")
    ignored: tuple[str, ...] = Field(default=(), description="Bundle transforms this backend does not apply.")


class BundleInfo(BaseModel):
    """A bundle as read from its folder."""

    model_config = _FROZEN

    path: str = Field(description="Bundle folder.")
    name: str | None = Field(default=None, description="metadata 'name', when present.")
    version: str | None = Field(default=None, description="metadata 'version', when present.")
    labels: dict[int, str] = Field(description="Output channel -> label name, from channel_def.")
    multilabel: bool = Field(description="True: sigmoid and threshold per channel; False: softmax and argmax.")
    model_file: str = Field(description="The weights or TorchScript file used.")
    model_format: Literal["state_dict", "torchscript"] = Field(description="How the model is loaded.")
    roi_size: tuple[int, int, int] = Field(description="Sliding-window size along i, j, k (voxels).")
    sw_batch_size: int = Field(ge=1, description="Windows per forward pass.")
    overlap: float = Field(ge=0, lt=1, description="Sliding-window overlap fraction.")
    device: str = Field(description="torch device.")
    preprocessing: BundlePreprocessing = Field(description="Preprocessing applied.")

    @property
    def structure_labels(self) -> tuple[str, ...]:
        """Label names without the background channel, in channel order."""
        return tuple(name for _, name in sorted(self.labels.items()) if name.lower() != _BACKGROUND)


# ------------------------------------------------------------------------------------------------ reading files


def _bundle_paths(bundle_dir: str | Path) -> tuple[Path, Path, Path]:
    root = Path(bundle_dir)
    if not root.is_dir():
        raise InputError("MONAI bundle folder not found", code="ML108", source=str(root))
    configs = root / "configs"
    config = next((configs / n for n in _CONFIG_NAMES if (configs / n).is_file()), None)
    if config is None:
        raise InputError(
            f"the bundle has no configs/{' or configs/'.join(_CONFIG_NAMES)}", code="ML108", source=str(root)
        )
    metadata = configs / "metadata.json"
    if not metadata.is_file():
        raise InputError(
            "the bundle has no configs/metadata.json (it holds the label map)", code="ML108", source=str(metadata)
        )
    return root, config, metadata


def _read_metadata(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read bundle metadata ({type(exc).__name__})", code="ML202") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: bundle metadata must be a JSON object", code="ML201")
    return data


def _output_spec(metadata: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    outputs = (metadata.get("network_data_format") or {}).get("outputs")
    if not isinstance(outputs, Mapping) or not outputs:
        raise ConfigError(f"{path}: no network_data_format.outputs (needed for the label map)", code="ML201")
    spec = outputs.get("pred", next(iter(outputs.values())))
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{path}: network_data_format.outputs entries must be objects", code="ML201")
    return spec


def _channel_def(metadata: Mapping[str, Any], path: Path) -> dict[int, str]:
    raw = _output_spec(metadata, path).get("channel_def")
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{path}: the bundle's output has no channel_def (channel -> label name)", code="ML201")
    labels: dict[int, str] = {}
    for key, value in raw.items():
        try:
            channel = int(key)
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: channel_def key {key!r} is not a channel number", code="ML201") from None
        if not isinstance(value, str) or not value.strip() or channel < 0:
            raise ConfigError(f"{path}: channel_def entry {key!r} needs a label name", code="ML201")
        labels[channel] = value.strip()
    if sorted(labels) != list(range(len(labels))):
        raise ConfigError(f"{path}: channel_def must number channels 0..n-1 without gaps", code="ML201")
    if len({v.lower() for v in labels.values()}) != len(labels):
        raise ConfigError(f"{path}: channel_def repeats a label name", code="ML201")
    return labels


def read_bundle_labels(bundle_dir: str | Path) -> tuple[str, ...]:
    """Label names of a bundle (channel_def without background), read without torch or monai.

    Raises:
        InputError: ML108 if the bundle folder or a config file is missing.
        ConfigError: ML202 unreadable metadata, ML201 no valid channel_def.
    """
    _, _, metadata_path = _bundle_paths(bundle_dir)
    labels = _channel_def(_read_metadata(metadata_path), metadata_path)
    return tuple(name for _, name in sorted(labels.items()) if name.lower() != _BACKGROUND)


class _Expression:
    """A MONAI ``$`` expression found in the config; kept as a marker, never evaluated."""

    def __init__(self, text: str) -> None:
        self.text = text


def _plain(value: Any) -> Any:
    """ConfigParser output (resolved, not instantiated, not evaluated) -> plain Python values."""
    config_item = _module("monai.bundle.config_item")
    ConfigExpression, ConfigItem = config_item.ConfigExpression, config_item.ConfigItem
    if isinstance(value, ConfigExpression):
        return _Expression(str(value.get_config()))
    if isinstance(value, ConfigItem):
        return _plain(value.get_config())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str) and value.startswith("$"):
        return _Expression(value)
    return value


def _has_expression(value: Any) -> bool:
    if isinstance(value, _Expression):
        return True
    if isinstance(value, Mapping):
        return any(_has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_expression(v) for v in value)
    return False


def _transform_name(target: Any) -> str:
    name = str(target).rsplit(".", 1)[-1]
    return name[:-1] if name.endswith("d") and name[:-1] else name


def _transforms(pre: Any) -> list[dict[str, Any]]:
    if isinstance(pre, Mapping):
        if "transforms" in pre:
            return _transforms(pre["transforms"])
        return [dict(pre)] if "_target_" in pre else []
    if isinstance(pre, list):
        out: list[dict[str, Any]] = []
        for item in pre:
            out += _transforms(item)
        return out
    return []


def _number(value: Any, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: {what} must be a literal number", code="ML201")
    return float(value)


def _preprocessing(pre: Any, path: Path) -> BundlePreprocessing:
    if pre is None:
        return BundlePreprocessing(source="default")
    fields: dict[str, Any] = {"source": "bundle", "intensity": "none"}
    ignored: list[str] = []
    for t in _transforms(pre):
        name = _transform_name(t.get("_target_", ""))
        if name == "Orientation":
            axcodes = t.get("axcodes")
            if not isinstance(axcodes, str) or len(axcodes) != 3:
                raise ConfigError(f"{path}: Orientation axcodes must be a literal code such as 'RAS'", code="ML201")
            fields["orientation"] = axcodes.upper()
        elif name == "Spacing":
            pixdim = t.get("pixdim")
            values = pixdim if isinstance(pixdim, list) else [pixdim] * 3
            if len(values) != 3:
                raise ConfigError(f"{path}: Spacing pixdim must give three numbers", code="ML201")
            nums = tuple(_number(v, "Spacing pixdim", path) for v in values)
            if any(v <= 0 for v in nums):
                raise ConfigError(f"{path}: Spacing pixdim must be positive", code="ML201")
            fields["pixdim"] = nums
        elif name == "ScaleIntensityRange":
            fields["intensity"] = "scale_range"
            for key in ("a_min", "a_max", "b_min", "b_max"):
                fields[key] = _number(t.get(key), f"ScaleIntensityRange {key}", path)
            if fields["a_max"] == fields["a_min"]:
                raise ConfigError(f"{path}: ScaleIntensityRange needs a_max != a_min", code="ML201")
            fields["clip"] = bool(t.get("clip", False))
        elif name == "NormalizeIntensity":
            fields["intensity"] = "normalize"
            fields["nonzero"] = bool(t.get("nonzero", False))
        elif name not in _IMPLIED:
            ignored.append(name)
    if ignored:
        log.info("bundle preprocessing: not applied by medlens: %s", ", ".join(ignored))
    return BundlePreprocessing(**fields, ignored=tuple(ignored))


def _multilabel(post: Any, channels: int) -> bool:
    if channels == 1:
        return True
    for t in _transforms(post):
        name = _transform_name(t.get("_target_", ""))
        if name == "Activations" and t.get("sigmoid") is True:
            return True
        if name == "AsDiscrete" and t.get("threshold") is not None and not t.get("argmax"):
            return True
    return False


def _roi(value: Any) -> tuple[int, int, int] | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return (value, value, value)
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) and v > 0 for v in value):
        return (value[0], value[1], value[2])
    return None


# ------------------------------------------------------------------------------------------------ prompts


class BundlePromptResolution(BaseModel):
    """What a prompt resolved to among a bundle's labels."""

    model_config = _FROZEN

    prompt: str = Field(description="The prompt as given.")
    label: str | None = Field(default=None, description="The bundle label it names, when exactly one.")
    matched: str | None = Field(default=None, description="The phrase that matched.")
    answer: str | None = Field(default=None, description="Why not, when no single label is named.")


_NON_WORD = re.compile(r"[^a-z0-9]+")


def _normalise(text: str) -> str:
    return " " + _NON_WORD.sub(" ", text.lower()).strip() + " "


def _label_phrases(label: str) -> set[str]:
    """The label's own name (underscores as spaces), plus the curated synonyms when it names a known structure."""
    from medlens.imaging.prompts import load_structures

    phrases = {_normalise(label)}
    key = _normalise(label)
    for s in load_structures().structures:
        if key in {_normalise(s.name), *(_normalise(x) for x in s.synonyms)}:
            phrases |= {_normalise(x) for x in s.synonyms} | {_normalise(s.name)}
    return {p for p in phrases if p.strip()}


def resolve_bundle_prompt(prompt: str, labels: Sequence[str]) -> BundlePromptResolution:
    """Resolve a free-text prompt to one of a bundle's labels (exact or synonym match, whole words).

    A label matches when its name (underscores and dashes read as spaces) or, for a label that names a structure of
    ``lexicon/structures.yaml``, one of that structure's synonyms appears in the prompt as whole words. A match
    inside a longer match does not count ("left lung" is not also "lung"). No label, or several: unsupported.
    """
    from medlens.imaging.prompts import UNSUPPORTED_ANSWER

    text = _normalise(prompt)
    hits: list[tuple[int, int, str, str]] = []
    for label in labels:
        for phrase in _label_phrases(label):
            start = text.find(phrase)
            while start >= 0:
                hits.append((start, start + len(phrase), label, phrase.strip()))
                start = text.find(phrase, start + 1)
    kept = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and o[1] - o[0] > h[1] - h[0] for o in hits)]
    names = {h[2] for h in kept}
    if len(names) != 1:
        answer = UNSUPPORTED_ANSWER
        if len(names) > 1:
            answer = f"the prompt names several bundle labels ({', '.join(sorted(names))}); ask for one at a time"
        else:
            answer = f"the bundle has no such label; {UNSUPPORTED_ANSWER}"
        return BundlePromptResolution(prompt=prompt, answer=answer)
    label = names.pop()
    matched = max((h for h in kept if h[2] == label), key=lambda h: h[1] - h[0])[3]
    return BundlePromptResolution(prompt=prompt, label=label, matched=matched)


# ------------------------------------------------------------------------------------------------ the segmenter


def _module(name: str) -> Any:
    """Import an optional module by name (typed ``Any``: torch and monai need not be installed for type checks)."""
    return importlib.import_module(name)


def _require() -> Any:
    """The torch module, after checking that torch and monai import; ML501 with the pip line otherwise."""
    try:
        torch = _module("torch")
        _module("monai")
    except ImportError as exc:
        raise MissingDependencyError(
            f"the monai backend needs torch and monai ({exc.name} is missing); install them with: {PIP_LINE}",
            code="ML501",
        ) from None
    return torch


class MonaiBundleSegmenter:
    """Segment volumes with a user-supplied MONAI bundle (see the module docstring for what is read and how).

    Args:
        bundle_dir: The bundle folder (``configs/``, ``models/``).
        device: torch device, e.g. ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
        roi_size: Sliding-window size (voxels along i, j, k, or one int for all); None takes the bundle's.
        sw_batch_size: Windows per forward pass.
        overlap: Overlap of neighbouring windows (fraction, 0 <= overlap < 1).

    Raises:
        MissingDependencyError: ML501 without torch/monai.
        InputError: ML108 missing folder/config/model file; ML109 unreadable model file.
        ConfigError: ML201 invalid bundle or arguments; ML202 unreadable config.
    """

    def __init__(
        self,
        bundle_dir: str | Path,
        *,
        device: str = "cpu",
        roi_size: int | Sequence[int] | None = None,
        sw_batch_size: int = 1,
        overlap: float = 0.25,
    ) -> None:
        root, config_path, metadata_path = _bundle_paths(bundle_dir)
        if sw_batch_size < 1:
            raise ConfigError(f"sw_batch_size must be >= 1, got {sw_batch_size}", code="ML201")
        if not 0 <= overlap < 1:
            raise ConfigError(f"overlap must be in [0, 1), got {overlap}", code="ML201")
        self._torch = _require()
        metadata = _read_metadata(metadata_path)
        labels = _channel_def(metadata, metadata_path)
        parser = _module("monai.bundle").ConfigParser()
        try:
            parser.read_config(str(config_path))
        except Exception as exc:  # monai raises json/yaml errors of several types
            raise ConfigError(
                f"{config_path}: cannot read the bundle config ({type(exc).__name__})", code="ML202"
            ) from exc

        def section(key: str) -> Any:
            if key not in parser:
                return None
            try:
                return _plain(parser.get_parsed_content(key, instantiate=False, eval_expr=False))
            except Exception as exc:  # an unresolvable @reference
                raise ConfigError(
                    f"{config_path}: cannot resolve '{key}' ({type(exc).__name__})", code="ML201"
                ) from exc

        preprocessing = _preprocessing(section("preprocessing"), config_path)
        network_def = section("network_def")
        inferer = section("inferer")
        roi = self._roi_size(roi_size, inferer, metadata)
        self.device = self._device(device)
        self.network, model_file, model_format = self._load_network(root, network_def, config_path)
        self.info = BundleInfo(
            path=str(root),
            name=str(metadata["name"]) if metadata.get("name") else None,
            version=str(metadata["version"]) if metadata.get("version") else None,
            labels=labels,
            multilabel=_multilabel(section("postprocessing"), len(labels)),
            model_file=str(model_file),
            model_format=model_format,
            roi_size=roi,
            sw_batch_size=sw_batch_size,
            overlap=overlap,
            device=str(self.device),
            preprocessing=preprocessing,
        )
        log.info(
            "MONAI bundle loaded: %d label(s), %s, roi %s, device %s",
            len(self.info.structure_labels),
            model_format,
            roi,
            self.device,
        )

    # -- set-up --------------------------------------------------------------------------------------------

    @property
    def labels(self) -> tuple[str, ...]:
        """The bundle's label names, background excluded."""
        return self.info.structure_labels

    @staticmethod
    def _roi_size(arg: int | Sequence[int] | None, inferer: Any, metadata: Mapping[str, Any]) -> tuple[int, int, int]:
        if arg is not None:
            roi = _roi(arg if isinstance(arg, int) else list(arg))
            if roi is None:
                raise ConfigError(f"roi_size must be a positive int or three positive ints, got {arg!r}", code="ML201")
            return roi
        if isinstance(inferer, Mapping):
            roi = _roi(inferer.get("roi_size"))
            if roi is not None:
                return roi
        inputs = (metadata.get("network_data_format") or {}).get("inputs") or {}
        for spec in inputs.values() if isinstance(inputs, Mapping) else ():
            roi = _roi(spec.get("spatial_shape")) if isinstance(spec, Mapping) else None
            if roi is not None:
                return roi
        return DEFAULT_ROI_SIZE

    def _device(self, device: str) -> Any:
        torch = self._torch
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"unknown torch device {device!r}; e.g. 'cpu', 'cuda', 'cuda:0'", code="ML201") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available; use 'cpu'", code="ML201")
        return dev

    def _load_network(self, root: Path, network_def: Any, config_path: Path) -> tuple[Any, Path, Any]:
        torch = self._torch
        pt, ts = root / "models" / "model.pt", root / "models" / "model.ts"
        if network_def is not None and pt.is_file():
            network = self._build_network(network_def, config_path)
            try:
                state = torch.load(str(pt), map_location="cpu", weights_only=True)
            except Exception as exc:  # pickle/zip errors of several types
                raise InputError(
                    f"not a readable PyTorch state dict ({type(exc).__name__})", code="ML109", source=str(pt)
                ) from exc
            if isinstance(state, Mapping) and len(state) == 1:
                inner = next(iter(state.values()))
                if isinstance(inner, Mapping) and next(iter(state)) in ("model", "state_dict", "network"):
                    state = inner
            try:
                network.load_state_dict(state, strict=True)
            except (RuntimeError, TypeError, AttributeError) as exc:
                raise ConfigError(
                    f"{pt}: the weights do not fit network_def ({type(exc).__name__}); check the bundle's "
                    "configs/inference.json",
                    code="ML201",
                ) from None
            return network.to(self.device).eval(), pt, "state_dict"
        if ts.is_file():
            try:
                # torch 2.13 deprecates TorchScript, which MONAI bundles still ship as model.ts: silence that notice.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    network = torch.jit.load(str(ts), map_location=self.device)
            except Exception as exc:  # TorchScript raises RuntimeError and others
                raise InputError(
                    f"not a readable TorchScript model ({type(exc).__name__})", code="ML109", source=str(ts)
                ) from exc
            return network.eval(), ts, "torchscript"
        if network_def is not None:
            raise InputError("the bundle has no models/model.pt (or models/model.ts)", code="ML108", source=str(pt))
        raise InputError(
            "the bundle has no models/model.ts, and no network_def + models/model.pt", code="ML108", source=str(ts)
        )

    @staticmethod
    def _build_network(network_def: Any, config_path: Path) -> Any:
        nets = _module("monai.networks.nets")
        refuse = (
            f"{config_path}: network_def must name a monai.networks.nets class with literal arguments (medlens never "
            "evaluates config expressions or imports other code); ship the network as TorchScript models/model.ts"
        )
        if not isinstance(network_def, Mapping) or _has_expression(network_def):
            raise ConfigError(refuse, code="ML201")
        target = str(network_def.get("_target_", ""))
        name = target.removeprefix("monai.networks.nets.")
        cls = getattr(nets, name, None) if "." not in name else None
        if not isinstance(cls, type):
            raise ConfigError(refuse, code="ML201")
        kwargs = {k: v for k, v in network_def.items() if not k.startswith("_")}
        if any(isinstance(v, Mapping) and "_target_" in v for v in kwargs.values()):
            raise ConfigError(refuse, code="ML201")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, AssertionError) as exc:
            raise ConfigError(
                f"{config_path}: network_def arguments rejected by {name} ({exc})", code="ML201"
            ) from None

    # -- inference -----------------------------------------------------------------------------------------

    def _intensity(self, x: Any) -> Any:
        p = self.info.preprocessing
        if p.intensity == "scale_range":
            a_min, a_max = p.a_min or 0.0, p.a_max if p.a_max is not None else 1.0
            b_min, b_max = p.b_min or 0.0, p.b_max if p.b_max is not None else 1.0
            x = (x - a_min) / (a_max - a_min) * (b_max - b_min) + b_min
            if p.clip:
                x = x.clamp(min(b_min, b_max), max(b_min, b_max))
        elif p.intensity == "normalize":
            values = x[x != 0] if p.nonzero else x
            if values.numel():
                mean, std = values.mean(), values.std(unbiased=False)
                scaled = (x - mean) / (std if float(std) > 0 else 1.0)
                x = self._torch.where(x != 0, scaled, x) if p.nonzero else scaled
        return x

    def segment(self, volume: Volume, labels: Sequence[str] | None = None) -> dict[str, npt.NDArray[np.bool_]]:
        """Masks of the bundle's labels, shaped and placed like ``volume.array``.

        Args:
            volume: The image (CT in HU, MR...), any orientation.
            labels: Label names to return (default: every label except background).

        Returns:
            Label name -> boolean mask indexed ``[k, j, i]`` like ``volume.array``.

        Raises:
            InputError: ML126 for a label the bundle does not have.
            ConfigError: ML201 when the network's output channels do not match channel_def.
        """
        torch = self._torch
        interpolate = torch.nn.functional.interpolate
        sliding_window_inference = _module("monai.inferers").sliding_window_inference

        wanted = list(self.labels if labels is None else labels)
        unknown = [w for w in wanted if w not in self.info.labels.values()]
        if unknown:
            raise InputError(
                f"the bundle has no label(s) {', '.join(unknown)}; available: {', '.join(self.labels)}", code="ML126"
            )
        info = self.info
        oriented = reorient(volume, info.preprocessing.orientation)
        native = tuple(int(n) for n in oriented.array.shape[::-1])  # (I, J, K)
        x = torch.from_numpy(np.ascontiguousarray(np.transpose(oriented.array, (2, 1, 0)), dtype=np.float32))
        x = x[None, None]
        if info.preprocessing.pixdim is not None:
            size = [
                max(1, round(n * s / p))
                for n, s, p in zip(native, oriented.spacing, info.preprocessing.pixdim, strict=True)
            ]
            if tuple(size) != native:
                x = interpolate(x, size=size, mode="trilinear", align_corners=False)
        x = self._intensity(x).to(self.device)
        with torch.inference_mode():
            logits = sliding_window_inference(
                x, list(info.roi_size), info.sw_batch_size, self.network, overlap=info.overlap, mode="constant"
            )
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        logits = logits.float()
        if int(logits.shape[1]) != len(info.labels):
            raise ConfigError(
                f"the network returns {int(logits.shape[1])} channel(s) but channel_def names {len(info.labels)}",
                code="ML201",
            )
        probs = torch.sigmoid(logits) if info.multilabel else torch.softmax(logits, dim=1)
        if tuple(int(n) for n in probs.shape[2:]) != native:
            probs = interpolate(probs, size=list(native), mode="trilinear", align_corners=False)
        probs = probs[0].cpu()
        if info.multilabel:
            chosen = (probs > 0.5).numpy()
        else:
            winner = probs.argmax(dim=0).numpy()
        out: dict[str, npt.NDArray[np.bool_]] = {}
        by_name = {name: ch for ch, name in info.labels.items()}
        for name in wanted:
            ch = by_name[name]
            mask_ijk = chosen[ch] if info.multilabel else winner == ch
            mask_oriented = oriented.with_array(np.ascontiguousarray(np.transpose(mask_ijk, (2, 1, 0))))
            back = reorient(mask_oriented, volume.orientation).array
            if back.shape != volume.array.shape:  # pragma: no cover - reorient is an exact permutation
                raise InputError("internal: mask geometry does not match the volume", code="ML125")
            out[name] = back.astype(bool, copy=False)
        return out
