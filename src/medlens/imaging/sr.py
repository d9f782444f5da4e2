"""Measurement results as a DICOM Structured Report, template TID 1500 "Measurement Report" (highdicom).

One measurement group per structure:

- with a DICOM SEG (from :func:`medlens.imaging.seg_dicom.build_segmentation`): a TID 1411 *Volumetric ROI*
  group referencing the structure's segment (matched by segment label);
- without one (structures that have no curated code cannot go into a SEG): a TID 1501 image-level group that lists
  the source CT slices as its source images.

Each group holds the volume (SNOMED CT "Volume", in cm3 -- UCUM has no millilitre entry in pydicom's code
dictionary and 1 mL = 1 cm3 exactly) and, for CT, the mean and standard deviation of the attenuation coefficient in
Hounsfield units (DCM "Attenuation Coefficient" with derivation SNOMED CT "Mean" / "Standard Deviation"), as in the
TID 300 measurement pattern. Every code comes from pydicom's code dictionary (``pydicom.sr.codedict.codes``); the
finding type of a structure is looked up there by the attribute named in :data:`FINDING_TYPES`, and a structure with
no entry gets no finding type rather than a guessed code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medlens.core.errors import InputError
from medlens.imaging.measure import StructureMeasurement
from medlens.imaging.prompts import load_structures
from medlens.imaging.seg_dicom import ALGORITHM_NAME, ALGORITHM_VERSION, _require_highdicom, _source_datasets
from medlens.imaging.volume import Volume

__all__ = ["FINDING_TYPES", "LATERALITY", "build_measurement_report", "write_measurement_report"]

log = logging.getLogger(__name__)

#: Structure -> attribute of ``codes.SCT`` used as the group's finding type (the code itself is the dictionary's).
FINDING_TYPES: dict[str, str] = {
    "lungs": "Lung",
    "lung_left": "Lung",
    "lung_right": "Lung",
    "bone": "Bone",
    "fat": "AdiposeTissue",
    "body": "EntireBody",
}
#: Structure -> attribute of ``codes.SCT`` for the laterality of its finding site.
LATERALITY: dict[str, str] = {"lung_left": "Left", "lung_right": "Right"}


def _segment_numbers(segmentation: Any) -> dict[str, int]:
    """Segment label -> segment number of a SEG dataset."""
    return {str(item.SegmentLabel): int(item.SegmentNumber) for item in segmentation.SegmentSequence}


def _measurements(hd: Any, codes: Any, m: StructureMeasurement, modality: str | None) -> list[Any]:
    out = [hd.sr.Measurement(name=codes.SCT.Volume, value=float(m.volume_ml), unit=codes.UCUM.CubicCentimeter)]
    if modality == "CT" and m.intensity is not None:
        for derivation, value in ((codes.SCT.Mean, m.intensity.mean), (codes.SCT.StandardDeviation, m.intensity.sd)):
            out.append(
                hd.sr.Measurement(
                    name=codes.DCM.AttenuationCoefficient,
                    value=float(value),
                    unit=codes.UCUM.HounsfieldUnit,
                    derivation=derivation,
                )
            )
    return out


def build_measurement_report(
    volume: Volume,
    measurements: Sequence[StructureMeasurement],
    *,
    segmentation: Any | None = None,
    series_number: int = 901,
    manufacturer: str = "medlens",
    algorithm: tuple[str, str] | None = None,
) -> Any:
    """Build a TID 1500 Comprehensive 3D SR (``highdicom.sr.Comprehensive3DSR``) of per-structure measurements.

    Args:
        volume: The source volume, read from a DICOM series (its slices are the SR's evidence).
        measurements: One :class:`~medlens.imaging.measure.StructureMeasurement` per structure (empty ones are
            skipped: nothing was measured).
        segmentation: Optional DICOM SEG over the same series (a ``highdicom.seg.Segmentation`` or a pydicom dataset
            of one); a structure whose display name is one of its segment labels is reported as a volumetric ROI
            referencing that segment.
        series_number: SeriesNumber of the SR.
        manufacturer: Manufacturer written in the SR.
        algorithm: ``(name, version)`` of the algorithm that made the masks; the HU rules when None.

    Returns:
        The SR dataset (save it with ``.save_as(path)``).

    Raises:
        InputError: ML127 when the volume is not from DICOM; ML128 when no structure has a measurement.
        MissingDependencyError: ML501 without highdicom.
    """
    hd = _require_highdicom()
    from pydicom.sr.codedict import codes

    sources = _source_datasets(volume)
    lexicon = load_structures()
    segments = _segment_numbers(segmentation) if segmentation is not None else {}
    name, version = algorithm if algorithm is not None else (ALGORITHM_NAME, ALGORITHM_VERSION)
    algorithm_id = hd.sr.AlgorithmIdentification(name=name, version=version)
    groups: list[Any] = []
    for m in measurements:
        if m.voxel_count == 0:
            continue
        try:
            display = lexicon.structure(m.structure).display
        except KeyError:
            display = m.structure
        tracking = hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{display} (medlens)")
        finding_type = getattr(codes.SCT, FINDING_TYPES[m.structure]) if m.structure in FINDING_TYPES else None
        sites = None
        if finding_type is not None and m.structure in LATERALITY:
            sites = [
                hd.sr.FindingSite(
                    anatomic_location=finding_type, laterality=getattr(codes.SCT, LATERALITY[m.structure])
                )
            ]
        common: dict[str, Any] = {
            "tracking_identifier": tracking,
            "finding_type": finding_type,
            "algorithm_id": algorithm_id,
            "finding_sites": sites,
            "measurements": _measurements(hd, codes, m, volume.modality),
        }
        if display in segments:
            assert segmentation is not None
            ref = hd.sr.ReferencedSegment.from_segmentation(segmentation, segment_number=segments[display])
            groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(referenced_segment=ref, **common))
        else:
            images = [
                hd.sr.SourceImageForMeasurementGroup(
                    referenced_sop_class_uid=ds.SOPClassUID, referenced_sop_instance_uid=ds.SOPInstanceUID
                )
                for ds in sources
            ]
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(source_images=images, **common))
    if not groups:
        raise InputError("no structure with a non-empty mask to report", code="ML128")
    observer = hd.sr.ObserverContext(
        observer_type=codes.cid270.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="medlens"),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion if volume.modality == "CT" else codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
    )
    evidence = list(sources) + ([segmentation] if segmentation is not None else [])
    return hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report[0],
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=manufacturer,
        is_complete=True,
    )


def write_measurement_report(
    volume: Volume, measurements: Sequence[StructureMeasurement], path: str | Path, **options: Any
) -> Path:
    """Build (see :func:`build_measurement_report`) and save the SR; returns its path."""
    sr = build_measurement_report(volume, measurements, **options)
    out = Path(path)
    sr.save_as(out)
    log.info("wrote DICOM SR with %d measurement group(s)", len(measurements))
    return out
