"""Quality-control flags for segmentation masks: empty, touching the volume border, implausible volume.

Flags are advisory: they route a result to review, they never change a mask. Plausible volume ranges come from
``lexicon/structures.yaml`` (generous adult bounds, project choice). A structure that touches the border of the
volume is probably cut by the field of view, so its volume and extents are lower bounds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from medlens.imaging.prompts import load_structures
from medlens.imaging.volume import Volume

__all__ = ["QcFlag", "QcReport", "check_mask"]

QcFlag = Literal["empty", "touches_border", "volume_below_plausible", "volume_above_plausible", "not_hu_like"]

# Faces of the array [k, j, i] in the order reported: (name, array axis, index 0 or -1).
_FACES: tuple[tuple[str, int, int], ...] = (
    ("k_first", 0, 0),
    ("k_last", 0, -1),
    ("j_first", 1, 0),
    ("j_last", 1, -1),
    ("i_first", 2, 0),
    ("i_last", 2, -1),
)
# CT in HU has air near -1000; a "CT" whose minimum is above this is probably not rescaled (raw stored values).
_HU_AIR_CEILING = -500.0


class QcReport(BaseModel):
    """QC of one structure's mask."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    structure: str = Field(description="Structure name.")
    flags: tuple[QcFlag, ...] = Field(default=(), description="Raised flags; empty when all checks pass.")
    border_faces: tuple[str, ...] = Field(default=(), description="Array faces the mask touches, e.g. 'k_first'.")
    volume_ml: float = Field(ge=0, description="Mask volume (mL).")
    plausible_volume_ml: tuple[float, float] | None = Field(default=None, description="Range checked, if any.")

    @property
    def ok(self) -> bool:
        """True when no flag is raised."""
        return not self.flags


def check_mask(volume: Volume, mask: npt.NDArray[np.bool_], structure: str) -> QcReport:
    """Flag an empty mask, a mask touching the volume border, a volume outside the plausible range.

    ``not_hu_like`` is raised for CT (or unknown modality) volumes whose minimum is above -500, which suggests
    the values were not rescaled to Hounsfield units, so HU thresholds do not apply.
    """
    flags: list[QcFlag] = []
    count = int(np.count_nonzero(mask))
    volume_ml = count * volume.voxel_volume_ml
    faces: list[str] = []
    if count == 0:
        flags.append("empty")
    else:
        for name, axis, idx in _FACES:
            if np.take(mask, idx, axis=axis).any():
                faces.append(name)
        if faces:
            flags.append("touches_border")
    plausible: tuple[float, float] | None = None
    try:
        plausible = load_structures().structure(structure).plausible_volume_ml
    except KeyError:
        plausible = None
    if plausible is not None and count:
        if volume_ml < plausible[0]:
            flags.append("volume_below_plausible")
        elif volume_ml > plausible[1]:
            flags.append("volume_above_plausible")
    if volume.modality in (None, "CT") and float(volume.array.min()) > _HU_AIR_CEILING:
        flags.append("not_hu_like")
    return QcReport(
        structure=structure,
        flags=tuple(flags),
        border_faces=tuple(faces),
        volume_ml=volume_ml,
        plausible_volume_ml=plausible,
    )
