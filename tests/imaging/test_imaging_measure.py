"""Measurements, first-order radiomics and QC flags."""

from __future__ import annotations

import numpy as np
import pytest

from medlens.core.errors import InputError
from medlens.imaging.measure import first_order_features, measure_structure, shape_features
from medlens.imaging.phantom import ct_phantom
from medlens.imaging.qc import check_mask
from medlens.imaging.volume import Volume


def _box_volume() -> tuple[Volume, np.ndarray]:
    hu = np.full((10, 12, 14), -1000, dtype=np.int16)
    mask = np.zeros(hu.shape, dtype=bool)
    mask[2:6, 3:8, 4:10] = True  # 4 x 5 x 6 voxels
    hu[mask] = 50
    hu[2, 3, 4] = 150
    return Volume(array=hu, spacing=(2.0, 3.0, 4.0), modality="CT"), mask


def test_volume_is_voxel_count_times_voxel_size() -> None:
    vol, mask = _box_volume()
    m = measure_structure(vol, mask, "box")
    assert m.voxel_count == 120
    assert m.volume_ml == pytest.approx(120 * 24 / 1000)


def test_extents_are_in_mm_along_i_j_k() -> None:
    vol, mask = _box_volume()
    assert measure_structure(vol, mask, "box").extent_mm == (12.0, 15.0, 16.0)


def test_hu_statistics_inside_the_mask() -> None:
    vol, mask = _box_volume()
    stats = measure_structure(vol, mask, "box").intensity
    assert stats is not None
    assert (stats.min, stats.max, stats.median) == (50.0, 150.0, 50.0)
    assert stats.mean == pytest.approx(50 + 100 / 120)


def test_empty_mask_measures_zero_without_statistics() -> None:
    vol, mask = _box_volume()
    m = measure_structure(vol, np.zeros_like(mask), "box")
    assert (m.voxel_count, m.volume_ml, m.intensity) == (0, 0.0, None)


def test_mask_of_another_shape_is_ml125() -> None:
    vol, _ = _box_volume()
    with pytest.raises(InputError) as err:
        measure_structure(vol, np.zeros((2, 2, 2), dtype=bool), "box")
    assert err.value.code == "ML125"


@pytest.mark.parametrize(
    ("values", "feature", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], "Mean", 2.5),
        ([1.0, 2.0, 3.0, 4.0], "Variance", 1.25),
        ([1.0, 2.0, 3.0, 4.0], "Energy", 30.0),
        ([1.0, 2.0, 3.0, 4.0], "RootMeanSquared", np.sqrt(7.5)),
        ([1.0, 2.0, 3.0, 4.0], "MeanAbsoluteDeviation", 1.0),
        ([1.0, 2.0, 3.0, 4.0], "Skewness", 0.0),
        ([1.0, 2.0, 3.0, 4.0], "Kurtosis", 1.64),
        ([0.0, 0.0, 30.0, 30.0], "Entropy", 1.0),  # two bins of width 25, half each
        ([0.0, 0.0, 30.0, 30.0], "Uniformity", 0.5),
        ([0.0, 5.0, 10.0, 20.0], "Entropy", 0.0),  # all in one bin
    ],
)
def test_first_order_feature_values(values: list[float], feature: str, expected: float) -> None:
    assert first_order_features(values)[feature] == pytest.approx(expected, abs=1e-9)


def test_voxel_array_shift_changes_energy_only() -> None:
    plain = first_order_features([1.0, 2.0])
    shifted = first_order_features([1.0, 2.0], voxel_array_shift=10.0)
    assert shifted["Energy"] == pytest.approx(11.0**2 + 12.0**2)
    assert shifted["Mean"] == plain["Mean"]


def test_shape_axes_of_a_line_are_elongated() -> None:
    vol, _ = _box_volume()
    mask = np.zeros(vol.shape, dtype=bool)
    mask[5, 6, 2:12] = True
    f = shape_features(mask, vol)
    assert f["VoxelVolume"] == pytest.approx(10 * 24.0)
    assert f["Elongation"] == pytest.approx(0.0, abs=1e-9)
    # Ten voxel centres 2 mm apart: population variance 33 mm^2 -> 4 * sqrt(33).
    assert f["MajorAxisLength"] == pytest.approx(4 * np.sqrt(33.0))


def test_qc_passes_a_lung_inside_the_volume() -> None:
    vol, truth = ct_phantom()
    report = check_mask(vol, truth["lung_left"], "lung_left")
    assert report.ok
    assert report.flags == ()


def test_qc_flags_an_empty_mask() -> None:
    vol, truth = ct_phantom()
    assert check_mask(vol, np.zeros_like(truth["body"]), "body").flags == ("empty",)


def test_qc_flags_a_mask_touching_the_border_and_names_the_face() -> None:
    vol, truth = ct_phantom()
    mask = truth["lung_left"].copy()
    mask[0, 40:45, 80:85] = True
    report = check_mask(vol, mask, "lung_left")
    assert "touches_border" in report.flags
    assert report.border_faces == ("k_first",)


@pytest.mark.parametrize(("slices", "flagged"), [(40, False), (80, True)])
def test_qc_flags_a_left_lung_above_its_plausible_volume(slices: int, flagged: bool) -> None:
    # 100 x 100 x slices voxels of 8 mm^3: 3.2 L (plausible, bound 6 L) or 6.4 L (not).
    vol = Volume(array=np.full((slices, 100, 100), -800, dtype=np.int16), spacing=(2.0, 2.0, 2.0), modality="CT")
    flags = check_mask(vol, np.ones(vol.shape, dtype=bool), "lung_left").flags
    assert ("volume_above_plausible" in flags) is flagged


def test_qc_flags_values_that_are_not_hounsfield_units() -> None:
    vol = Volume(array=np.full((4, 4, 4), 1000, dtype=np.int16), spacing=(1.0, 1.0, 1.0), modality="CT")
    assert "not_hu_like" in check_mask(vol, np.ones(vol.shape, dtype=bool), "body").flags
