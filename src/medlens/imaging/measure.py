"""Per-structure measurements: volume, extents, HU statistics and a documented radiomics subset.

Radiomics definitions follow the PyRadiomics documentation (van Griethuysen JJM et al., Cancer Res
2017;77(21):e104-e107; https://pyradiomics.readthedocs.io, "Radiomic Features"), which aligns with the IBSI
reference manual (Zwanenburg A et al., Radiology 2020;295:328-338). The subset implemented here, with PyRadiomics'
feature names and default settings (no resampling, no normalisation, ``binWidth`` 25, ``voxelArrayShift`` 0):

- first order: Energy, TotalEnergy, Entropy, Minimum, 10Percentile, 90Percentile, Maximum, Mean, Median,
  InterquartileRange, Range, MeanAbsoluteDeviation, RobustMeanAbsoluteDeviation, RootMeanSquared, Skewness,
  Kurtosis (not excess), Variance, Uniformity. Percentiles use numpy's linear interpolation as PyRadiomics does.
- shape (voxel based only): VoxelVolume, MajorAxisLength, MinorAxisLength, LeastAxisLength, Elongation, Flatness
  (eigenvalues of the population covariance of the voxel centres' physical coordinates). Mesh features (MeshVolume,
  SurfaceArea, Sphericity, Maximum 2D/3D diameters) need a marching-cubes surface and are not implemented.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import InputError
from medlens.imaging.volume import Volume

__all__ = [
    "RADIOMICS_BIN_WIDTH",
    "HuStats",
    "StructureMeasurement",
    "first_order_features",
    "measure_structure",
    "shape_features",
]

#: PyRadiomics' default fixed bin width for discretisation (``binWidth``).
RADIOMICS_BIN_WIDTH = 25.0
_EPS = np.spacing(1)
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class HuStats(BaseModel):
    """Intensity statistics inside a mask (HU for CT)."""

    model_config = _FROZEN

    mean: float = Field(description="Mean.")
    sd: float = Field(description="Population standard deviation.")
    min: float = Field(description="Minimum.")
    max: float = Field(description="Maximum.")
    median: float = Field(description="Median.")


class StructureMeasurement(BaseModel):
    """What medlens measures for one segmented structure."""

    model_config = _FROZEN

    structure: str = Field(description="Structure name, e.g. 'lung_left'.")
    voxel_count: int = Field(ge=0, description="Voxels in the mask.")
    volume_ml: float = Field(ge=0, description="Volume in millilitres (voxel count x voxel volume).")
    extent_mm: tuple[float, float, float] = Field(
        description="Bounding-box size (mm) along the voxel axes i, j, k (0 for an empty mask)."
    )
    bbox_lps_mm: tuple[tuple[float, float, float], tuple[float, float, float]] | None = Field(
        default=None, description="LPS corners (mm) of the bounding box of voxel centres; None when empty."
    )
    intensity: HuStats | None = Field(default=None, description="Intensity statistics; None when empty.")
    radiomics: dict[str, float] = Field(
        default_factory=dict, description="PyRadiomics-named features of the documented subset."
    )


def first_order_features(
    values: npt.ArrayLike,
    *,
    voxel_volume_mm3: float = 1.0,
    bin_width: float = RADIOMICS_BIN_WIDTH,
    voxel_array_shift: float = 0.0,
) -> dict[str, float]:
    """PyRadiomics first-order features of the intensities inside a mask.

    Args:
        values: Voxel intensities inside the mask (any shape; flattened).
        voxel_volume_mm3: Volume of one voxel, for TotalEnergy.
        bin_width: Discretisation bin width for Entropy and Uniformity (PyRadiomics ``binWidth``).
        voxel_array_shift: Added to intensities for Energy, TotalEnergy and RootMeanSquared only (PyRadiomics
            ``voxelArrayShift``; its baselines use 2000 so CT values are positive).

    Raises:
        InputError: ML102 when there are no values.

    Example:
        >>> f = first_order_features([1.0, 2.0, 3.0, 4.0])
        >>> f["Mean"], f["Range"], f["Energy"]
        (2.5, 3.0, 30.0)
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise InputError("no voxels inside the mask", code="ML102")
    mean = float(x.mean())
    dev = x - mean
    m2 = float(np.mean(dev**2))
    m3 = float(np.mean(dev**3))
    m4 = float(np.mean(dev**4))
    p10, p25, p50, p75, p90 = (float(v) for v in np.percentile(x, [10, 25, 50, 75, 90]))
    robust = x[(x >= p10) & (x <= p90)]
    # PyRadiomics imageoperations.getBinEdges: edges from floor(min / w) * w to past max, step w.
    low = np.floor(x.min() / bin_width) * bin_width
    edges = np.arange(low, x.max() + bin_width * 1.5, bin_width)
    if len(edges) < 2:
        edges = np.array([low, low + bin_width])
    counts, _ = np.histogram(x, bins=edges)
    p = counts[counts > 0] / x.size
    energy = float(np.sum((x + voxel_array_shift) ** 2))
    return {
        "Energy": energy,
        "TotalEnergy": energy * voxel_volume_mm3,
        "Entropy": float(-np.sum(p * np.log2(p + _EPS))),
        "Minimum": float(x.min()),
        "10Percentile": p10,
        "90Percentile": p90,
        "Maximum": float(x.max()),
        "Mean": mean,
        "Median": p50,
        "InterquartileRange": p75 - p25,
        "Range": float(x.max() - x.min()),
        "MeanAbsoluteDeviation": float(np.mean(np.abs(dev))),
        "RobustMeanAbsoluteDeviation": float(np.mean(np.abs(robust - robust.mean()))) if robust.size else 0.0,
        "RootMeanSquared": float(np.sqrt(energy / x.size)),
        "Skewness": m3 / m2**1.5 if m2 > 0 else 0.0,
        "Kurtosis": m4 / m2**2 if m2 > 0 else 0.0,
        "Variance": m2,
        "Uniformity": float(np.sum(p**2)),
    }


def shape_features(mask: npt.NDArray[np.bool_], volume: Volume) -> dict[str, float]:
    """PyRadiomics voxel-based shape features (see the module docstring for the subset)."""
    kk, jj, ii = np.nonzero(mask)
    n = kk.size
    out: dict[str, float] = {"VoxelVolume": float(n) * float(np.prod(volume.spacing))}
    if n < 2:
        return out
    coords = volume.index_to_lps(np.stack([ii, jj, kk], axis=1).astype(np.float64))
    eig = np.sort(
        np.clip(np.linalg.eigvalsh(np.cov(coords, rowvar=False, bias=True)), 0.0, None)
    )  # least, minor, major
    least, minor, major = (float(v) for v in eig)
    out |= {
        "MajorAxisLength": 4.0 * np.sqrt(major),
        "MinorAxisLength": 4.0 * np.sqrt(minor),
        "LeastAxisLength": 4.0 * np.sqrt(least),
        "Elongation": float(np.sqrt(minor / major)) if major > 0 else 0.0,
        "Flatness": float(np.sqrt(least / major)) if major > 0 else 0.0,
    }
    return out


def measure_structure(
    volume: Volume, mask: npt.NDArray[np.bool_], structure: str, *, radiomics: bool = True
) -> StructureMeasurement:
    """Measure one structure of ``volume`` given its mask (indexed like ``volume.array``).

    Args:
        volume: The image (HU for CT).
        mask: Boolean mask of the structure.
        structure: Its name, copied to the result.
        radiomics: Also compute the first-order and shape subset.

    Raises:
        InputError: ML125 when the mask shape differs from the volume's.
    """
    if mask.shape != volume.array.shape:
        raise InputError(f"mask shape {mask.shape} differs from the volume's {volume.array.shape}", code="ML125")
    mask = mask.astype(bool, copy=False)
    count = int(mask.sum())
    if count == 0:
        return StructureMeasurement(structure=structure, voxel_count=0, volume_ml=0.0, extent_mm=(0.0, 0.0, 0.0))
    kk, jj, ii = np.nonzero(mask)
    lo = np.array([ii.min(), jj.min(), kk.min()], dtype=np.float64)
    hi = np.array([ii.max(), jj.max(), kk.max()], dtype=np.float64)
    extent = (hi - lo + 1.0) * np.asarray(volume.spacing)
    corners = volume.index_to_lps(np.stack([lo, hi]))
    c_lo, c_hi = corners.min(axis=0), corners.max(axis=0)
    values: npt.NDArray[Any] = volume.array[mask].astype(np.float64)
    stats = HuStats(
        mean=float(values.mean()),
        sd=float(values.std()),
        min=float(values.min()),
        max=float(values.max()),
        median=float(np.median(values)),
    )
    features: dict[str, float] = {}
    if radiomics:
        voxel_mm3 = float(np.prod(volume.spacing))
        features = first_order_features(values, voxel_volume_mm3=voxel_mm3) | shape_features(mask, volume)
    return StructureMeasurement(
        structure=structure,
        voxel_count=count,
        volume_ml=count * volume.voxel_volume_ml,
        extent_mm=(float(extent[0]), float(extent[1]), float(extent[2])),
        bbox_lps_mm=(
            (float(c_lo[0]), float(c_lo[1]), float(c_lo[2])),
            (float(c_hi[0]), float(c_hi[1]), float(c_hi[2])),
        ),
        intensity=stats,
        radiomics=features,
    )
