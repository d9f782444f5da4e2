"""``segment_command``: the library side of ``medlens segment`` on the phantom as DICOM and as NIfTI."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from medlens.core.errors import InputError
from medlens.imaging.cli_support import SegmentSummary, segment_command
from medlens.imaging.phantom import ct_phantom, write_dicom_series
from medlens.imaging.prompts import UNSUPPORTED_ANSWER
from medlens.imaging.volume import Volume
from medlens.imaging.writers import write_mask_nifti

PROMPTS = ["segment the lungs", "left lung", "bone", "the liver"]


@pytest.fixture(scope="module")
def dicom_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SegmentSummary, Path]:
    src = tmp_path_factory.mktemp("dicom")
    write_dicom_series(ct_phantom()[0], src)
    out = tmp_path_factory.mktemp("out")
    summary = segment_command(src, PROMPTS, out, formats=("nifti", "png", "seg", "sr", "json"), progress=False)
    return summary, out


@pytest.fixture(scope="module")
def nifti_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vol = ct_phantom()[0]
    return write_mask_nifti(vol.array, vol, tmp_path_factory.mktemp("nii") / "phantom.nii.gz")


def test_supported_prompts_get_structures(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = dicom_run
    assert [s.structure for s in summary.structures] == ["lungs", "lung_left", "bone"]


def test_unsupported_prompt_listed_without_mask(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, out = dicom_run
    assert [(u.prompt, u.answer) for u in summary.unsupported] == [("the liver", UNSUPPORTED_ANSWER)]
    assert not any("liver" in p.name for p in out.iterdir())


def test_nifti_mask_written_per_structure(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = dicom_run
    lungs = summary.structures[0]
    data = np.asarray(nib.load(lungs.files["nifti"]).dataobj)
    assert int(data.sum()) == lungs.measurement.voxel_count


def test_overlay_png_written(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = dicom_run
    assert all(Path(s.files["png"]).read_bytes().startswith(b"\x89PNG") for s in summary.structures)


def test_lung_volume_close_to_truth(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = dicom_run
    vol, truth = ct_phantom()
    expected = truth["lungs"].sum() * vol.voxel_volume_ml
    assert summary.structures[0].measurement.volume_ml == pytest.approx(expected, rel=0.05)


def test_seg_holds_coded_structures_only(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = dicom_run
    seg = pydicom.dcmread(summary.files["seg"])
    assert [str(s.SegmentLabel) for s in seg.SegmentSequence] == ["Lungs", "Left lung"]
    assert "bone" in summary.seg_skipped


def test_sr_written_for_dicom_input(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = dicom_run
    assert pydicom.dcmread(summary.files["sr"]).ContentTemplateSequence[0].TemplateIdentifier == "1500"


def test_json_summary_round_trips(dicom_run: tuple[SegmentSummary, Path]) -> None:
    summary, out = dicom_run
    loaded = SegmentSummary.model_validate(json.loads((out / "summary.json").read_text(encoding="utf-8")))
    assert loaded.structures == summary.structures
    assert loaded.structures[0].measurement.intensity is not None


def test_nifti_input_writes_no_seg(nifti_path: Path, tmp_path: Path) -> None:
    summary = segment_command(nifti_path, ["lungs"], tmp_path, progress=False)
    assert "seg" not in summary.files
    assert "lungs" in summary.seg_skipped
    assert Path(summary.structures[0].files["nifti"]).exists()


def test_nifti_input_geometry_kept(nifti_path: Path, tmp_path: Path) -> None:
    summary = segment_command(nifti_path, ["left lung"], tmp_path, formats=("json",), progress=False)
    vol, truth = ct_phantom()
    assert summary.structures[0].measurement.voxel_count == pytest.approx(int(truth["lung_left"].sum()), rel=0.05)
    assert summary.orientation == vol.orientation


def test_mr_volume_prompts_are_unsupported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vol = ct_phantom()[0]
    mr = Volume(array=vol.array, spacing=vol.spacing, modality="MR")
    monkeypatch.setattr("medlens.imaging.cli_support.load_volume", lambda path, series_uid=None: mr)
    summary = segment_command(tmp_path / "any", ["lungs"], tmp_path / "o", progress=False)
    assert summary.structures == ()
    assert summary.unsupported[0].answer.endswith(UNSUPPORTED_ANSWER)
    assert not list((tmp_path / "o").glob("*.nii.gz"))


def test_no_prompt_is_an_error(nifti_path: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        segment_command(nifti_path, [], tmp_path, progress=False)
    assert err.value.code == "ML102"


def test_unknown_format_is_an_error(nifti_path: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        segment_command(nifti_path, ["lungs"], tmp_path, formats=("stl",), progress=False)
    assert err.value.code == "ML104"


def test_unknown_engine_is_ml201(nifti_path: Path, tmp_path: Path) -> None:
    from medlens.core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        segment_command(nifti_path, ["lungs"], tmp_path, progress=False, engine="nnunet")  # type: ignore[arg-type]
    assert err.value.code == "ML201"


def test_monai_engine_without_bundle_is_ml201(nifti_path: Path, tmp_path: Path) -> None:
    from medlens.core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        segment_command(nifti_path, ["lungs"], tmp_path, progress=False, engine="monai")
    assert err.value.code == "ML201"
