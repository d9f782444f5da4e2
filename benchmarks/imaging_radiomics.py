"""Relative error of medlens radiomics (first order + voxel shape) against PyRadiomics' published baselines.

Claim checked (issue 7): the project's own first-order and shape implementation agrees with PyRadiomics' baseline
values (``data/baseline/baseline_firstorder.csv`` and ``baseline_shape.csv`` of https://github.com/AIM-Harvard/pyradiomics,
copied read-only to ``../shared/data/imaging/pyradiomics``; see its PROVENANCE.md).

    .venv/bin/python benchmarks/imaging_radiomics.py [--data ../shared/data/imaging/pyradiomics] [--json F]

Settings are those of the baseline's ``original`` columns (``diagnostics_Configuration_Settings`` of each CSV):
no resampling, no normalisation, ``label`` 1, ``binWidth`` 25, ``voxelArrayShift`` 2000 (applies to Energy,
TotalEnergy and RootMeanSquared). Cases: brain1, brain2, breast1 -- the only cases whose images are in the snapshot
(lung1/lung2 images are absent). Each case's image and label NRRD are read with ``medlens.imaging.volume.load_nrrd``.

Relative error = |medlens - baseline| / |baseline| (absolute error where the baseline is 0). Mesh-based shape
features (MeshVolume, SurfaceArea, SurfaceVolumeRatio, Sphericity, Maximum 2D/3D diameters) are not implemented in
medlens and are listed as such, not scored.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imaging" / "pyradiomics"
CASES = ("brain1", "brain2", "breast1")
VOXEL_ARRAY_SHIFT = 2000.0
BIN_WIDTH = 25.0


def _baseline(path: Path) -> dict[str, dict[str, str]]:
    """feature name -> case -> value, for the ``original_*`` rows."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    out: dict[str, dict[str, str]] = {}
    for row in rows[1:]:
        if row and row[0].startswith("original_"):
            out[row[0]] = dict(zip(header[1:], row[1:], strict=False))
    return out


def main(argv: list[str] | None = None) -> int:
    """Compute, compare, print the table and the summary."""
    import numpy as np

    from medlens.imaging.measure import first_order_features, shape_features
    from medlens.imaging.volume import load_nrrd

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PyRadiomics data folder (images + baseline/).")
    ap.add_argument("--json", type=Path, default=None, help="Also write the per-feature errors as JSON here.")
    args = ap.parse_args(argv)

    base = _baseline(args.data / "baseline" / "baseline_firstorder.csv") | _baseline(
        args.data / "baseline" / "baseline_shape.csv"
    )
    ours: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    for case in CASES:
        image = load_nrrd(args.data / f"{case}_image.nrrd")
        label = load_nrrd(args.data / f"{case}_label.nrrd")
        mask = np.asarray(label.array) == 1
        t0 = time.perf_counter()
        values = image.array[mask]
        first = first_order_features(
            values,
            voxel_volume_mm3=float(np.prod(image.spacing)),
            bin_width=BIN_WIDTH,
            voxel_array_shift=VOXEL_ARRAY_SHIFT,
        )
        shape = shape_features(mask, image)
        seconds[case] = time.perf_counter() - t0
        ours[case] = {f"original_firstorder_{k}": v for k, v in first.items()} | {
            f"original_shape_{k}": v for k, v in shape.items()
        }

    errors: dict[str, dict[str, float]] = {}
    missing: list[str] = []
    print("| feature | " + " | ".join(f"{c} baseline | {c} medlens | {c} rel. err" for c in CASES) + " |")
    print("|---|" + "---|---|---|" * len(CASES))
    for feature in sorted(base):
        if feature not in ours[CASES[0]]:
            missing.append(feature)
            continue
        cells = []
        for case in CASES:
            ref = float(base[feature][case])
            got = ours[case][feature]
            err = abs(got - ref) / abs(ref) if ref != 0 else abs(got - ref)
            errors.setdefault(feature, {})[case] = err
            cells.append(f"{ref:.6g} | {got:.6g} | {err:.2e}")
        print(f"| {feature.removeprefix('original_')} | " + " | ".join(cells) + " |")
    all_errors = [e for per_case in errors.values() for e in per_case.values()]
    worst = max(((e, f, c) for f, pc in errors.items() for c, e in pc.items()), default=(0.0, "", ""))
    print(f"\nscored: {len(errors)} features x {len(CASES)} cases = {len(all_errors)} values")
    median = statistics.median(all_errors)
    print(f"relative error: max {max(all_errors):.2e} ({worst[1]}, {worst[2]}), median {median:.2e}")
    print("not implemented (not scored): " + ", ".join(m.removeprefix("original_") for m in missing))
    print("compute time per case (s): " + ", ".join(f"{c} {t:.4f}" for c, t in seconds.items()))
    if args.json:
        payload: dict[str, Any] = {
            "cases": CASES,
            "settings": {"binWidth": BIN_WIDTH, "voxelArrayShift": VOXEL_ARRAY_SHIFT, "label": 1},
            "relative_error": errors,
            "max_relative_error": max(all_errors),
            "median_relative_error": statistics.median(all_errors),
            "not_implemented": missing,
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
