"""``segment_command(engine="monai")`` on a tiny random-weight bundle: plumbing only, no medical claim."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pydicom
import pytest

from medlens.imaging.cli_support import SegmentSummary, segment_command
from medlens.imaging.phantom import ct_phantom, write_dicom_series
from medlens.imaging.prompts import UNSUPPORTED_ANSWER

if os.environ.get("MEDLENS_REQUIRE_TORCH") != "1":
    pytest.importorskip("torch")
    pytest.importorskip("monai")
import torch
from monai.networks.nets import UNet

NET = {"spatial_dims": 3, "in_channels": 1, "out_channels": 3, "channels": [4, 8], "strides": [2], "num_res_units": 0}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SegmentSummary, Path]:
    bundle = tmp_path_factory.mktemp("bundle")
    (bundle / "configs").mkdir()
    (bundle / "models").mkdir()
    torch.manual_seed(0)
    torch.save(UNet(**NET).state_dict(), bundle / "models" / "model.pt")
    config = {"network_def": {"_target_": "UNet", **NET}, "inferer": {"roi_size": [16, 16, 16]}}
    (bundle / "configs" / "inference.json").write_text(json.dumps(config))
    channels = {"0": "background", "1": "lung_left", "2": "spleen"}
    metadata = {"name": "tiny", "network_data_format": {"outputs": {"pred": {"channel_def": channels}}}}
    (bundle / "configs" / "metadata.json").write_text(json.dumps(metadata))
    src = tmp_path_factory.mktemp("dicom")
    write_dicom_series(ct_phantom((12, 32, 48), (6.0, 6.0, 9.0))[0], src)
    out = tmp_path_factory.mktemp("out")
    prompts = ["left lung", "segment the spleen", "the liver"]
    summary = segment_command(
        src, prompts, out, formats=("nifti", "seg", "json"), progress=False, engine="monai", bundle=bundle
    )
    return summary, out


def test_prompts_resolve_to_bundle_labels(run: tuple[SegmentSummary, Path]) -> None:
    assert [s.structure for s in run[0].structures] == ["lung_left", "spleen"]


def test_prompt_without_label_is_unsupported(run: tuple[SegmentSummary, Path]) -> None:
    assert [u.prompt for u in run[0].unsupported] == ["the liver"]
    assert UNSUPPORTED_ANSWER in run[0].unsupported[0].answer


def test_summary_names_the_monai_engine(run: tuple[SegmentSummary, Path]) -> None:
    assert run[0].engine == "medlens.imaging.monai_bundle.v1"


def test_label_without_curated_code_is_left_out_of_seg(run: tuple[SegmentSummary, Path]) -> None:
    assert "spleen" in run[0].seg_skipped


def test_seg_names_the_bundle_as_ai_algorithm(run: tuple[SegmentSummary, Path]) -> None:
    summary, _ = run
    seg = pydicom.dcmread(summary.files["seg"])
    family = seg.SegmentSequence[0].SegmentationAlgorithmIdentificationSequence[0].AlgorithmFamilyCodeSequence[0]
    assert family.CodeMeaning == "Artificial Intelligence"


def test_masks_written_as_nifti(run: tuple[SegmentSummary, Path]) -> None:
    assert all(Path(s.files["nifti"]).is_file() for s in run[0].structures)
