"""The ``monai`` backend on tiny bundles built in tmp_path: random-weight UNets (plumbing only, no medical claim)
and a TorchScript threshold model whose output is known, so geometry can be checked voxel by voxel."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medlens.core.errors import ConfigError, InputError, MissingDependencyError
from medlens.imaging.monai_backend import MonaiBundleSegmenter, read_bundle_labels, resolve_bundle_prompt
from medlens.imaging.phantom import ct_phantom
from medlens.imaging.prompts import UNSUPPORTED_ANSWER
from medlens.imaging.volume import Volume

if os.environ.get("MEDLENS_REQUIRE_TORCH") != "1":
    pytest.importorskip("torch")
    pytest.importorskip("monai")
import torch
from monai.networks.nets import UNet

UNET = {
    "_target_": "UNet",
    "spatial_dims": 3,
    "in_channels": 1,
    "out_channels": 3,
    "channels": [4, 8],
    "strides": [2],
    "num_res_units": 0,
}
LABELS = {"0": "background", "1": "lung_left", "2": "spleen"}
SCALE_HU = {
    "_target_": "ScaleIntensityRanged",
    "keys": "image",
    "a_min": -1000,
    "a_max": 1000,
    "b_min": 0,
    "b_max": 1,
    "clip": True,
}


def _write_bundle(
    root: Path,
    *,
    channel_def: dict[str, str] | None = None,
    transforms: list[dict[str, Any]] | None = None,
    roi: list[int] | None = None,
    network_def: dict[str, Any] | None = None,
    seed: int = 0,
    torchscript: torch.nn.Module | None = None,
) -> Path:
    (root / "configs").mkdir(parents=True)
    (root / "models").mkdir()
    config: dict[str, Any] = {
        "image_key": "image",
        "roi": roi or [16, 16, 16],
        "preprocessing": {
            "_target_": "Compose",
            "transforms": [
                {"_target_": "LoadImaged", "keys": "@image_key"},
                {"_target_": "EnsureChannelFirstd", "keys": "@image_key"},
                *(transforms if transforms is not None else [SCALE_HU]),
                {"_target_": "EnsureTyped", "keys": "@image_key", "dtype": "$torch.float32"},
            ],
        },
        "inferer": {"_target_": "SlidingWindowInferer", "roi_size": "@roi", "sw_batch_size": 1},
    }
    if torchscript is not None:
        with warnings.catch_warnings():  # torch 2.13 deprecates jit.script; bundles still ship TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.script(torchscript).save(str(root / "models" / "model.ts"))
    else:
        config["network_def"] = network_def or UNET
        torch.manual_seed(seed)
        net = UNet(**{k: v for k, v in UNET.items() if k != "_target_"})
        torch.save(net.state_dict(), root / "models" / "model.pt")
    (root / "configs" / "inference.json").write_text(json.dumps(config), encoding="utf-8")
    metadata = {
        "name": "tiny test bundle",
        "version": "0.0.1",
        "network_data_format": {
            "inputs": {"image": {"type": "image", "num_channels": 1, "spatial_shape": [16, 16, 16]}},
            "outputs": {"pred": {"type": "image", "num_channels": 3, "channel_def": channel_def or LABELS}},
        },
    }
    (root / "configs" / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    return root


class LowDensity(torch.nn.Module):
    """Channel 1 wins where the scaled intensity is below 0.25 (HU < -500 with SCALE_HU): a known answer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x - 0.25, 0.25 - x], dim=1) * 10.0


@pytest.fixture(scope="module")
def small() -> tuple[Volume, dict[str, np.ndarray]]:
    return ct_phantom((20, 48, 64), (4.0, 4.0, 6.0))


@pytest.fixture
def unet_bundle(tmp_path: Path) -> Path:
    return _write_bundle(tmp_path / "bundle")


def _rotated(volume: Volume, flips: tuple[int, ...], permute: bool) -> Volume:
    """The same patient image stored with other voxel axes (flipped/permuted), geometry updated to match."""
    array, direction, origin = volume.array, volume.direction.copy(), np.asarray(volume.origin, dtype=float)
    spacing = list(volume.spacing)
    for n in flips:  # voxel axis n (i=0, j=1, k=2) lives at array axis 2 - n
        origin = origin + direction[:, n] * spacing[n] * (volume.shape[2 - n] - 1)
        direction[:, n] = -direction[:, n]
        array = np.flip(array, axis=2 - n)
    if permute:  # swap voxel axes i and j
        array = np.swapaxes(array, 1, 2)
        direction = direction[:, [1, 0, 2]]
        spacing = [spacing[1], spacing[0], spacing[2]]
    return Volume(
        array=np.ascontiguousarray(array),
        spacing=(spacing[0], spacing[1], spacing[2]),
        origin=(float(origin[0]), float(origin[1]), float(origin[2])),
        direction=direction,
        modality="CT",
    )


def test_masks_have_the_volume_shape_and_the_bundle_labels(unet_bundle: Path, small: Any) -> None:
    volume, _ = small
    masks = MonaiBundleSegmenter(unet_bundle).segment(volume)
    assert list(masks) == ["lung_left", "spleen"]
    assert all(m.shape == volume.shape and m.dtype == np.bool_ for m in masks.values())


def test_argmax_labels_do_not_overlap(unet_bundle: Path, small: Any) -> None:
    masks = MonaiBundleSegmenter(unet_bundle).segment(small[0])
    assert not (masks["lung_left"] & masks["spleen"]).any()


def test_labels_exclude_background(unet_bundle: Path) -> None:
    assert MonaiBundleSegmenter(unet_bundle).labels == ("lung_left", "spleen")
    assert read_bundle_labels(unet_bundle) == ("lung_left", "spleen")


def test_same_seed_gives_identical_masks(tmp_path: Path, small: Any) -> None:
    a = MonaiBundleSegmenter(_write_bundle(tmp_path / "a", seed=7)).segment(small[0])
    b = MonaiBundleSegmenter(_write_bundle(tmp_path / "b", seed=7)).segment(small[0])
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_bundle_preprocessing_is_read(unet_bundle: Path) -> None:
    info = MonaiBundleSegmenter(unet_bundle).info
    assert info.preprocessing.source == "bundle"
    assert (info.preprocessing.intensity, info.preprocessing.a_min, info.preprocessing.clip) == (
        "scale_range",
        -1000,
        True,
    )
    assert info.roi_size == (16, 16, 16)


def test_defaults_apply_without_preprocessing(tmp_path: Path) -> None:
    root = _write_bundle(tmp_path / "b")
    config = json.loads((root / "configs" / "inference.json").read_text())
    del config["preprocessing"], config["inferer"]
    (root / "configs" / "inference.json").write_text(json.dumps(config))
    info = MonaiBundleSegmenter(root).info
    assert (info.preprocessing.source, info.preprocessing.orientation, info.preprocessing.intensity) == (
        "default",
        "RAS",
        "normalize",
    )
    assert info.roi_size == (16, 16, 16)  # from metadata spatial_shape


def _count_windows(segmenter: MonaiBundleSegmenter) -> list[int]:
    calls: list[int] = []
    segmenter.network.register_forward_hook(lambda _m, inputs, _o: calls.append(int(inputs[0].shape[0])))
    return calls


def test_sliding_window_when_volume_exceeds_roi(unet_bundle: Path, small: Any) -> None:
    segmenter = MonaiBundleSegmenter(unet_bundle, roi_size=16)
    calls = _count_windows(segmenter)
    segmenter.segment(small[0])  # 64 x 48 x 20 voxels, roi 16: several windows
    assert len(calls) > 1


def test_one_window_when_volume_fits_roi(unet_bundle: Path) -> None:
    volume, _ = ct_phantom((8, 12, 16), (16.0, 16.0, 24.0))
    segmenter = MonaiBundleSegmenter(unet_bundle, roi_size=16)
    calls = _count_windows(segmenter)
    masks = segmenter.segment(volume)
    assert len(calls) == 1
    assert masks["spleen"].shape == volume.shape


def test_sw_batch_size_batches_windows(unet_bundle: Path, small: Any) -> None:
    segmenter = MonaiBundleSegmenter(unet_bundle, roi_size=16, sw_batch_size=4)
    calls = _count_windows(segmenter)
    segmenter.segment(small[0])
    assert max(calls) == 4


@pytest.mark.parametrize(
    ("flips", "permute"),
    [((), False), ((0, 1), False), ((2,), False), ((0,), True)],
    ids=["LPS", "RAS", "LPI", "permuted"],
)
def test_known_model_maps_back_to_input_voxels(
    tmp_path: Path, small: Any, flips: tuple[int, ...], permute: bool
) -> None:
    volume = _rotated(small[0], flips, permute)
    root = _write_bundle(
        tmp_path / "ts",
        torchscript=LowDensity(),
        channel_def={"0": "background", "1": "air"},
        transforms=[{"_target_": "Orientationd", "keys": "image", "axcodes": "RAS"}, SCALE_HU],
    )
    masks = MonaiBundleSegmenter(root).segment(volume)
    assert np.array_equal(masks["air"], volume.array < -500)


def test_resampled_spacing_maps_back_close_to_input(tmp_path: Path, small: Any) -> None:
    volume, _ = small
    transforms = [{"_target_": "Spacingd", "keys": "image", "pixdim": [6.0, 6.0, 9.0]}, SCALE_HU]
    root = _write_bundle(
        tmp_path / "ts", torchscript=LowDensity(), channel_def={"0": "background", "1": "air"}, transforms=transforms
    )
    mask = MonaiBundleSegmenter(root).segment(volume)["air"]
    truth = volume.array < -500
    dice = 2 * (mask & truth).sum() / (mask.sum() + truth.sum())
    assert dice > 0.95


def test_requested_labels_only(unet_bundle: Path, small: Any) -> None:
    assert list(MonaiBundleSegmenter(unet_bundle).segment(small[0], ["spleen"])) == ["spleen"]


def test_unknown_label_is_ml126(unet_bundle: Path, small: Any) -> None:
    with pytest.raises(InputError) as err:
        MonaiBundleSegmenter(unet_bundle).segment(small[0], ["liver"])
    assert err.value.code == "ML126"


# -- errors --------------------------------------------------------------------------------------------------------


def test_missing_bundle_folder_is_ml108(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        MonaiBundleSegmenter(tmp_path / "nope")
    assert err.value.code == "ML108"
    assert "nope" in str(err.value)


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("configs/inference.json", "inference"),
        ("configs/metadata.json", "metadata.json"),
        ("models/model.pt", "model.pt"),
    ],
)
def test_missing_bundle_file_is_ml108_naming_it(unet_bundle: Path, remove: str, named: str) -> None:
    (unet_bundle / remove).unlink()
    with pytest.raises(InputError) as err:
        MonaiBundleSegmenter(unet_bundle)
    assert err.value.code == "ML108"
    assert named in str(err.value)


def test_unreadable_config_is_ml202(unet_bundle: Path) -> None:
    (unet_bundle / "configs" / "inference.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        MonaiBundleSegmenter(unet_bundle)
    assert err.value.code == "ML202"


def test_missing_channel_def_is_ml201(unet_bundle: Path) -> None:
    (unet_bundle / "configs" / "metadata.json").write_text(json.dumps({"network_data_format": {}}))
    with pytest.raises(ConfigError) as err:
        MonaiBundleSegmenter(unet_bundle)
    assert err.value.code == "ML201"


@pytest.mark.parametrize(
    "network_def",
    [
        {**UNET, "_target_": "os.system"},
        {**UNET, "channels": "$[4, 8]"},
        {**UNET, "_target_": "$monai.networks.nets.UNet"},
    ],
    ids=["foreign-target", "expression-argument", "expression-target"],
)
def test_network_def_is_never_evaluated(tmp_path: Path, network_def: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as err:
        MonaiBundleSegmenter(_write_bundle(tmp_path / "b", network_def=network_def))
    assert err.value.code == "ML201"


def test_weights_not_matching_network_is_ml201(tmp_path: Path) -> None:
    root = _write_bundle(tmp_path / "b", network_def={**UNET, "channels": [8, 16]})
    with pytest.raises(ConfigError) as err:
        MonaiBundleSegmenter(root)
    assert err.value.code == "ML201"


def test_corrupt_weights_are_ml109(unet_bundle: Path) -> None:
    (unet_bundle / "models" / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError) as err:
        MonaiBundleSegmenter(unet_bundle)
    assert err.value.code == "ML109"


def test_channel_count_mismatch_is_ml201(tmp_path: Path, small: Any) -> None:
    root = _write_bundle(tmp_path / "b", channel_def={"0": "background", "1": "a", "2": "b", "3": "c"})
    with pytest.raises(ConfigError) as err:
        MonaiBundleSegmenter(root).segment(small[0])
    assert err.value.code == "ML201"


def test_unavailable_cuda_is_ml201(unet_bundle: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError) as err:
        MonaiBundleSegmenter(unet_bundle, device="cuda")
    assert err.value.code == "ML201"


def test_missing_torch_is_ml501_with_pip_line(unet_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import medlens.imaging.monai_backend as backend

    real: Callable[[str], Any] = backend._module

    def fake(name: str) -> Any:
        if name == "torch":
            raise ImportError("no torch", name="torch")
        return real(name)

    monkeypatch.setattr(backend, "_module", fake)
    with pytest.raises(MissingDependencyError) as err:
        MonaiBundleSegmenter(unet_bundle)
    assert err.value.code == "ML501"
    assert "pip install torch==2.13.0 monai" in str(err.value)


# -- prompts -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "label"),
    [
        ("spleen", "spleen"),
        ("segment the spleen", "spleen"),
        ("lung_left", "lung_left"),
        ("left lung", "lung_left"),  # curated synonym of the structure lung_left
        ("the liver", None),
        ("lungs", None),  # 'lungs' is another structure, not this bundle's label
        ("left lung and spleen", None),
    ],
)
def test_bundle_prompt_table(prompt: str, label: str | None) -> None:
    assert resolve_bundle_prompt(prompt, ["lung_left", "spleen"]).label == label


def test_unknown_bundle_prompt_gets_unsupported_answer() -> None:
    found = resolve_bundle_prompt("segment the liver", ["spleen"])
    assert found.answer is not None
    assert UNSUPPORTED_ANSWER in found.answer
