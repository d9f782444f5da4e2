"""HU engine on the synthetic phantom: exact masks, patient-side split independent of orientation, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medlens.core.errors import InputError
from medlens.imaging.phantom import ct_phantom
from medlens.imaging.segment_hu import HU_STRUCTURES, segment_ct, split_left_right
from medlens.imaging.volume import Volume, load_volume, reorient
from medlens.imaging.writers import write_mask_nifti


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.fixture(scope="module")
def phantom() -> tuple[Volume, dict[str, np.ndarray], dict[str, np.ndarray]]:
    vol, truth = ct_phantom()
    return vol, truth, segment_ct(vol)


@pytest.mark.parametrize("structure", ["body", "fat", "lungs", "lung_left", "lung_right", "bone"])
def test_phantom_structure_is_segmented_exactly(phantom: tuple, structure: str) -> None:
    _, truth, masks = phantom
    assert _dice(masks[structure], truth[structure]) == 1.0


def test_bowel_gas_is_not_lung(phantom: tuple) -> None:
    _, truth, masks = phantom
    assert truth["gas"].any()
    assert not (masks["lungs"] & truth["gas"]).any()


def test_all_structures_are_returned(phantom: tuple) -> None:
    _, _, masks = phantom
    assert set(HU_STRUCTURES) <= set(masks)
    assert not masks["metal"].any()


@pytest.mark.parametrize("orientation", ["RAS", "LAS", "RPI", "SAR"])
def test_flipped_direction_gives_the_same_physical_left_lung(phantom: tuple, orientation: str) -> None:
    vol, _, masks = phantom
    moved = reorient(vol, orientation)
    got = segment_ct(moved)["lung_left"]
    assert np.array_equal(reorient(moved.with_array(got), "LPS").array, masks["lung_left"])


def test_left_lung_survives_a_nifti_round_trip(tmp_path: Path, phantom: tuple) -> None:
    vol, truth, _ = phantom
    ras = reorient(vol, "RAS")
    write_mask_nifti(ras.array, ras, tmp_path / "ct.nii.gz")
    loaded = load_volume(tmp_path / "ct.nii.gz")
    assert loaded.orientation == "RAS"
    left = segment_ct(loaded)["lung_left"]
    assert np.array_equal(reorient(loaded.with_array(left), "LPS").array, truth["lung_left"])


def test_touching_lungs_are_split_by_side() -> None:
    vol, truth = ct_phantom()
    lungs = truth["lungs"].copy()
    # Bridge the two lungs across the midline (an anterior junction line).
    kc = vol.shape[0] // 2 + 3
    jc = vol.shape[1] // 2
    lungs[kc - 1 : kc + 2, jc - 2 : jc + 2, :] |= truth["body"][kc - 1 : kc + 2, jc - 2 : jc + 2, :] & (
        np.abs(np.arange(vol.shape[2]) - (vol.shape[2] - 1) / 2.0) < 20
    )
    left, right = split_left_right(lungs, truth["body"], vol)
    assert _dice(left, truth["lung_left"]) > 0.97
    assert _dice(right, truth["lung_right"]) > 0.97
    assert not (left & right).any()


def test_mr_volume_is_refused_with_ml126() -> None:
    vol, _ = ct_phantom(shape=(8, 16, 16))
    mr = Volume(array=vol.array, spacing=vol.spacing, modality="MR")
    with pytest.raises(InputError) as err:
        segment_ct(mr)
    assert err.value.code == "ML126"


def test_unknown_structure_is_refused_with_ml126() -> None:
    vol, _ = ct_phantom(shape=(8, 16, 16))
    with pytest.raises(InputError) as err:
        segment_ct(vol, ["liver"])
    assert err.value.code == "ML126"


def test_metal_above_threshold_is_found() -> None:
    vol, truth = ct_phantom()
    hu = vol.array.copy()
    spot = np.zeros_like(truth["bone"])
    spot[20, 48, 60:63] = True
    hu[spot] = 3071
    masks = segment_ct(vol.with_array(hu), ["metal"])
    assert np.array_equal(masks["metal"], spot)


def test_air_only_volume_gives_empty_masks() -> None:
    vol = Volume(array=np.full((6, 10, 10), -1000, dtype=np.int16), spacing=(2.0, 2.0, 2.0), modality="CT")
    masks = segment_ct(vol)
    assert not masks["body"].any()
    assert not masks["lung_left"].any()
