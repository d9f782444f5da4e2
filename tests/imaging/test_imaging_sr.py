"""TID 1500 measurement report (DICOM SR) over the phantom written as a DICOM series, read back with pydicom."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

from medlens.core.errors import InputError
from medlens.imaging.measure import StructureMeasurement, measure_structure
from medlens.imaging.phantom import ct_phantom, write_dicom_series
from medlens.imaging.seg_dicom import build_segmentation
from medlens.imaging.segment_hu import segment_ct
from medlens.imaging.sr import build_measurement_report, write_measurement_report
from medlens.imaging.volume import Volume, load_volume

VOLUME = "118565006"  # SNOMED CT Volume (pydicom codes.SCT.Volume), checked below against the dictionary
ATTENUATION = "112031"


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Volume, list[StructureMeasurement], Any]:
    folder = tmp_path_factory.mktemp("ct")
    write_dicom_series(ct_phantom()[0], folder)
    vol = load_volume(folder)
    masks = segment_ct(vol, ["lung_left", "lung_right", "bone"])
    measured = [measure_structure(vol, masks[s], s, radiomics=False) for s in ("lung_left", "lung_right", "bone")]
    seg = build_segmentation(vol, {s: masks[s] for s in ("lung_left", "lung_right")})
    return vol, measured, seg


def _walk(items: Any) -> Iterator[Any]:
    for item in items:
        yield item
        yield from _walk(getattr(item, "ContentSequence", []))


def _numbers(ds: Any, code: str) -> list[float]:
    return [
        float(i.MeasuredValueSequence[0].NumericValue)
        for i in _walk(ds.ContentSequence)
        if i.ValueType == "NUM" and i.ConceptNameCodeSequence[0].CodeValue == code
    ]


def test_codes_come_from_pydicom_dictionary() -> None:
    from pydicom.sr.codedict import codes

    assert (codes.SCT.Volume.value, codes.DCM.AttenuationCoefficient.value) == (VOLUME, ATTENUATION)


def test_sr_is_tid1500_read_back(series: tuple[Volume, list[StructureMeasurement], Any], tmp_path: Path) -> None:
    vol, measured, seg = series
    path = write_measurement_report(vol, measured, tmp_path / "sr.dcm", segmentation=seg)
    ds = pydicom.dcmread(path)
    assert ds.Modality == "SR"
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"


def test_volumes_read_back_equal_measurements(
    series: tuple[Volume, list[StructureMeasurement], Any], tmp_path: Path
) -> None:
    vol, measured, seg = series
    ds = pydicom.dcmread(write_measurement_report(vol, measured, tmp_path / "sr.dcm", segmentation=seg))
    assert sorted(_numbers(ds, VOLUME)) == pytest.approx(sorted(m.volume_ml for m in measured))


def test_mean_hu_read_back(series: tuple[Volume, list[StructureMeasurement], Any], tmp_path: Path) -> None:
    vol, measured, seg = series
    ds = pydicom.dcmread(write_measurement_report(vol, measured, tmp_path / "sr.dcm", segmentation=seg))
    means = [m.intensity.mean for m in measured if m.intensity is not None]
    sds = [m.intensity.sd for m in measured if m.intensity is not None]
    assert sorted(_numbers(ds, ATTENUATION)) == pytest.approx(sorted(means + sds))


def test_segments_referenced_for_coded_structures(series: tuple[Volume, list[StructureMeasurement], Any]) -> None:
    vol, measured, seg = series
    ds = build_measurement_report(vol, measured, segmentation=seg)
    refs = [
        i
        for i in _walk(ds.ContentSequence)
        if i.ValueType == "IMAGE" and "ReferencedSegmentNumber" in i.ReferencedSOPSequence[0]
    ]
    assert {int(r.ReferencedSOPSequence[0].ReferencedSegmentNumber) for r in refs} == {1, 2}
    assert all(r.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == seg.SOPInstanceUID for r in refs)


def test_structure_without_segment_references_source_images(
    series: tuple[Volume, list[StructureMeasurement], Any],
) -> None:
    vol, measured, _ = series
    ds = build_measurement_report(vol, [m for m in measured if m.structure == "bone"])
    sources = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in vol.meta["files"]}
    refs = {
        str(i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
        for i in _walk(ds.ContentSequence)
        if i.ValueType == "IMAGE"
    }
    assert refs == sources


def test_empty_measurements_are_refused(series: tuple[Volume, list[StructureMeasurement], Any]) -> None:
    vol, _, _ = series
    empty = StructureMeasurement(structure="bone", voxel_count=0, volume_ml=0.0, extent_mm=(0.0, 0.0, 0.0))
    with pytest.raises(InputError) as err:
        build_measurement_report(vol, [empty])
    assert err.value.code == "ML128"


def test_non_dicom_volume_is_refused(series: tuple[Volume, list[StructureMeasurement], Any]) -> None:
    _, measured, _ = series
    with pytest.raises(InputError) as err:
        build_measurement_report(ct_phantom()[0], measured)
    assert err.value.code == "ML127"
