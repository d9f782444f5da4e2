"""CT Hounsfield-unit rule engine: body, lungs (left/right), bone, fat, soft tissue, air, metal.

Offline, deterministic, no weights. Thresholds live in ``lexicon/structures.yaml`` with their sources; the
morphology is documented per function. Input is a :class:`~medlens.imaging.volume.Volume` in HU (CT); masks are
boolean arrays indexed like ``volume.array`` (``[k, j, i]``).

Method, in order (each step reuses the previous masks):

1. **body** -- voxels above ``body_min_hu``; an in-plane opening (radius 3 mm) detaches the patient table and
   clothing; 3-D connected components of at least 2 % of the largest and 10 mL are kept (trunk, and arms or legs
   that are separate in the field of view); the opened rim is given back; holes are filled slice by slice
   (in-plane), so lungs and bowel gas are inside the body.
2. **lungs** -- voxels inside the body below ``lung_max_hu`` (air and aerated lung). Connected components that
   touch the first or last slice *and* lie outside the body hull are impossible after step 1, so the remaining
   candidates are lungs, airways and bowel/stomach gas. Gas is told apart from lung by density: a component whose
   median HU is below ``-950`` is pure gas (aerated lung with its vessels and septa has a higher median), and
   components smaller than ``min_lung_ml`` are dropped. In-plane closing and hole filling bring the vessels back
   inside the lung (as lobe masks include them).
3. **left/right** -- the lung mask's connected components are assigned to the patient side of their centroid's LPS
   x coordinate (+x is patient left) relative to the body's centre; when both lungs form one component (anterior
   junction), the mask is eroded until it splits and every voxel takes the side of the nearest eroded core; if it
   never splits, the body's mid-sagittal plane divides it.
4. **bone** -- inside the body, at or above ``bone_min_hu`` (after an in-plane Gaussian of sigma 1.5 mm when
   pixels are finer than 1.5 mm, against noise), holes filled slice by slice (marrow), components smaller than
   0.5 mL dropped (noise, specks of vascular calcification).
5. **fat / soft tissue** -- inside the body, the HU windows of Mitsiopoulos et al. 1998; **metal** -- inside the
   body (dilated 5 mm, for skin leads) at or above ``metal_min_hu``; **air** -- every voxel below ``body_min_hu``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage  # type: ignore[import-untyped]

from medlens.core.errors import InputError
from medlens.imaging.prompts import StructuresLexicon, load_structures
from medlens.imaging.volume import Volume

__all__ = [
    "HU_STRUCTURES",
    "Mask",
    "segment_ct",
    "split_left_right",
]

log = logging.getLogger(__name__)

Mask = npt.NDArray[np.bool_]

#: Structure names the engine produces (the ``name`` values of ``structures.yaml``).
HU_STRUCTURES: tuple[str, ...] = (
    "body",
    "lungs",
    "lung_left",
    "lung_right",
    "bone",
    "fat",
    "soft_tissue",
    "air",
    "metal",
)

# Project choices (tuned on the TotalSegmentator example CTs, see the module docstring).
_GAS_MEDIAN_HU = -950.0
_MIN_LUNG_ML = 20.0
_MIN_BONE_ML = 0.5
_TABLE_OPENING_MM = 3.0
_LUNG_CLOSING_MM = 4.0
_METAL_BODY_MARGIN_MM = 5.0
_BODY_PART_FRACTION = 0.02
_BODY_PART_MIN_ML = 10.0
_BONE_SMOOTH_MM = 1.5

_IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
_IN_PLANE[1] = ndimage.generate_binary_structure(2, 1)


def _disk(volume: Volume, radius_mm: float) -> Mask:
    """In-plane ellipse structuring element of ``radius_mm`` respecting the pixel spacing ([k, j, i] layout)."""
    si, sj = volume.spacing[0], volume.spacing[1]
    ri, rj = max(1, round(radius_mm / si)), max(1, round(radius_mm / sj))
    jj, ii = np.mgrid[-rj : rj + 1, -ri : ri + 1]
    disk: Mask = (((ii * si) ** 2 + (jj * sj) ** 2) <= radius_mm**2 + 1e-6)[None, :, :]
    return disk


def _ball(volume: Volume, radius_mm: float) -> Mask:
    si, sj, sk = volume.spacing
    ri, rj, rk = (max(1, round(radius_mm / s)) for s in (si, sj, sk))
    kk, jj, ii = np.mgrid[-rk : rk + 1, -rj : rj + 1, -ri : ri + 1]
    ball: Mask = ((ii * si) ** 2 + (jj * sj) ** 2 + (kk * sk) ** 2) <= radius_mm**2 + 1e-6
    return ball


def _fill_holes_in_plane(mask: Mask) -> Mask:
    """Fill holes slice by slice: pad in k so only each slice's own edges seed the background."""
    padded = np.pad(mask, ((1, 1), (0, 0), (0, 0)))
    filled = ndimage.binary_fill_holes(padded, structure=_IN_PLANE)
    return np.asarray(filled[1:-1], dtype=bool)


def _large_components(mask: Mask, volume: Volume) -> Mask:
    """Components at least ``_BODY_PART_FRACTION`` of the largest and ``_BODY_PART_MIN_ML`` (arms, legs)."""
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = (sizes >= _BODY_PART_FRACTION * sizes.max()) & (sizes * volume.voxel_volume_ml >= _BODY_PART_MIN_ML)
    keep[0] = False
    return np.asarray(keep[labels], dtype=bool)


def _segment_body(hu: npt.NDArray[Any], volume: Volume, lex: StructuresLexicon) -> Mask:
    above = hu > lex.hu("body_min_hu")
    opened = ndimage.binary_opening(above, structure=_disk(volume, _TABLE_OPENING_MM))
    body = _large_components(opened, volume)
    if not body.any():
        return body
    # Give back the rim the opening shaved off, but only where it touches the kept body.
    body = ndimage.binary_dilation(body, structure=_disk(volume, _TABLE_OPENING_MM)) & above
    return _fill_holes_in_plane(body)


def _segment_lungs(hu: npt.NDArray[Any], body: Mask, volume: Volume, lex: StructuresLexicon) -> Mask:
    candidates = body & (hu < lex.hu("lung_max_hu"))
    labels, n = ndimage.label(candidates)
    if n == 0:
        return candidates
    index = np.arange(1, n + 1)
    counts = ndimage.sum_labels(np.ones_like(labels), labels, index)
    medians = ndimage.median(hu, labels, index)
    min_voxels = _MIN_LUNG_ML / volume.voxel_volume_ml
    keep = index[(counts >= min_voxels) & (np.asarray(medians) > _GAS_MEDIAN_HU)]
    lungs = np.isin(labels, keep)
    if not lungs.any():
        return lungs
    closed = ndimage.binary_closing(lungs, structure=_disk(volume, _LUNG_CLOSING_MM), border_value=0)
    lungs = _fill_holes_in_plane(closed | lungs) & body
    return lungs


def _lps_x(volume: Volume, centroid_kji: npt.ArrayLike) -> float:
    k, j, i = (float(c) for c in np.asarray(centroid_kji))
    return float(volume.index_to_lps([i, j, k])[0])


def split_left_right(lungs: Mask, body: Mask, volume: Volume) -> tuple[Mask, Mask]:
    """Split a lung mask into (left, right) by patient side, using LPS x (+x = patient left).

    See step 3 of the module docstring. Orientation-independent: only world coordinates decide the side.
    """
    left = np.zeros_like(lungs)
    right = np.zeros_like(lungs)
    if not lungs.any():
        return left, right
    mid_x = _lps_x(volume, ndimage.center_of_mass(body if body.any() else lungs))
    cores, n = ndimage.label(lungs)
    erosions = 0
    ball = _ball(volume, 3.0)
    work = lungs
    while n < 2 and erosions < 8:
        # Big pieces only: erosion can chip off specks that would not represent a lung.
        work = ndimage.binary_erosion(work, structure=ball)
        erosions += 1
        cores, n = ndimage.label(work)
        if n >= 2:
            sizes = np.bincount(cores.ravel())[1:]
            if np.sort(sizes)[-2] < 0.05 * sizes.max():
                n = 1
    if n >= 2:
        index = np.arange(1, n + 1)
        centroids = ndimage.center_of_mass(work, cores, index)
        side_left = np.array([_lps_x(volume, c) > mid_x for c in centroids])
        if erosions:
            # Every lung voxel takes the label of the nearest core voxel.
            _, nearest = ndimage.distance_transform_edt(cores == 0, sampling=volume.spacing[::-1], return_indices=True)
            cores = cores[tuple(nearest)]
        is_left = np.concatenate([[False], side_left])[cores] & lungs
        return is_left, lungs & ~is_left
    # One inseparable component: the body's mid-sagittal plane decides, voxel by voxel.
    kk, jj, ii = np.nonzero(lungs)
    xs = volume.index_to_lps(np.stack([ii, jj, kk], axis=1))[:, 0]
    left[kk[xs > mid_x], jj[xs > mid_x], ii[xs > mid_x]] = True
    return left, lungs & ~left


def _segment_bone(hu: npt.NDArray[Any], body: Mask, volume: Volume, lex: StructuresLexicon) -> Mask:
    si, sj = volume.spacing[0], volume.spacing[1]
    if min(si, sj) < _BONE_SMOOTH_MM:
        # Thin pixels are noisy: smooth in-plane (sigma 1.5 mm) so soft tissue noise does not cross the threshold.
        hu = ndimage.gaussian_filter(hu.astype(np.float32), sigma=(0.0, _BONE_SMOOTH_MM / sj, _BONE_SMOOTH_MM / si))
    bone = body & (hu >= lex.hu("bone_min_hu"))
    bone = _fill_holes_in_plane(bone)
    labels, n = ndimage.label(bone)
    if n == 0:
        return bone
    sizes = np.bincount(labels.ravel())
    small = sizes < _MIN_BONE_ML / volume.voxel_volume_ml
    small[0] = False
    kept: Mask = bone & ~small[labels]
    return kept


def segment_ct(volume: Volume, structures: Iterable[str] | None = None) -> dict[str, Mask]:
    """Segment CT structures with HU rules.

    Args:
        volume: A CT volume in Hounsfield units (``modality`` "CT" or None).
        structures: Names from :data:`HU_STRUCTURES`; all of them when None. Dependencies (the body for the rest,
            the lungs for the sides) are computed as needed and returned too.

    Returns:
        Structure name -> boolean mask shaped like ``volume.array``.

    Raises:
        InputError: ML126 if the volume is not CT, or a structure name is unknown.
    """
    wanted = tuple(HU_STRUCTURES if structures is None else structures)
    unknown = [s for s in wanted if s not in HU_STRUCTURES]
    if unknown:
        raise InputError(
            f"the HU engine cannot segment {', '.join(unknown)}; available: {', '.join(HU_STRUCTURES)}", code="ML126"
        )
    if volume.modality not in (None, "CT"):
        raise InputError(
            f"HU rules need CT, this volume is {volume.modality}; configure a model backend for other modalities",
            code="ML126",
            source=volume.source,
        )
    lex = load_structures()
    hu = volume.array
    out: dict[str, Mask] = {}
    body = _segment_body(hu, volume, lex)
    out["body"] = body
    if {"lungs", "lung_left", "lung_right"} & set(wanted):
        lungs = _segment_lungs(hu, body, volume, lex)
        out["lungs"] = lungs
        if {"lung_left", "lung_right"} & set(wanted):
            out["lung_left"], out["lung_right"] = split_left_right(lungs, body, volume)
    if "bone" in wanted:
        out["bone"] = _segment_bone(hu, body, volume, lex)
    if "fat" in wanted:
        out["fat"] = body & (hu >= lex.hu("fat_min_hu")) & (hu <= lex.hu("fat_max_hu"))
    if "soft_tissue" in wanted:
        out["soft_tissue"] = body & (hu >= lex.hu("soft_tissue_min_hu")) & (hu <= lex.hu("soft_tissue_max_hu"))
    if "air" in wanted:
        out["air"] = hu <= lex.hu("body_min_hu")
    if "metal" in wanted:
        near_body = ndimage.binary_dilation(body, structure=_disk(volume, _METAL_BODY_MARGIN_MM))
        out["metal"] = near_body & (hu >= lex.hu("metal_min_hu"))
    return out
