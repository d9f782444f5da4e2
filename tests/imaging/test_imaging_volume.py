"""Volume readers: NIfTI/NRRD geometry, LPS<->RAS, DICOM series assembly, HU rescale and defects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import nrrd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from medlens.core.errors import InputError
from medlens.imaging.phantom import ct_phantom
from medlens.imaging.volume import Volume, list_dicom_series, load_volume, orientation_code, reorient

ROWS, COLS = 8, 6


def _write_slice(
    path: Path,
    hu: np.ndarray,
    *,
    z: float,
    series_uid: str,
    instance: int,
    sop_class: str = CTImageStorage,
    intercept: float = -1024.0,
    slope: float = 1.0,
    syntax: str = ExplicitVRLittleEndian,
) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [-10.0, -20.0, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.75]  # row spacing (along j), column spacing (along i)
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    stored = np.round((hu - intercept) / slope).astype(np.uint16)
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)


def _slice_values(n: int) -> np.ndarray:
    return (np.arange(ROWS * COLS).reshape(ROWS, COLS) * 10 - 1000 + n).astype(np.float32)


def _series(folder: Path, zs: list[float], *, series_uid: str = "1.2.3.4", **kw: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, z in enumerate(zs):
        _write_slice(
            folder / f"s{series_uid}_{n}.dcm", _slice_values(n), z=z, series_uid=series_uid, instance=n + 1, **kw
        )


def test_nifti_ras_affine_becomes_lps_geometry(tmp_path: Path) -> None:
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)  # nibabel order (i, j, k)
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [10.0, 20.0, 30.0]
    nib.save(nib.Nifti1Image(data, affine), str(tmp_path / "a.nii.gz"))
    vol = load_volume(tmp_path / "a.nii.gz")
    assert vol.shape == (4, 3, 2)
    assert vol.spacing == (2.0, 3.0, 4.0)
    assert vol.origin == (-10.0, -20.0, 30.0)
    assert vol.orientation == "RAS"
    assert vol.array[3, 2, 1] == data[1, 2, 3]
    np.testing.assert_allclose(vol.affine_ras(), affine)


def test_reorient_keeps_each_voxel_at_its_world_position() -> None:
    vol, _ = ct_phantom(shape=(10, 12, 14))
    ras = reorient(vol, "RAS")
    assert ras.orientation == "RAS"
    ijk = np.array([3, 5, 7])
    world = vol.index_to_lps(ijk)
    back = np.linalg.solve(ras.direction * np.asarray(ras.spacing), world - np.asarray(ras.origin))
    i, j, k = np.round(back).astype(int)
    assert ras.array[k, j, i] == vol.array[7, 5, 3]
    assert np.array_equal(reorient(ras, "LPS").array, vol.array)


def test_invalid_orientation_code_is_ml125() -> None:
    vol, _ = ct_phantom(shape=(4, 4, 4))
    with pytest.raises(InputError) as err:
        reorient(vol, "LLS")
    assert err.value.code == "ML125"


@pytest.mark.parametrize(
    ("direction", "code"),
    [(np.eye(3), "LPS"), (np.diag([-1.0, -1.0, 1.0]), "RAS"), (np.diag([1.0, -1.0, 1.0]), "LAS")],
)
def test_orientation_code_names_where_axes_point(direction: np.ndarray, code: str) -> None:
    assert orientation_code(direction) == code


def test_nrrd_ras_space_is_converted_to_lps(tmp_path: Path) -> None:
    data = np.zeros((4, 3, 2), dtype=np.int16)  # (i, j, k) as pynrrd's Fortran order
    data[1, 2, 0] = 7
    header = {
        "space": "right-anterior-superior",
        "space directions": np.diag([1.5, 2.0, 3.0]),
        "space origin": np.array([5.0, 6.0, 7.0]),
    }
    nrrd.write(str(tmp_path / "a.nrrd"), data, header, index_order="F")
    vol = load_volume(tmp_path / "a.nrrd")
    assert vol.orientation == "RAS"
    assert vol.origin == (-5.0, -6.0, 7.0)
    assert vol.array[0, 2, 1] == 7


def test_dicom_series_is_rescaled_to_hu_and_sorted_by_position(tmp_path: Path) -> None:
    _series(tmp_path, [30.0, 0.0, 10.0, 20.0])  # written out of order
    vol = load_volume(tmp_path)
    assert vol.shape == (4, ROWS, COLS)
    assert vol.spacing == (0.75, 0.5, 10.0)
    assert vol.origin == (-10.0, -20.0, 0.0)
    assert vol.orientation == "LPS"
    assert vol.modality == "CT"
    # File n holds values offset by n; position order is z = 0, 10, 20, 30 -> files 1, 2, 3, 0.
    np.testing.assert_array_equal(vol.array[0], _slice_values(1))
    np.testing.assert_array_equal(vol.array[3], _slice_values(0))
    assert vol.array.min() == -1000.0


def test_dicom_rescale_slope_is_applied(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 1.0], slope=2.0, intercept=-2048.0)
    vol = load_volume(tmp_path)
    np.testing.assert_array_equal(vol.array[0], _slice_values(0))


def test_blank_sop_class_uid_is_read_and_flagged(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0], sop_class="")
    vol = load_volume(tmp_path)
    assert "blank_sop_class_uid" in vol.flags
    assert vol.meta["sop_class_uid"] == CTImageStorage


def test_mixed_series_without_choice_is_ml121_listing_them(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0], series_uid="1.2.3.4")
    _series(tmp_path, [0.0, 5.0, 10.0], series_uid="1.2.3.5")
    with pytest.raises(InputError) as err:
        load_volume(tmp_path)
    assert err.value.code == "ML121"
    assert "1.2.3.4" in str(err.value)
    assert "1.2.3.5" in str(err.value)
    assert list_dicom_series(tmp_path) == {"1.2.3.4": 2, "1.2.3.5": 3}


def test_mixed_series_with_choice_reads_that_series(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0], series_uid="1.2.3.4")
    _series(tmp_path, [0.0, 5.0, 10.0], series_uid="1.2.3.5")
    assert load_volume(tmp_path, series_uid="1.2.3.5").shape == (3, ROWS, COLS)


def test_missing_slice_gap_is_ml123(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0, 4.0, 8.0, 10.0])
    with pytest.raises(InputError) as err:
        load_volume(tmp_path)
    assert err.value.code == "ML123"


def test_small_spacing_jitter_is_flagged_not_refused(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0, 4.1, 6.0, 8.0])
    vol = load_volume(tmp_path)
    assert "inconsistent_slice_spacing" in vol.flags
    assert vol.spacing[2] == pytest.approx(2.0)


def test_duplicate_positions_are_ml122(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0, 2.0, 4.0])
    with pytest.raises(InputError) as err:
        load_volume(tmp_path)
    assert err.value.code == "ML122"


def test_undecodable_transfer_syntax_is_ml124_naming_the_file(tmp_path: Path) -> None:
    _series(tmp_path, [0.0, 2.0])
    path = sorted(tmp_path.iterdir())[0]
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 video: no pydicom decoder
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InputError) as err:
        load_volume(tmp_path)
    assert err.value.code == "ML124"
    assert path.name in str(err.value)


def test_folder_without_dicom_is_ml120(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(InputError) as err:
        load_volume(tmp_path)
    assert err.value.code == "ML120"


@pytest.mark.parametrize(("name", "code"), [("missing.nii.gz", "ML108"), ("image.png", "ML109")])
def test_bad_paths_have_coded_errors(tmp_path: Path, name: str, code: str) -> None:
    if name.endswith(".png"):
        (tmp_path / name).write_bytes(b"\x89PNG....")
    with pytest.raises(InputError) as err:
        load_volume(tmp_path / name)
    assert err.value.code == code


def test_volume_rejects_non_3d_array() -> None:
    with pytest.raises(InputError) as err:
        Volume(array=np.zeros((2, 2)), spacing=(1.0, 1.0, 1.0))
    assert err.value.code == "ML125"
