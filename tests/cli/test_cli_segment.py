"""medlens segment: a phantom CT written as NIfTI is segmented from text prompts; unsupported prompts get no mask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlens.cli import app

nib = pytest.importorskip("nibabel")
np = pytest.importorskip("numpy")

runner = CliRunner()


def _phantom_nifti(path: Path) -> None:
    from medlens.imaging.phantom import ct_phantom

    volume, _ = ct_phantom()
    # Volume arrays are [k, j, i]; NIfTI stores [i, j, k] with a RAS affine.
    nib.save(nib.Nifti1Image(np.transpose(volume.array, (2, 1, 0)).astype(np.int16), volume.affine_ras()), path)


def test_segment_writes_masks_and_lists_unsupported_prompts(tmp_path: Path) -> None:
    source = tmp_path / "ct.nii.gz"
    _phantom_nifti(source)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["segment", str(source), "-p", "lungs", "-p", "liver", "--out", str(out), "-f", "nifti", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    assert "unsupported unless a model is configured" in result.output
    masks = sorted(p.name for p in out.rglob("*.nii.gz"))
    assert masks, "a lung mask is written"
    assert not any("liver" in name for name in masks)
    data = json.loads(next(out.rglob("*.json")).read_text())
    assert any(s["structure"].startswith("lung") and s["measurement"]["volume_ml"] > 0 for s in data["structures"])


def test_segment_without_prompt_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["segment", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0


def test_monai_engine_needs_a_bundle(tmp_path: Path) -> None:
    source = tmp_path / "ct.nii.gz"
    _phantom_nifti(source)
    result = runner.invoke(
        app, ["segment", str(source), "-p", "lungs", "--out", str(tmp_path / "o"), "--engine", "monai"]
    )
    assert result.exit_code == 2
    assert "--bundle" in result.output
