"""Library side of ``medlens segment``: text prompts in, masks, overlays, DICOM SEG/SR and a JSON summary out.

The CLI (``medlens.cli``) stays a thin layer over :func:`segment_command`. Each prompt is resolved with
:func:`medlens.imaging.prompts.resolve_prompt`; prompts the offline HU engine cannot segment are listed in the
summary with the answer "unsupported unless a model is configured" and never get a mask. For each supported
structure the command writes, as requested by ``formats``:

- ``nifti``: ``<out>/<structure>.nii.gz`` (uint8 0/1, the volume's geometry);
- ``png``: ``<out>/<structure>.png`` (overlay on the axial slice the mask covers most);
- ``seg``: ``<out>/segmentation.dcm``, one DICOM SEG with every structure that has a curated code, when the input
  is a DICOM series (others are listed in ``seg_skipped`` with the reason);
- ``sr``: ``<out>/measurements_sr.dcm``, a TID 1500 measurement report (DICOM input only; references the SEG when
  one was written);
- ``json``: ``<out>/summary.json``, the :class:`SegmentSummary` (volume mL, HU statistics, radiomics subset, QC).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import InputError
from medlens.imaging.measure import StructureMeasurement, measure_structure
from medlens.imaging.prompts import UNSUPPORTED_ANSWER, CodedConcept, resolve_prompt
from medlens.imaging.qc import QcReport, check_mask
from medlens.imaging.volume import Volume, load_volume

__all__ = ["FORMATS", "SegmentSummary", "SegmentedStructure", "UnsupportedPrompt", "segment_command"]

log = logging.getLogger(__name__)

OutputFormat = Literal["nifti", "png", "seg", "sr", "json"]
#: Output formats :func:`segment_command` understands.
FORMATS: tuple[OutputFormat, ...] = ("nifti", "png", "seg", "sr", "json")
ENGINE = "medlens.imaging.segment_hu.v1"
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class UnsupportedPrompt(BaseModel):
    """A prompt that got no mask, and why."""

    model_config = _FROZEN

    prompt: str = Field(description="The prompt as given.")
    answer: str = Field(description="Why no mask: 'unsupported unless a model is configured' or a specific reason.")


class SegmentedStructure(BaseModel):
    """One structure segmented by the HU engine, with its measurements, QC and files."""

    model_config = _FROZEN

    structure: str = Field(description="Structure name from structures.yaml.")
    display: str = Field(description="Human-readable name.")
    prompt: str = Field(description="The prompt that asked for it.")
    type_code: CodedConcept | None = Field(default=None, description="SNOMED CT type code from the curated table.")
    measurement: StructureMeasurement = Field(description="Volume, extents, HU statistics, radiomics subset.")
    qc: QcReport = Field(description="QC flags of the mask.")
    files: dict[str, str] = Field(default_factory=dict, description="Format -> written file path.")


class SegmentSummary(BaseModel):
    """What ``medlens segment`` did (also written as ``summary.json``)."""

    model_config = _FROZEN

    input: str = Field(description="Input path.")
    engine: str = Field(default=ENGINE, description="Segmentation engine (versioned name).")
    modality: str | None = Field(default=None, description="Modality of the volume (None when the format lacks it).")
    shape: tuple[int, int, int] = Field(description="Volume array shape (k, j, i).")
    spacing_mm: tuple[float, float, float] = Field(description="Voxel size (mm) along i, j, k.")
    orientation: str = Field(description="Axis code of (i, j, k), e.g. 'LPS'.")
    read_flags: tuple[str, ...] = Field(default=(), description="Defects noticed while reading the input.")
    structures: tuple[SegmentedStructure, ...] = Field(default=(), description="Segmented structures.")
    unsupported: tuple[UnsupportedPrompt, ...] = Field(default=(), description="Prompts that got no mask.")
    seg_skipped: dict[str, str] = Field(default_factory=dict, description="Structure -> why it is not in the SEG.")
    files: dict[str, str] = Field(default_factory=dict, description="Series-level outputs: seg, sr, json.")
    seconds: float = Field(ge=0, description="Wall time of the command (s).")


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not enabled,
    )


def segment_command(
    input: Path,
    prompts: list[str],
    out: Path,
    *,
    series_uid: str | None = None,
    formats: Sequence[str] = ("nifti", "png", "seg", "json"),
    progress: bool = True,
) -> SegmentSummary:
    """Segment the structures named by ``prompts`` in the volume at ``input`` and write the outputs to ``out``.

    Args:
        input: NIfTI/NRRD file, DICOM file or DICOM series folder.
        prompts: Text prompts, one structure each ("segment the lungs", "left lung", "bone").
        out: Output folder (created if missing).
        series_uid: SeriesInstanceUID to read when a DICOM folder holds several series.
        formats: Any of :data:`FORMATS`.
        progress: Show a rich progress bar on stderr.

    Returns:
        The summary (also written as ``summary.json`` when ``json`` is in ``formats``).

    Raises:
        InputError: ML102 when no prompt is given, ML104 for an unknown format name, and the readers' codes.
    """
    t0 = time.perf_counter()
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise InputError(
            f"unknown output format(s) {', '.join(unknown)}; available: {', '.join(FORMATS)}", code="ML104"
        )
    if not prompts:
        raise InputError("no prompt given; e.g. 'lungs', 'left lung', 'bone'", code="ML102")
    out.mkdir(parents=True, exist_ok=True)
    volume = load_volume(input, series_uid=series_uid)

    wanted: dict[str, str] = {}  # structure -> first prompt naming it
    unsupported: list[UnsupportedPrompt] = []
    hu_ok = volume.modality in (None, "CT")
    for prompt in prompts:
        res = resolve_prompt(prompt)
        if not res.supported or res.structure is None:
            unsupported.append(UnsupportedPrompt(prompt=prompt, answer=res.answer or UNSUPPORTED_ANSWER))
        elif not hu_ok:
            unsupported.append(
                UnsupportedPrompt(
                    prompt=prompt, answer=f"{volume.modality} volume: the HU engine needs CT; {UNSUPPORTED_ANSWER}"
                )
            )
        else:
            wanted.setdefault(res.structure.name, prompt)

    structures: list[SegmentedStructure] = []
    series_files: dict[str, str] = {}
    seg_skipped: dict[str, str] = {}
    with _progress(progress) as bar:
        task = bar.add_task("segmenting", total=len(wanted) + 2)
        masks: dict[str, Any] = {}
        if wanted:
            from medlens.imaging.segment_hu import segment_ct

            all_masks = segment_ct(volume, list(wanted))
            masks = {name: all_masks[name] for name in wanted}
        bar.advance(task)
        for name, prompt in wanted.items():
            bar.update(task, description=f"measuring {name}")
            structures.append(_one_structure(volume, name, prompt, masks[name], out, formats))
            bar.advance(task)
        bar.update(task, description="writing series outputs")
        _write_series_outputs(volume, masks, structures, out, formats, series_files, seg_skipped)
        bar.advance(task)

    summary = SegmentSummary(
        input=str(input),
        modality=volume.modality,
        shape=volume.shape,
        spacing_mm=volume.spacing,
        orientation=volume.orientation,
        read_flags=volume.flags,
        structures=tuple(structures),
        unsupported=tuple(unsupported),
        seg_skipped=seg_skipped,
        files=series_files,
        seconds=time.perf_counter() - t0,
    )
    if "json" in formats:
        path = out / "summary.json"
        summary = summary.model_copy(update={"files": series_files | {"json": str(path)}})
        path.write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    log.info("segmented %d structure(s), %d prompt(s) unsupported", len(structures), len(unsupported))
    return summary


def _one_structure(
    volume: Volume, name: str, prompt: str, mask: Any, out: Path, formats: Sequence[str]
) -> SegmentedStructure:
    from medlens.imaging.prompts import load_structures
    from medlens.imaging.writers import write_mask_nifti, write_overlay_png

    definition = load_structures().structure(name)
    files: dict[str, str] = {}
    if "nifti" in formats:
        files["nifti"] = str(write_mask_nifti(mask, volume, out / f"{name}.nii.gz"))
    if "png" in formats:
        files["png"] = str(write_overlay_png(volume, {name: mask}, out / f"{name}.png"))
    return SegmentedStructure(
        structure=name,
        display=definition.display,
        prompt=prompt,
        type_code=definition.code.type if definition.code is not None else None,
        measurement=measure_structure(volume, mask, name),
        qc=check_mask(volume, mask, name),
        files=files,
    )


def _write_series_outputs(
    volume: Volume,
    masks: dict[str, Any],
    structures: list[SegmentedStructure],
    out: Path,
    formats: Sequence[str],
    files: dict[str, str],
    skipped: dict[str, str],
) -> Any:
    """Write the DICOM SEG and SR (DICOM input only); fill ``files`` and ``skipped``; return the SEG or None."""
    is_dicom = volume.meta.get("format") == "dicom"
    seg = None
    if "seg" in formats:
        from medlens.imaging.prompts import load_structures

        lexicon = load_structures()
        coded: dict[str, Any] = {}
        for name, mask in masks.items():
            if not is_dicom:
                skipped[name] = "the input is not DICOM; DICOM SEG references source DICOM slices"
            elif lexicon.structure(name).code is None:
                skipped[name] = "no curated code for this structure; it is written as NIfTI only"
            elif not mask.any():
                skipped[name] = "empty mask"
            else:
                coded[name] = mask
        if coded:
            from medlens.imaging.seg_dicom import build_segmentation

            seg = build_segmentation(volume, coded)
            path = out / "segmentation.dcm"
            seg.save_as(path)
            files["seg"] = str(path)
    if "sr" in formats and is_dicom and any(s.measurement.voxel_count for s in structures):
        from medlens.imaging.sr import write_measurement_report

        path = write_measurement_report(
            volume, [s.measurement for s in structures], out / "measurements_sr.dcm", segmentation=seg
        )
        files["sr"] = str(path)
    return seg
