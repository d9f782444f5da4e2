"""DICOM Segmentation (SEG) output with highdicom, referencing the source CT series.

Each structure becomes one binary segment coded with the SNOMED CT concepts of ``lexicon/structures.yaml`` (taken
from TotalSegmentator's mapping table, see that file). A structure without a curated code (body, bone, air, soft
tissue, metal) cannot be coded honestly, so writing it is refused (ML127) rather than given a guessed code.

Source slices whose dataset-level ``SOPClassUID`` is blank (a real anonymisation defect, see the TotalSegmentator
example series) are repaired *in memory* from the file meta ``MediaStorageSOPClassUID`` before highdicom reads them;
the files on disk are not touched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from medlens.core.errors import InputError, MissingDependencyError
from medlens.imaging.prompts import CodedConcept, load_structures
from medlens.imaging.volume import Volume

__all__ = ["ALGORITHM_NAME", "ALGORITHM_VERSION", "build_segmentation", "write_segmentation"]

log = logging.getLogger(__name__)

#: Algorithm identification written into every segment.
ALGORITHM_NAME = "medlens HU rules"
ALGORITHM_VERSION = "medlens.imaging.segment_hu.v1"


def _require_highdicom() -> Any:
    try:
        import highdicom
    except ImportError as exc:
        raise MissingDependencyError(
            'DICOM SEG output needs highdicom; install it with: pip install "medlens[imaging]"', code="ML501"
        ) from exc
    return highdicom


def _concept(hd: Any, c: CodedConcept) -> Any:
    return hd.sr.CodedConcept(value=c.value, scheme_designator=c.scheme, meaning=c.meaning)


def _source_datasets(volume: Volume) -> list[Any]:
    import pydicom

    files = volume.meta.get("files")
    if volume.meta.get("format") != "dicom" or not files:
        raise InputError(
            "DICOM SEG needs a volume read from a DICOM series (it references the source slices)",
            code="ML127",
            source=volume.source,
        )
    datasets = []
    for path in files:
        ds = pydicom.dcmread(path)
        if not str(ds.get("SOPClassUID", "") or ""):
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        datasets.append(ds)
    return datasets


def build_segmentation(
    volume: Volume,
    masks: Mapping[str, npt.NDArray[np.bool_]],
    *,
    series_number: int = 900,
    manufacturer: str = "medlens",
    software_version: str = "0",
    algorithm: tuple[str, str] | None = None,
) -> Any:
    """Build a binary DICOM SEG dataset (``highdicom.seg.Segmentation``) for ``masks`` over the source series.

    Args:
        volume: The CT volume read with :func:`medlens.imaging.volume.load_dicom_series` (its ``meta["files"]``
            are in slice order, matching the masks' ``k`` axis).
        masks: Structure name (from ``structures.yaml``) -> boolean mask like ``volume.array``.
        series_number: SeriesNumber of the new SEG series.
        manufacturer: Manufacturer written in the SEG.
        software_version: SoftwareVersions written in the SEG.
        algorithm: ``(name, version)`` of a model-based algorithm (e.g. a MONAI bundle; family "Artificial
            Intelligence", DCM 123110); None for the HU rules (family "Morphological Operations", with thresholds).

    Raises:
        InputError: ML127 when the volume is not from DICOM, a mask has the wrong shape, or a structure has no
            curated code; ML102 when ``masks`` is empty.
        MissingDependencyError: ML501 without highdicom.
    """
    hd = _require_highdicom()
    from pydicom.sr.codedict import codes

    if not masks:
        raise InputError("no masks to write", code="ML102")
    lexicon = load_structures()
    if algorithm is None:
        algorithm_id = hd.AlgorithmIdentificationSequence(
            name=ALGORITHM_NAME,
            family=codes.cid7162.MorphologicalOperations,
            version=ALGORITHM_VERSION,
            parameters={k: f"{t.value:g} HU" for k, t in lexicon.thresholds.items()},
        )
    else:
        algorithm_id = hd.AlgorithmIdentificationSequence(
            name=algorithm[0], family=codes.cid7162.ArtificialIntelligence, version=algorithm[1]
        )
    descriptions = []
    planes = []
    for number, (name, mask) in enumerate(masks.items(), start=1):
        if mask.shape != volume.array.shape:
            raise InputError(f"mask {name!r} has shape {mask.shape}, the volume {volume.array.shape}", code="ML127")
        try:
            structure = lexicon.structure(name)
        except KeyError:
            structure = None
        if structure is None or structure.code is None:
            raise InputError(
                f"structure {name!r} has no curated code, so it cannot be coded in DICOM SEG; write it as NIfTI",
                code="ML127",
            )
        desc = hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=structure.display,
            segmented_property_category=_concept(hd, structure.code.category),
            segmented_property_type=_concept(hd, structure.code.type),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm_id,
        )
        if structure.code.modifier is not None:
            item = desc.SegmentedPropertyTypeCodeSequence[0]
            item.SegmentedPropertyTypeModifierCodeSequence = [_concept(hd, structure.code.modifier)]
        descriptions.append(desc)
        planes.append(mask.astype(np.uint8))
    pixel_array = np.stack(planes, axis=-1)  # (frames = slices k, rows, columns, segments)
    sources = _source_datasets(volume)
    if len(sources) != volume.shape[0]:
        raise InputError("the volume's source file list does not match its slices", code="ML127")
    return hd.seg.Segmentation(
        source_images=sources,
        pixel_array=pixel_array,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=manufacturer,
        manufacturer_model_name="medlens imaging.segment",
        software_versions=software_version,
        device_serial_number="0",
        omit_empty_frames=True,
    )


def write_segmentation(
    volume: Volume, masks: Mapping[str, npt.NDArray[np.bool_]], path: str | Path, **options: Any
) -> Path:
    """Build (see :func:`build_segmentation`) and save a DICOM SEG file; returns its path."""
    seg = build_segmentation(volume, masks, **options)
    out = Path(path)
    seg.save_as(out)
    log.info("wrote DICOM SEG with %d segment(s)", len(masks))
    return out
