"""NIfTI mask and PNG overlay writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medlens.core.errors import InputError
from medlens.imaging.phantom import ct_phantom
from medlens.imaging.volume import load_volume, reorient
from medlens.imaging.writers import label_map, render_overlay, write_mask_nifti, write_overlay_png


@pytest.mark.parametrize("orientation", ["LPS", "RAS"])
def test_nifti_mask_round_trips_with_geometry(tmp_path: Path, orientation: str) -> None:
    lps, truth = ct_phantom(shape=(12, 20, 24))
    vol = reorient(lps, orientation)
    mask = reorient(lps.with_array(truth["body"]), orientation).array
    write_mask_nifti(mask, vol, tmp_path / "m.nii.gz")
    back = load_volume(tmp_path / "m.nii.gz")
    assert np.array_equal(back.array.astype(bool), mask)
    np.testing.assert_allclose(back.affine_lps(), vol.affine_lps(), atol=1e-5)


def test_label_map_numbers_structures_in_order() -> None:
    a = np.zeros((2, 2, 2), dtype=bool)
    b = a.copy()
    a[0], b[1] = True, True
    labels, names = label_map({"lungs": a, "bone": b})
    assert names == {1: "lungs", 2: "bone"}
    assert labels[0].max() == 1
    assert labels[1].min() == 2


def test_mask_of_wrong_shape_is_ml125(tmp_path: Path) -> None:
    vol, _ = ct_phantom(shape=(4, 6, 6))
    with pytest.raises(InputError) as err:
        write_mask_nifti(np.zeros((2, 2, 2), dtype=bool), vol, tmp_path / "m.nii.gz")
    assert err.value.code == "ML125"


def test_overlay_colours_only_masked_pixels() -> None:
    vol, truth = ct_phantom(shape=(12, 20, 24))
    rgb = render_overlay(vol, {"bone": truth["bone"]}, slice_index=6, alpha=1.0)
    assert rgb.shape == (20, 24, 3)
    assert (rgb[truth["bone"][6]] == 255).all()
    assert (rgb[~truth["body"][6]] == 0).all()  # air is black in the default soft-tissue window


def test_overlay_png_is_written_with_square_pixels(tmp_path: Path) -> None:
    vol, truth = ct_phantom(shape=(12, 20, 24), spacing=(1.0, 2.0, 3.0))
    path = write_overlay_png(vol, {"lungs": truth["lungs"]}, tmp_path / "o.png")
    with Image.open(path) as img:
        assert img.size == (24, 40)
