"""DICOM SEG output over a synthetic CT series written with pydicom."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from medlens.core.errors import InputError
from medlens.imaging.phantom import ct_phantom, write_dicom_series
from medlens.imaging.seg_dicom import build_segmentation, write_segmentation
from medlens.imaging.segment_hu import segment_ct
from medlens.imaging.volume import Volume, load_volume


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Volume:
    folder = tmp_path_factory.mktemp("ct")
    phantom, _ = ct_phantom(shape=(12, 32, 40), spacing=(6.0, 6.0, 6.0))
    write_dicom_series(phantom, folder, blank_sop_class=True)
    return load_volume(folder)


def test_seg_references_the_source_series_and_codes_the_lungs(series: Volume, tmp_path: Path) -> None:
    masks = segment_ct(series, ["lung_left", "lung_right"])
    path = write_segmentation(
        series, {"lung_left": masks["lung_left"], "lung_right": masks["lung_right"]}, tmp_path / "seg.dcm"
    )
    seg = pydicom.dcmread(path)
    assert seg.Modality == "SEG"
    source = pydicom.dcmread(sorted(Path(series.source).glob("*.dcm"))[0], stop_before_pixels=True)
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
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
