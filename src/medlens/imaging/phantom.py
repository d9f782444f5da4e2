"""A synthetic CT phantom with known structures, for tests, demos and checking the HU engine.

Geometry is LPS (``direction`` = identity): voxel axis ``i`` runs towards the patient's left, ``j`` posterior,
``k`` superior. The phantom is an elliptic-cylinder body of soft tissue (40 HU) with a fat shell (-100 HU), two lung
ellipsoids (-850 HU) at x = -/+ 45 mm (right/left), a spine cylinder of bone (700 HU) behind them, and a small
bowel-gas pocket (-1000 HU) low in the abdomen, all in air (-1000 HU). Values are synthetic; no patient data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from medlens.imaging.volume import Volume

__all__ = ["ct_phantom", "write_dicom_series"]


def ct_phantom(
    shape: tuple[int, int, int] = (40, 96, 128),
    spacing: tuple[float, float, float] = (2.0, 2.0, 3.0),
) -> tuple[Volume, dict[str, npt.NDArray[np.bool_]]]:
    """Build the phantom.

    Args:
        shape: Array shape ``(nk, nj, ni)``.
        spacing: Voxel size (mm) along ``i, j, k``.

    Returns:
        The CT volume (HU, int16, modality "CT") and its true masks: body, fat, lung_left, lung_right, lungs, bone,
        gas.
    """
    nk, nj, ni = shape
    si, sj, sk = spacing
    # Physical coordinates (mm) of voxel centres relative to the volume centre; origin is set to match.
    x = (np.arange(ni) - (ni - 1) / 2.0) * si
    y = (np.arange(nj) - (nj - 1) / 2.0) * sj
    z = (np.arange(nk) - (nk - 1) / 2.0) * sk
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    z_half = (nk / 2.0 - 3.0) * sk  # body stops 3 slices short of both ends

    body = ((xx / 110.0) ** 2 + (yy / 80.0) ** 2 <= 1.0) & (np.abs(zz) <= z_half)
    inner = ((xx / 100.0) ** 2 + (yy / 70.0) ** 2 <= 1.0) & (np.abs(zz) <= z_half)
    fat = body & ~inner
    lung_right = ((xx + 45.0) / 30.0) ** 2 + ((yy + 5.0) / 40.0) ** 2 + ((zz - 10.0) / 30.0) ** 2 <= 1.0
    lung_left = ((xx - 45.0) / 30.0) ** 2 + ((yy + 5.0) / 40.0) ** 2 + ((zz - 10.0) / 30.0) ** 2 <= 1.0
    bone = (xx**2 + (yy - 50.0) ** 2 <= 12.0**2) & inner
    gas = (xx**2 + (yy + 40.0) ** 2 <= 8.0**2) & (np.abs(zz + z_half - 3 * sk) <= 6.0) & inner

    hu = np.full(shape, -1000, dtype=np.int16)
    hu[body] = 40
    hu[fat] = -100
    hu[lung_left | lung_right] = -850
    hu[bone] = 700
    hu[gas] = -1000
    origin = (float(x[0]), float(y[0]), float(z[0]))
    volume = Volume(array=hu, spacing=spacing, origin=origin, direction=np.eye(3), modality="CT", source="phantom")
    truth = {
        "body": body,
        "fat": fat,
        "lung_left": lung_left,
        "lung_right": lung_right,
        "lungs": lung_left | lung_right,
        "bone": bone,
        "gas": gas,
    }
    return volume, truth


def write_dicom_series(
    volume: Volume,
    folder: str | Path,
    *,
    body_part: str = "CHEST",
    contrast_agent: str | None = None,
    blank_sop_class: bool = False,
) -> list[Path]:
    """Write an axial (``direction`` = identity) CT volume as a synthetic single-frame DICOM CT series.

    Pixel values are stored as unsigned 16-bit with RescaleIntercept -1024, so values below -1024 HU are clipped.
    Patient identifiers are synthetic placeholders. For tests and demos only.

    Args:
        volume: The volume (HU), e.g. from :func:`ct_phantom`.
        folder: Existing folder for the files ``0.dcm``, ``1.dcm``...
        body_part: BodyPartExamined value.
        contrast_agent: ContrastBolusAgent value, or None to leave the Contrast/Bolus module out.
        blank_sop_class: leave SOPClassUID blank in the dataset (only the file meta has it), a defect seen in real
            anonymised series.

    Returns:
        The written files in slice order.
    """
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    out_dir = Path(folder)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    files: list[Path] = []
    for k in range(volume.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = out_dir / f"{k}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = "" if blank_sop_class else CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality = "CT"
        ds.BodyPartExamined = body_part
        if contrast_agent is not None:
            ds.ContrastBolusAgent = contrast_agent
        ds.PatientID = "synthetic"
        ds.PatientName = "Phantom^Synthetic"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.StudyDate, ds.StudyTime = "20240101", "000000"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [volume.origin[0], volume.origin[1], volume.origin[2] + k * volume.spacing[2]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [volume.spacing[1], volume.spacing[0]]
        ds.SliceThickness = volume.spacing[2]
        ds.Rows, ds.Columns = volume.shape[1], volume.shape[2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        stored = np.clip(np.asarray(volume.array[k], dtype=np.int32) + 1024, 0, 65535).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files
