"""Writers for segmentation outputs: NIfTI masks (label maps) and PNG overlays.

NIfTI output stores the volume's geometry converted to RAS+ (:meth:`Volume.affine_ras`), so viewers (3D Slicer,
ITK-SNAP, nibabel) place the mask exactly over the source image; a round trip through
:func:`medlens.imaging.volume.load_nifti` gives back the same LPS geometry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from medlens.core.errors import InputError, MissingDependencyError
from medlens.imaging.volume import Volume

__all__ = [
    "DEFAULT_COLOURS",
    "label_map",
    "render_overlay",
    "write_mask_nifti",
    "write_overlay_png",
]

#: RGB colours per structure for overlays (project choice; distinguishable on a grey CT window).
DEFAULT_COLOURS: dict[str, tuple[int, int, int]] = {
    "body": (255, 220, 0),
    "lungs": (0, 200, 255),
    "lung_left": (0, 120, 255),
    "lung_right": (0, 230, 160),
    "bone": (255, 255, 255),
    "fat": (255, 160, 0),
    "soft_tissue": (255, 80, 80),
    "air": (120, 0, 200),
    "metal": (255, 0, 255),
}


def label_map(masks: Mapping[str, npt.NDArray[np.bool_]]) -> tuple[npt.NDArray[np.uint8], dict[int, str]]:
    """Merge boolean masks into one uint8 label map (later masks overwrite earlier ones where they overlap).

    Returns:
        The label map and label value -> structure name (values 1, 2, ... in the order given).
    """
    if not masks:
        raise InputError("no masks to merge", code="ML102")
    if len(masks) > 255:
        raise InputError("at most 255 structures fit a uint8 label map", code="ML125")
    shape = next(iter(masks.values())).shape
    out = np.zeros(shape, dtype=np.uint8)
    names: dict[int, str] = {}
    for value, (name, mask) in enumerate(masks.items(), start=1):
        out[mask] = value
        names[value] = name
    return out, names


def write_mask_nifti(mask: npt.NDArray[np.generic], volume: Volume, path: str | Path) -> Path:
    """Write a mask or label map (indexed ``[k, j, i]`` like ``volume.array``) as NIfTI with the volume's geometry.

    Boolean masks are stored as uint8 0/1.

    Raises:
        InputError: ML125 if the mask shape differs from the volume's.
        MissingDependencyError: ML501 without nibabel.
    """
    try:
        import nibabel as nib
    except ImportError as exc:
        raise MissingDependencyError(
            'writing NIfTI needs nibabel; install it with: pip install "medlens[imaging]"', code="ML501"
        ) from exc
    if mask.shape != volume.array.shape:
        raise InputError(f"mask shape {mask.shape} differs from the volume's {volume.array.shape}", code="ML125")
    data = mask.astype(np.uint8) if mask.dtype == np.bool_ else mask
    nifti_image: Any = nib.Nifti1Image  # nibabel is untyped
    img = nifti_image(np.ascontiguousarray(data.transpose(2, 1, 0)), volume.affine_ras())
    img.set_qform(volume.affine_ras(), code=1)
    img.set_sform(volume.affine_ras(), code=1)
    out = Path(path)
    nib.save(img, str(out))
    return out


def _window(plane: npt.NDArray[np.generic], level: float, width: float) -> npt.NDArray[np.uint8]:
    lo, hi = level - width / 2.0, level + width / 2.0
    scaled = (np.clip(plane.astype(np.float32), lo, hi) - lo) / (hi - lo) * 255.0
    return scaled.astype(np.uint8)


def render_overlay(
    volume: Volume,
    masks: Mapping[str, npt.NDArray[np.bool_]],
    *,
    slice_index: int | None = None,
    window: tuple[float, float] = (40.0, 400.0),
    alpha: float = 0.4,
    colours: Mapping[str, tuple[int, int, int]] | None = None,
) -> npt.NDArray[np.uint8]:
    """RGB image (rows, columns, 3) of one axial slice ``k`` with the masks blended in.

    Args:
        volume: The image.
        masks: Structure name -> mask like ``volume.array``.
        slice_index: Slice ``k``; by default the slice where the masks cover most voxels.
        window: Display (level, width) in HU; the default is a soft-tissue window (level 40, width 400).
        alpha: Opacity of the mask colours.
        colours: Structure -> RGB; :data:`DEFAULT_COLOURS` and grey for others.

    Raises:
        InputError: ML125 for a slice index out of range.
    """
    palette = dict(DEFAULT_COLOURS) | dict(colours or {})
    nk = volume.shape[0]
    if slice_index is None:
        coverage = np.zeros(nk)
        for m in masks.values():
            coverage += m.reshape(nk, -1).sum(axis=1)
        slice_index = int(np.argmax(coverage)) if coverage.any() else nk // 2
    if not 0 <= slice_index < nk:
        raise InputError(f"slice index {slice_index} outside 0..{nk - 1}", code="ML125")
    grey = _window(volume.array[slice_index], *window)
    rgb = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    for name, m in masks.items():
        sel = m[slice_index]
        colour = np.asarray(palette.get(name, (128, 128, 128)), dtype=np.float32)
        rgb[sel] = (1.0 - alpha) * rgb[sel] + alpha * colour
    return rgb.clip(0, 255).astype(np.uint8)


def write_overlay_png(
    volume: Volume,
    masks: Mapping[str, npt.NDArray[np.bool_]],
    path: str | Path,
    *,
    slice_index: int | None = None,
    window: tuple[float, float] = (40.0, 400.0),
    alpha: float = 0.4,
    scale: Sequence[float] | None = None,
) -> Path:
    """Write :func:`render_overlay` as a PNG (Pillow), resized so pixels are square in mm.

    Args:
        volume: The image.
        masks: Structure name -> mask.
        path: Output ``.png`` path.
        slice_index: Axial slice ``k`` (default: the most covered one).
        window: Display (level, width) in HU.
        alpha: Mask opacity.
        scale: Optional (row, column) zoom factors; default makes pixels square using the in-plane spacing.

    Raises:
        MissingDependencyError: ML501 without Pillow.
    """
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError(
            'writing PNG overlays needs Pillow; install it with: pip install "medlens[imaging]"', code="ML501"
        ) from exc
    rgb = render_overlay(volume, masks, slice_index=slice_index, window=window, alpha=alpha)
    img = Image.fromarray(rgb)
    si, sj = volume.spacing[0], volume.spacing[1]
    zoom_rows, zoom_cols = scale if scale is not None else (sj / min(si, sj), si / min(si, sj))
    if (zoom_rows, zoom_cols) != (1.0, 1.0):
        img = img.resize((max(1, round(img.width * zoom_cols)), max(1, round(img.height * zoom_rows))))
    out = Path(path)
    img.save(out, format="PNG")
    return out
