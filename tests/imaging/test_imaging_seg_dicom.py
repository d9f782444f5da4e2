"""DICOM SEG output over a synthetic CT series written with pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from medlens.core.errors import InputError
from medlens.imaging.phantom import ct_phantom
from medlens.imaging.seg_dicom import build_segmentation, write_segmentation
from medlens.imaging.segment_hu import segment_ct
from medlens.imaging.volume import Volume, load_volume

SERIES = "1.2.826.0.1.3680043.8.498.77"


def _write_series(volume: Volume, folder: Path, *, blank_sop_class: bool) -> None:
    study = generate_uid()
    for k in range(volume.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"{k}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = "" if blank_sop_class else CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = SERIES
        ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.78"
        ds.Modality = "CT"
        ds.PatientID = "synthetic"
        ds.PatientName = "Phantom^Synthetic"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.StudyDate = "20240101"
        ds.StudyTime = "000000"
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
        ds.PixelData = (volume.array[k].astype(np.int32) + 1024).astype(np.uint16).tobytes()
        ds.save_as(folder / f"{k}.dcm", enforce_file_format=True)


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Volume:
    folder = tmp_path_factory.mktemp("ct")
    phantom, _ = ct_phantom(shape=(12, 32, 40), spacing=(6.0, 6.0, 6.0))
    _write_series(phantom, folder, blank_sop_class=True)
    return load_volume(folder)


def test_seg_references_the_source_series_and_codes_the_lungs(series: Volume, tmp_path: Path) -> None:
    masks = segment_ct(series, ["lung_left", "lung_right"])
    path = write_segmentation(
        series, {"lung_left": masks["lung_left"], "lung_right": masks["lung_right"]}, tmp_path / "seg.dcm"
    )
    seg = pydicom.dcmread(path)
    assert seg.Modality == "SEG"
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == SERIES
    left = seg.SegmentSequence[0]
    assert left.SegmentedPropertyTypeCodeSequence[0].CodeValue == "39607008"
    assert left.SegmentedPropertyTypeCodeSequence[0].SegmentedPropertyTypeModifierCodeSequence[0].CodeValue == "7771000"


def test_structure_without_curated_code_is_refused(series: Volume) -> None:
    masks = segment_ct(series, ["bone"])
    with pytest.raises(InputError) as err:
        build_segmentation(series, {"bone": masks["bone"]})
    assert err.value.code == "ML127"


def test_volume_not_from_dicom_is_refused() -> None:
    phantom, truth = ct_phantom(shape=(6, 8, 8))
    with pytest.raises(InputError) as err:
        build_segmentation(phantom, {"lungs": truth["lungs"]})
    assert err.value.code == "ML127"
