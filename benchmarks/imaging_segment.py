"""Dice of the offline CT HU engine (medlens.imaging.segment_hu) against TotalSegmentator masks; time and peak RSS.

Claims checked (issue 7): lungs Dice >= 0.90, body Dice >= 0.95; example_ct.nii.gz segments in well under 5 s.

    .venv/bin/python benchmarks/imaging_segment.py [--data ../shared/data/imaging/totalsegmentator] [--json F] [--check]

**References are silver.** Every reference mask is TotalSegmentator's own output (see the data's PROVENANCE.md),
not manual ground truth. Read Dice as agreement with a strong model.

**Cases** (CT -> reference, both read with medlens and reoriented to LPS; geometry must match exactly):
- ``example_ct_sm.nii.gz`` (3 mm, 30 slices, lung bases/abdomen) -> ``example_seg.nii.gz`` (``total``, normal model);
  fat -> ``example_seg_tissue_types/{subcutaneous_fat,torso_fat}.nii.gz`` merged.
- ``example_ct.nii.gz`` (3 mm, 112 slices, chest-abdomen) -> ``example_seg_fast_force_split.nii.gz`` (``total``,
  fast model run on this CT; its shape matches).
- ``example_ct_dicom/`` (20 slices, 0.98 mm pixels, JPEG 2000, blank SOPClassUID) -> ``example_seg_dicom.nii.gz``
  (``total``, fast model; stored LAS, reoriented here).

**Label ids** (``total`` task, TotalSegmentator v2): ``class_map["total"]`` in
``totalsegmentator/map_to_binary.py`` of https://github.com/wasserth/TotalSegmentator, cross-checked here against
the per-structure files of ``example_seg_fast/`` (each file's voxels carry exactly one id of the multi-label map).
- lungs = 10 lung_upper_lobe_left, 11 lung_lower_lobe_left, 12 lung_upper_lobe_right, 13 lung_middle_lobe_right,
  14 lung_lower_lobe_right; left = {10, 11}; right = {12, 13, 14}.
- bone = 25 sacrum, 26-50 vertebrae S1..C1, 69-78 humerus/scapula/clavicula/femur/hip, 91 skull, 92-115 ribs,
  116 sternum. 117 costal_cartilages is cartilage, not bone, and is left out.

**Body has no reference in this data.** ``example_seg_fast_body_seg.nii.gz`` is a ``total`` label map (organs,
computed with ``--body_seg`` cropping), not a body mask, and the ``body`` task output is not in the snapshot. The
body row therefore shows no Dice; it reports a proxy instead: the share of all TotalSegmentator-labelled voxels
(organs, bones, and tissue types where present) that lie inside our body mask. That is a recall check, not Dice, and
the body target is reported as "no reference".

**Time and memory.** Each CT runs in a fresh process (spawn): load time, segmentation time (all structures) and the
process's peak RSS (``ru_maxrss``) after segmenting, next to the RSS after imports, so the increment is visible.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imaging" / "totalsegmentator"

LUNG_LEFT = (10, 11)
LUNG_RIGHT = (12, 13, 14)
BONE = (25, *range(26, 51), *range(69, 79), 91, *range(92, 116), 116)
TARGETS = {"lungs": 0.90, "body": 0.95}

CASES: tuple[dict[str, Any], ...] = (
    {
        "ct": "example_ct_sm.nii.gz",
        "ref": "example_seg.nii.gz",
        "tissue": ("example_seg_tissue_types/subcutaneous_fat.nii.gz", "example_seg_tissue_types/torso_fat.nii.gz"),
    },
    {"ct": "example_ct.nii.gz", "ref": "example_seg_fast_force_split.nii.gz", "tissue": ()},
    {"ct": "example_ct_dicom", "ref": "example_seg_dicom.nii.gz", "tissue": ()},
)


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _dice(a: Any, b: Any) -> float | None:
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return None
    return 2.0 * int((a & b).sum()) / total


def run_case(data: str, case: dict[str, Any]) -> dict[str, Any]:
    """Segment one CT and score it (runs in a child process)."""
    import numpy as np

    from medlens.imaging.segment_hu import segment_ct
    from medlens.imaging.volume import load_volume, reorient

    rss_imports = _rss_mb()
    root = Path(data)
    t0 = time.perf_counter()
    ct = reorient(load_volume(root / case["ct"]), "LPS")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    masks = segment_ct(ct)
    t_seg = time.perf_counter() - t0
    rss_peak = _rss_mb()

    ref_vol = reorient(load_volume(root / case["ref"]), "LPS")
    if ref_vol.shape != ct.shape or not np.allclose(ref_vol.origin, ct.origin, atol=1e-2):
        raise SystemExit(f"reference {case['ref']} does not share the grid of {case['ct']}")
    ref = ref_vol.array
    refs = {
        "lungs": np.isin(ref, LUNG_LEFT + LUNG_RIGHT),
        "lung_left": np.isin(ref, LUNG_LEFT),
        "lung_right": np.isin(ref, LUNG_RIGHT),
        "bone": np.isin(ref, BONE),
    }
    labelled = ref > 0
    if case["tissue"]:
        fat = np.zeros(ct.shape, dtype=bool)
        for name in case["tissue"]:
            fat |= reorient(load_volume(root / name), "LPS").array > 0
        refs["fat"] = fat
        labelled = labelled | fat
        muscle = root / "example_seg_tissue_types/skeletal_muscle.nii.gz"
        labelled = labelled | (reorient(load_volume(muscle), "LPS").array > 0)
    rows: list[dict[str, Any]] = []
    for name, r in refs.items():
        ours = masks[name]
        rows.append(
            {
                "structure": name,
                "dice": _dice(ours, r),
                "ours_ml": float(ours.sum()) * ct.voxel_volume_ml,
                "ref_ml": float(r.sum()) * ct.voxel_volume_ml,
            }
        )
    inside = float((masks["body"] & labelled).sum()) / max(1, int(labelled.sum()))
    rows.insert(
        0,
        {
            "structure": "body",
            "dice": None,
            "ours_ml": float(masks["body"].sum()) * ct.voxel_volume_ml,
            "ref_ml": None,
            "proxy": inside,
        },
    )
    return {
        "ct": case["ct"],
        "reference": case["ref"],
        "shape": list(ct.shape),
        "spacing": list(ct.spacing),
        "load_s": t_load,
        "segment_s": t_seg,
        "rss_after_imports_mb": rss_imports,
        "rss_peak_mb": rss_peak,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TotalSegmentator reference folder.")
    parser.add_argument("--json", type=Path, help="Also write the results as JSON here.")
    parser.add_argument("--check", action="store_true", help="Exit 1 when a measurable target fails.")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    results = []
    ctx = mp.get_context("spawn")
    for case in CASES:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            results.append(pool.submit(run_case, str(args.data), case).result())

    table = Table(title="HU engine vs TotalSegmentator (silver) masks")
    for col in ("CT", "structure", "Dice", "target", "ours mL", "ref mL", "seg s", "load s", "RSS MB (imports)"):
        table.add_column(col, justify="left" if col in ("CT", "structure", "target") else "right")
    failures: list[str] = []
    notes: list[str] = []
    dice_by_structure: dict[str, list[float]] = {}
    for res in results:
        for n, row in enumerate(res["rows"]):
            name = row["structure"]
            target = TARGETS.get(name)
            if row["dice"] is None:
                if name == "body":
                    dice_txt = "n/a*"
                    target_txt = f">= {target:.2f} no ref"
                    notes.append(f"* {res['ct']}: {100 * row['proxy']:.2f}% of TotalSegmentator-labelled voxels inside")
                else:
                    dice_txt, target_txt = "n/a (empty)", "-"
            else:
                dice_by_structure.setdefault(name, []).append(row["dice"])
                dice_txt = f"{row['dice']:.3f}"
                if target is None:
                    target_txt = "-"
                else:
                    ok = row["dice"] >= target
                    target_txt = f">= {target:.2f} {'PASS' if ok else 'FAIL'}"
                    if not ok:
                        failures.append(f"{res['ct']} {name} {row['dice']:.3f} < {target}")
            table.add_row(
                res["ct"].removesuffix(".nii.gz") if n == 0 else "",
                name,
                dice_txt,
                target_txt,
                f"{row['ours_ml']:.1f}",
                "-" if row["ref_ml"] is None else f"{row['ref_ml']:.1f}",
                f"{res['segment_s']:.2f}" if n == 0 else "",
                f"{res['load_s']:.2f}" if n == 0 else "",
                f"{res['rss_peak_mb']:.0f} ({res['rss_after_imports_mb']:.0f})" if n == 0 else "",
            )
    console.print(table)
    for note in notes:
        console.print(note + " (body has no reference mask; recall proxy, not Dice)")
    for name, values in dice_by_structure.items():
        console.print(f"mean Dice {name}: {sum(values) / len(values):.3f} over {len(values)} volume(s)")
    speed = next(r for r in results if r["ct"] == "example_ct.nii.gz")["segment_s"]
    console.print(
        f"example_ct.nii.gz all structures: {speed:.2f} s (target well under 5 s: {'PASS' if speed < 5 else 'FAIL'})"
    )
    if speed >= 5:
        failures.append(f"example_ct.nii.gz took {speed:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if failures:
        console.print("[red]failed:[/red] " + "; ".join(failures))
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
