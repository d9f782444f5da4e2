"""From a ``radiology.findings`` lesion to the input of the Lung-RADS v2022 engine (``medlens.guidelines``).

Only what the report states is passed on; anything the engine needs that the report leaves open makes the answer
``None`` (the caller reports "insufficient input") rather than a guess:

* the lesion must be an affirmed lung nodule, mass or granuloma (not negated, uncertain, hypothetical, historical or
  about someone else; no organ other than the lung named);
* its type comes from the composition words: part-solid, ground-glass (non-solid) or solid; a densely or completely
  "calcified" lesion, or a fat-containing one, is passed as solid with the benign feature set (Lung-RADS v2022,
  category 1: benign calcification or macroscopic fat); "subsolid" (part-solid or ground-glass) and no composition
  at all give None;
* its status comes from the stated change: none stated -> ``baseline`` on a baseline exam (None on a follow-up);
  ``new`` and ``stable`` as written; ``increased`` -> ``growing`` only when the prior and current mean diameters are
  both stated and differ by more than 1.5 mm (Lung-RADS v2022 definition of growth); decreased or resolved -> None.

The 4X "suspicious features" and juxtapleural flags are the reader's call and are never set here.
"""

from __future__ import annotations

from medlens.guidelines.lung_rads import LungRadsNodule, NoduleStatus, NoduleType
from medlens.radiology.findings_schema import Lesion

__all__ = ["lung_rads_input"]

_LUNG_KINDS = frozenset({"nodule", "mass", "granuloma"})
# Lung-RADS v2022: growth is an increase in mean diameter of more than 1.5 mm (within 12 months).
_GROWTH_MM = 1.5


def lung_rads_input(lesion: Lesion, *, baseline: bool, nodule_id: str = "") -> LungRadsNodule | None:
    """The Lung-RADS v2022 nodule a lesion states, or None when the report leaves the engine's input open.

    Args:
        lesion: one lesion of ``radiology.findings``.
        baseline: True for a baseline (first) screening CT, False for a follow-up.
        nodule_id: free id written into the nodule.

    Returns:
        The nodule, or None (not an affirmed lung nodule, type or status not stated).
    """
    a = lesion.assertion
    if a.negated or a.uncertain or a.hypothetical or a.historical or a.family:
        return None
    if lesion.kind not in _LUNG_KINDS:
        return None
    if lesion.location is not None and lesion.location.organ not in (None, "lung"):
        return None
    values = {c.value for c in lesion.composition}
    benign_calcification = "calcified" in values
    fat = "fat_containing" in values
    nodule_type: NoduleType
    if "part_solid" in values:
        nodule_type = "part_solid"
    elif "ground_glass" in values:
        nodule_type = "ground_glass"
    elif "solid" in values or benign_calcification or fat:
        nodule_type = "solid"
    else:
        return None
    status = _status(lesion, baseline=baseline)
    if status is None:
        return None
    solid = lesion.solid_component.value_mm if lesion.solid_component is not None else None
    return LungRadsNodule(
        nodule_id=nodule_id,
        nodule_type=nodule_type,
        status=status,
        mean_diameter_mm=lesion.mean_diameter_mm,
        solid_component_mm=solid if nodule_type == "part_solid" else None,
        benign_calcification=benign_calcification,
        fat_containing=fat,
    )


def _status(lesion: Lesion, *, baseline: bool) -> NoduleStatus | None:
    change = lesion.change
    if baseline:
        # The engine requires every nodule of a baseline exam to be 'baseline'; a stated change contradicts it.
        return "baseline" if change is None else None
    if change is None:
        return None
    if change.value in ("new", "stable"):
        return change.value
    if change.value == "increased":
        prior, current = change.prior_mean_diameter_mm, lesion.mean_diameter_mm
        if prior is not None and current is not None and current - prior > _GROWTH_MM:
            return "growing"
    return None
