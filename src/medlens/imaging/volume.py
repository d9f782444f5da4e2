"""Image volumes: one in-memory shape for DICOM series, NIfTI and NRRD, with explicit patient geometry.

Conventions (read this before indexing a :class:`Volume`):

- ``array`` is indexed ``array[k, j, i]`` ("z, y, x"): ``k`` is the slice, ``j`` the row, ``i`` the column, as
  numpy/pydicom present a DICOM slice (``pixel_array[row, column]``).
- World coordinates are **DICOM patient coordinates, LPS+**: +x towards the patient's Left, +y Posterior,
  +z Superior (DICOM PS3.3 C.7.6.2.1.1). NIfTI stores RAS+ (x towards Right, y Anterior); the reader converts
  explicitly with ``diag(-1, -1, 1)`` and :meth:`Volume.affine_ras` converts back.
- ``spacing`` is ``(si, sj, sk)`` in mm along the voxel axes ``i, j, k``; ``direction`` is a 3x3 matrix whose
  *columns* are the LPS unit vectors of the ``i, j, k`` axes; ``origin`` is the LPS position (mm) of the centre of
  voxel ``(i, j, k) = (0, 0, 0)``. So ``lps = origin + direction @ (spacing * (i, j, k))``.
- ``orientation`` is the nibabel-style axis code of ``(i, j, k)`` in RAS terms: each letter names the direction
  in which that axis *increases* (``"LPS"`` for a standard axial DICOM series, ``"RAS"`` for a canonical NIfTI).

DICOM series are assembled without SimpleITK: slices are sorted by ``ImagePositionPatient`` projected on the slice
normal (the cross product of the ``ImageOrientationPatient`` cosines), which is robust to missing or wrong
``InstanceNumber`` and to a blank ``SOPClassUID`` (a real defect of anonymised exports).

Error codes (``InputError``): ML102 no image data, ML108 path not found, ML109 unsupported format, ML120 folder
holds no readable DICOM image, ML121 several series and none chosen, ML122 inconsistent slice geometry
(orientation, size, duplicate positions), ML123 slice gap beyond tolerance, ML124 pixel data cannot be decoded,
ML125 unsupported image layout (4-D, multi-frame, unknown NRRD space).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from medlens.core.errors import InputError, MissingDependencyError

__all__ = [
    "LPS_TO_RAS",
    "Volume",
    "list_dicom_series",
    "load_dicom_series",
    "load_nifti",
    "load_nrrd",
    "load_volume",
    "orientation_code",
    "reorient",
]

log = logging.getLogger(__name__)

#: Flips x and y: maps LPS+ world coordinates to RAS+ and back (the matrix is its own inverse).
LPS_TO_RAS: npt.NDArray[np.float64] = np.diag([-1.0, -1.0, 1.0])

_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_NRRD_SUFFIXES = (".nrrd", ".nhdr")
_DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")
# Relative deviation of one slice step from the median step above which the series is flagged (1 %), and above
# which it is refused as a gap (a missing slice shows as +100 %). Project choice: the flag catches rounding noise in
# ImagePositionPatient beyond what scanners write (typically < 0.1 %), the error catches dropped slices.
SPACING_FLAG_TOLERANCE = 0.01
SPACING_GAP_TOLERANCE = 0.5


def _missing(package: str, exc: ImportError) -> MissingDependencyError:
    return MissingDependencyError(
        f'reading images needs {package}; install it with: pip install "medlens[imaging]"', code="ML501"
    )


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image with its patient geometry (see the module docstring for axis and world conventions).

    Attributes:
        array: Voxel values indexed ``[k, j, i]``; CT is in Hounsfield units after DICOM rescale.
        spacing: Voxel size (mm) along ``i, j, k``.
        origin: LPS position (mm) of the centre of voxel ``(0, 0, 0)``.
        direction: 3x3 matrix; column ``n`` is the LPS unit vector of voxel axis ``n`` (``i, j, k``).
        modality: DICOM modality (``"CT"``, ``"MR"``...) or None when the format does not say (NIfTI, NRRD).
        source: Where it was read from (file or folder).
        flags: Defects noticed while reading, e.g. ``"inconsistent_slice_spacing"``, ``"blank_sop_class_uid"``.
        meta: Other metadata (DICOM UIDs, the sorted source files of a series, rescale values...).
    """

    array: npt.NDArray[Any]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(3))
    modality: str | None = None
    source: str | None = None
    flags: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise InputError(f"a volume must be 3-D, got shape {self.array.shape}", code="ML125", source=self.source)
        direction = np.asarray(self.direction, dtype=np.float64)
        if direction.shape != (3, 3):
            raise InputError("direction must be a 3x3 matrix", code="ML125", source=self.source)
        object.__setattr__(self, "direction", direction)
        if any(not s > 0 for s in self.spacing):
            raise InputError(f"voxel spacing must be positive, got {self.spacing}", code="ML125", source=self.source)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(nk, nj, ni)``."""
        nk, nj, ni = self.array.shape
        return int(nk), int(nj), int(ni)

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in millilitres (1 mL = 1000 mm^3)."""
        return float(np.prod(self.spacing)) / 1000.0

    @property
    def orientation(self) -> str:
        """Axis code of ``(i, j, k)`` in RAS letters, e.g. ``"LPS"`` or ``"RAS"`` (see :func:`orientation_code`)."""
        return orientation_code(self.direction)

    def affine_lps(self) -> npt.NDArray[np.float64]:
        """4x4 matrix mapping homogeneous voxel indices ``(i, j, k, 1)`` to LPS mm."""
        affine = np.eye(4)
        affine[:3, :3] = self.direction * np.asarray(self.spacing)[None, :]
        affine[:3, 3] = self.origin
        return affine

    def affine_ras(self) -> npt.NDArray[np.float64]:
        """4x4 matrix mapping ``(i, j, k, 1)`` to RAS mm: the NIfTI ``qform``/``sform`` convention."""
        flip = np.diag([-1.0, -1.0, 1.0, 1.0])
        return flip @ self.affine_lps()

    def index_to_lps(self, ijk: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """LPS mm of voxel indices given as ``(..., 3)`` in ``(i, j, k)`` order (not array order)."""
        idx = np.asarray(ijk, dtype=np.float64)
        out: npt.NDArray[np.float64] = idx @ (self.direction * np.asarray(self.spacing)[None, :]).T + np.asarray(
            self.origin
        )
        return out

    def with_array(self, array: npt.NDArray[Any]) -> Volume:
        """A volume with the same geometry holding ``array`` (e.g. a mask); shapes must match."""
        if array.shape != self.array.shape:
            raise InputError(f"array shape {array.shape} differs from the volume's {self.array.shape}", code="ML125")
        return Volume(
            array=array,
            spacing=self.spacing,
            origin=self.origin,
            direction=self.direction,
            modality=self.modality,
            source=self.source,
            flags=self.flags,
            meta=self.meta,
        )


def reorient(volume: Volume, orientation: str = "LPS") -> Volume:
    """The same image with its voxel axes permuted/flipped so that :attr:`Volume.orientation` is ``orientation``.

    Only exact axis permutations and flips are applied (no resampling); an oblique direction matrix is treated by
    its dominant axes, which is what the orientation code describes.

    Raises:
        InputError: ML125 if ``orientation`` is not a valid three-letter code (one of L/R, P/A, S/I each).
    """
    target = orientation.upper()
    pairs = {"L": (0, 1), "R": (0, -1), "P": (1, 1), "A": (1, -1), "S": (2, 1), "I": (2, -1)}
    if len(target) != 3 or any(c not in pairs for c in target) or len({pairs[c][0] for c in target}) != 3:
        raise InputError(f"invalid orientation code {orientation!r}; e.g. 'LPS' or 'RAS'", code="ML125")
    d = volume.direction
    current = [
        (int(np.argmax(np.abs(d[:, n]))), 1 if d[int(np.argmax(np.abs(d[:, n]))), n] > 0 else -1) for n in range(3)
    ]
    array = volume.array  # [k, j, i]: voxel axis n lives at array axis 2 - n
    new_dir = np.zeros((3, 3))
    new_spacing: list[float] = []
    origin_idx = np.zeros(3)
    src_axes: list[int] = []
    flips: list[bool] = []
    for world_axis, sign in (pairs[c] for c in target):
        n = next(m for m in range(3) if current[m][0] == world_axis)
        flip = current[n][1] != sign
        src_axes.append(n)
        flips.append(flip)
        new_dir[:, len(new_spacing)] = -d[:, n] if flip else d[:, n]
        new_spacing.append(volume.spacing[n])
        if flip:
            origin_idx[n] = volume.shape[2 - n] - 1
    # New voxel axis m comes from old axis src_axes[m]; build array order [k', j', i'].
    out = np.transpose(array, [2 - src_axes[2], 2 - src_axes[1], 2 - src_axes[0]])
    for m in range(3):
        if flips[m]:
            out = np.flip(out, axis=2 - m)
    origin = volume.index_to_lps(origin_idx)
    return Volume(
        array=np.ascontiguousarray(out),
        spacing=(new_spacing[0], new_spacing[1], new_spacing[2]),
        origin=(float(origin[0]), float(origin[1]), float(origin[2])),
        direction=new_dir,
        modality=volume.modality,
        source=volume.source,
        flags=volume.flags,
        meta=volume.meta,
    )


def orientation_code(direction: npt.ArrayLike) -> str:
    """Axis code of a direction matrix (columns = LPS unit vectors of ``i, j, k``), nibabel style.

    Each letter names the RAS-world direction in which that voxel axis increases, taking the dominant component:
    ``orientation_code(np.eye(3)) == "LPS"``.
    """
    d = np.asarray(direction, dtype=np.float64)
    letters = (("L", "R"), ("P", "A"), ("S", "I"))
    out = []
    for col in range(3):
        axis = int(np.argmax(np.abs(d[:, col])))
        out.append(letters[axis][0] if d[axis, col] > 0 else letters[axis][1])
    return "".join(out)


def _split_affine(
    affine_lps: npt.NDArray[np.float64],
) -> tuple[tuple[float, float, float], tuple[float, float, float], npt.NDArray[np.float64]]:
    m = affine_lps[:3, :3]
    spacing = np.linalg.norm(m, axis=0)
    if np.any(spacing <= 0):
        raise InputError("the image affine has a zero-length axis", code="ML125")
    direction = m / spacing[None, :]
    sp = (float(spacing[0]), float(spacing[1]), float(spacing[2]))
    origin = (float(affine_lps[0, 3]), float(affine_lps[1, 3]), float(affine_lps[2, 3]))
    return sp, origin, direction


def _squeeze_to_3d(data: npt.NDArray[Any], source: str) -> npt.NDArray[Any]:
    if data.ndim == 2:
        return data[:, :, None]
    if data.ndim > 3 and all(n == 1 for n in data.shape[3:]):
        return data.reshape(data.shape[:3])
    if data.ndim != 3:
        raise InputError(
            f"image has shape {data.shape}; only 3-D volumes (or 4-D with one frame) are supported",
            code="ML125",
            source=source,
        )
    return data


def load_nifti(path: str | Path) -> Volume:
    """Read a NIfTI-1/2 file (``.nii`` or ``.nii.gz``); ``scl_slope``/``scl_inter`` are applied by nibabel.

    The RAS+ affine NIfTI stores (``sform`` if set, else ``qform``, as nibabel chooses) is converted to LPS+.

    Raises:
        InputError: ML108 missing file, ML109 not a NIfTI file, ML125 not 3-D.
    """
    try:
        import nibabel as nib
    except ImportError as exc:
        raise _missing("nibabel", exc) from exc
    source = str(path)
    if not Path(path).is_file():
        raise InputError("file not found", code="ML108", source=source)
    try:
        img: Any = nib.load(source)
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # nibabel raises several unrelated types for a bad file
        raise InputError(f"not a readable NIfTI file ({type(exc).__name__})", code="ML109", source=source) from exc
    data = _squeeze_to_3d(np.asarray(data), source)
    affine_ras = np.asarray(img.affine, dtype=np.float64)
    spacing, origin, direction = _split_affine(np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine_ras)
    return Volume(
        array=np.ascontiguousarray(data.transpose(2, 1, 0)),
        spacing=spacing,
        origin=origin,
        direction=direction,
        modality=None,
        source=source,
        meta={"format": "nifti"},
    )


# NRRD "space" values (NRRD format spec, "space" field) -> matrix taking that space to LPS.
_NRRD_SPACES: dict[str, tuple[float, float, float]] = {
    "left-posterior-superior": (1.0, 1.0, 1.0),
    "lps": (1.0, 1.0, 1.0),
    "right-anterior-superior": (-1.0, -1.0, 1.0),
    "ras": (-1.0, -1.0, 1.0),
    "left-anterior-superior": (1.0, -1.0, 1.0),
    "las": (1.0, -1.0, 1.0),
}


def load_nrrd(path: str | Path) -> Volume:
    """Read an NRRD file with pynrrd, honouring ``space``, ``space directions`` and ``space origin``.

    Raises:
        InputError: ML108 missing file, ML109 unreadable, ML125 unknown space or not 3-D.
    """
    try:
        import nrrd  # type: ignore[import-untyped]
    except ImportError as exc:
        raise _missing("pynrrd", exc) from exc
    source = str(path)
    if not Path(path).is_file():
        raise InputError("file not found", code="ML108", source=source)
    try:
        # index_order="F" gives data[i, j, k] matching the order of "space directions" rows.
        data, header = nrrd.read(source, index_order="F")
    except Exception as exc:  # pynrrd raises NRRDError, ValueError, OSError...
        raise InputError(f"not a readable NRRD file ({type(exc).__name__})", code="ML109", source=source) from exc
    data = _squeeze_to_3d(np.asarray(data), source)
    space = str(header.get("space", "left-posterior-superior")).lower()
    if space not in _NRRD_SPACES:
        raise InputError(
            f"NRRD space {space!r} is not supported; supported: {', '.join(sorted(_NRRD_SPACES))}",
            code="ML125",
            source=source,
        )
    directions = header.get("space directions")
    if directions is None:
        vectors = np.diag(np.asarray(header.get("spacings", (1.0, 1.0, 1.0)), dtype=np.float64)[:3])
    else:
        rows = [np.asarray(v, dtype=np.float64) for v in directions if v is not None and not np.all(np.isnan(v))]
        if len(rows) != 3:
            raise InputError("NRRD 'space directions' must give three spatial axes", code="ML125", source=source)
        vectors = np.stack(rows, axis=1)  # columns = axis vectors in the file's space
    to_lps = np.diag(_NRRD_SPACES[space])
    affine = np.eye(4)
    affine[:3, :3] = to_lps @ vectors
    affine[:3, 3] = to_lps @ np.asarray(header.get("space origin", (0.0, 0.0, 0.0)), dtype=np.float64)
    spacing, origin, direction = _split_affine(affine)
    return Volume(
        array=np.ascontiguousarray(data.transpose(2, 1, 0)),
        spacing=spacing,
        origin=origin,
        direction=direction,
        modality=None,
        source=source,
        meta={"format": "nrrd"},
    )


# ------------------------------------------------------------------------------------------------------ DICOM


@dataclass(frozen=True)
class _SliceHeader:
    path: Path
    series_uid: str
    position: tuple[float, float, float]
    orientation: tuple[float, ...]
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _read_headers(files: Sequence[Path]) -> tuple[list[_SliceHeader], dict[str, list[str]]]:
    """Headers of the image slices among ``files``; also non-image files per reason, for the error message."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    slices: list[_SliceHeader] = []
    skipped: dict[str, list[str]] = {}
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=path.suffix.lower() in _DICOM_SUFFIXES)
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError, KeyError):
            skipped.setdefault("not DICOM", []).append(path.name)
            continue
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            skipped.setdefault("multi-frame (not supported)", []).append(path.name)
            continue
        ipp, iop = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
        if ipp is None or iop is None or "Rows" not in ds or len(ipp) != 3 or len(iop) != 6:
            skipped.setdefault("no image geometry (not an image slice)", []).append(path.name)
            continue
        ps = ds.get("PixelSpacing") or (1.0, 1.0)
        slices.append(
            _SliceHeader(
                path=path,
                series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
                position=(float(ipp[0]), float(ipp[1]), float(ipp[2])),
                orientation=tuple(float(v) for v in iop),
                rows=int(ds.Rows),
                columns=int(ds.Columns),
                pixel_spacing=(float(ps[0]), float(ps[1])),
            )
        )
    return slices, skipped


def list_dicom_series(folder: str | Path) -> dict[str, int]:
    """Series found in ``folder`` (recursively): SeriesInstanceUID (``""`` when blank) -> number of image slices."""
    try:
        import pydicom  # noqa: F401
    except ImportError as exc:
        raise _missing("pydicom", exc) from exc
    slices, _ = _read_headers(_dicom_files(Path(folder)))
    counts: dict[str, int] = {}
    for s in slices:
        counts[s.series_uid] = counts.get(s.series_uid, 0) + 1
    return counts


def _check_geometry(slices: list[_SliceHeader], source: str) -> None:
    first = slices[0]
    for s in slices[1:]:
        if (s.rows, s.columns) != (first.rows, first.columns):
            raise InputError(
                f"slice {s.path.name} is {s.rows}x{s.columns}, others {first.rows}x{first.columns}",
                code="ML122",
                source=source,
            )
        if not np.allclose(s.orientation, first.orientation, atol=1e-4):
            raise InputError(
                f"slice {s.path.name} has a different ImageOrientationPatient; pick one orientation",
                code="ML122",
                source=source,
            )
        if not np.allclose(s.pixel_spacing, first.pixel_spacing, rtol=1e-4):
            raise InputError(f"slice {s.path.name} has a different PixelSpacing", code="ML122", source=source)


def _decode(path: Path, source: str) -> tuple[npt.NDArray[np.float32], Any]:
    import pydicom

    ds = pydicom.dcmread(path)
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # pydicom raises NotImplementedError/RuntimeError/ValueError per handler
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax))
        raise InputError(
            f"cannot decode the pixel data of {path.name} (transfer syntax {name}); install a decoder such as "
            "'pip install pylibjpeg pylibjpeg-openjpeg pylibjpeg-libjpeg' or convert the series to uncompressed",
            code="ML124",
            source=source,
        ) from exc
    if pixels.ndim != 2:
        raise InputError(f"{path.name} is not a single-frame greyscale image", code="ML125", source=source)
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return (pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)), ds


def load_dicom_series(
    folder: str | Path,
    *,
    series_uid: str | None = None,
    spacing_tolerance: float = SPACING_GAP_TOLERANCE,
) -> Volume:
    """Assemble one DICOM series from a folder (searched recursively) into a volume in HU (for CT).

    Slices are sorted by ``ImagePositionPatient`` projected on the slice normal; pixel values are rescaled with
    each slice's ``RescaleSlope``/``RescaleIntercept`` (PS3.3 C.11.1.1.2) into float32. Compressed transfer syntaxes
    are decoded by whichever pydicom pixel handler is installed (Pillow handles JPEG 2000 and baseline JPEG).

    Args:
        folder: Folder holding the series (other files are skipped).
        series_uid: SeriesInstanceUID to read when the folder holds several series (``""`` picks the series whose
            UID is blank).
        spacing_tolerance: Relative deviation of a slice step from the median step above which loading fails
            (a gap, e.g. a missing slice). Smaller deviations above 1 % only flag ``inconsistent_slice_spacing``.

    Raises:
        InputError: ML108, ML120, ML121 (lists the series), ML122, ML123, ML124 (names the file), ML125.
    """
    try:
        import pydicom  # noqa: F401
    except ImportError as exc:
        raise _missing("pydicom", exc) from exc
    folder = Path(folder)
    source = str(folder)
    if not folder.exists():
        raise InputError("folder not found", code="ML108", source=source)
    files = [folder] if folder.is_file() else _dicom_files(folder)
    slices, skipped = _read_headers(files)
    if not slices:
        reasons = "; ".join(f"{k}: {len(v)}" for k, v in sorted(skipped.items())) or "no files"
        raise InputError(f"no readable DICOM image slice ({reasons})", code="ML120", source=source)
    groups: dict[str, list[_SliceHeader]] = {}
    for s in slices:
        groups.setdefault(s.series_uid, []).append(s)
    if series_uid is None:
        if len(groups) > 1:
            listing = ", ".join(f"{uid or '<blank>'} ({len(g)} slices)" for uid, g in sorted(groups.items()))
            raise InputError(
                f"the folder holds {len(groups)} series; choose one with series_uid=: {listing}",
                code="ML121",
                source=source,
            )
        series_uid = next(iter(groups))
    if series_uid not in groups:
        listing = ", ".join(uid or "<blank>" for uid in sorted(groups))
        raise InputError(f"series {series_uid!r} not found; available: {listing}", code="ML121", source=source)
    chosen = groups[series_uid]
    _check_geometry(chosen, source)

    iop = np.asarray(chosen[0].orientation)
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    distances = np.array([float(np.dot(s.position, normal)) for s in chosen])
    order = np.argsort(distances, kind="stable")
    chosen = [chosen[int(n)] for n in order]
    distances = distances[order]

    flags: list[str] = []
    steps = np.diff(distances)
    if len(chosen) > 1:
        if np.any(steps < 1e-3):
            dup = chosen[int(np.argmin(steps)) + 1].path.name
            raise InputError(
                f"two slices share one position (e.g. {dup}); the folder may hold two acquisitions of one series",
                code="ML122",
                source=source,
            )
        step = float(np.median(steps))
        deviation = np.abs(steps - step) / step
        if float(deviation.max()) > spacing_tolerance:
            where = chosen[int(np.argmax(deviation)) + 1].path.name
            raise InputError(
                f"slice gap of {float(steps.max()):.3g} mm before {where} (median step {step:.3g} mm); a slice may "
                "be missing. Pass a larger spacing_tolerance to read it anyway (resampled geometry will be wrong)",
                code="ML123",
                source=source,
            )
        if float(deviation.max()) > SPACING_FLAG_TOLERANCE:
            flags.append("inconsistent_slice_spacing")
            log.warning(
                "series in %s has inconsistent slice spacing (max deviation %.1f%%)", source, 100 * deviation.max()
            )
    else:
        step = 1.0
        flags.append("single_slice")

    planes: list[npt.NDArray[np.float32]] = []
    first_ds: Any = None
    for s in chosen:
        pixels, ds = _decode(s.path, source)
        planes.append(pixels)
        if first_ds is None:
            first_ds = ds
    assert first_ds is not None
    sop_class = str(first_ds.get("SOPClassUID", "") or "")
    if not sop_class:
        flags.append("blank_sop_class_uid")
        sop_class = str(getattr(first_ds.file_meta, "MediaStorageSOPClassUID", "") or "")
    if not series_uid:
        flags.append("blank_series_instance_uid")
    direction = np.stack([row_cos, col_cos, normal], axis=1)
    # PixelSpacing is (row spacing, column spacing) = (between rows -> along j, between columns -> along i).
    ps_row, ps_col = chosen[0].pixel_spacing
    return Volume(
        array=np.stack(planes, axis=0),
        spacing=(ps_col, ps_row, step),
        origin=chosen[0].position,
        direction=direction,
        modality=str(first_ds.get("Modality", "") or "") or None,
        source=source,
        flags=tuple(flags),
        meta={
            "format": "dicom",
            "series_instance_uid": series_uid,
            "study_instance_uid": str(first_ds.get("StudyInstanceUID", "") or ""),
            "sop_class_uid": sop_class,
            "files": tuple(str(s.path) for s in chosen),
            "skipped_files": {k: len(v) for k, v in skipped.items()},
        },
    )


def load_volume(path: str | Path, *, series_uid: str | None = None) -> Volume:
    """Read a volume from a NIfTI file, an NRRD file, a DICOM file or a folder holding a DICOM series.

    Args:
        path: ``.nii``/``.nii.gz``, ``.nrrd``/``.nhdr``, or a folder (or a single DICOM file).
        series_uid: For DICOM folders holding several series, the SeriesInstanceUID to read.

    Raises:
        InputError: ML108 missing path, ML109 unsupported format, and the codes of the format readers.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("path not found", code="ML108", source=str(p))
    name = p.name.lower()
    if p.is_dir():
        return load_dicom_series(p, series_uid=series_uid)
    if name.endswith(_NIFTI_SUFFIXES):
        return load_nifti(p)
    if name.endswith(_NRRD_SUFFIXES):
        return load_nrrd(p)
    if name.endswith(_DICOM_SUFFIXES) or _has_dicm_preamble(p):
        return load_dicom_series(p, series_uid=series_uid)
    raise InputError(
        "unsupported image format; supported: .nii, .nii.gz, .nrrd, .nhdr, DICOM file or series folder",
        code="ML109",
        source=str(p),
    )


def _has_dicm_preamble(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"
