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

Engines: ``hu`` (default) is the offline Hounsfield-unit rule engine; ``monai`` runs a MONAI bundle the user supplies
(:mod:`medlens.imaging.monai_backend`, needs ``pip install torch==2.13.0 monai``). With ``monai`` each prompt
resolves to one of the bundle's labels (exact name or curated synonym, see
:func:`~medlens.imaging.monai_backend.resolve_bundle_prompt`); a prompt naming no label gets the unsupported answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.core.errors import ConfigError, InputError
from medlens.imaging.measure import StructureMeasurement, measure_structure
from medlens.imaging.monai_backend import ENGINE_MONAI
from medlens.imaging.prompts import UNSUPPORTED_ANSWER, CodedConcept, StructureDef, resolve_prompt
from medlens.imaging.qc import QcReport, check_mask
from medlens.imaging.volume import Volume, load_volume

__all__ = ["ENGINES", "FORMATS", "SegmentSummary", "SegmentedStructure", "UnsupportedPrompt", "segment_command"]

log = logging.getLogger(__name__)

OutputFormat = Literal["nifti", "png", "seg", "sr", "json"]
#: Output formats :func:`segment_command` understands.
FORMATS: tuple[OutputFormat, ...] = ("nifti", "png", "seg", "sr", "json")
ENGINE = "medlens.imaging.segment_hu.v1"
#: ``engine`` values of :func:`segment_command` and the versioned engine names they stand for.
ENGINES: dict[str, str] = {"hu": ENGINE, "monai": ENGINE_MONAI}
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class UnsupportedPrompt(BaseModel):
    """A prompt that got no mask, and why."""

    model_config = _FROZEN

    prompt: str = Field(description="The prompt as given.")
    answer: str = Field(description="Why no mask: 'unsupported unless a model is configured' or a specific reason.")


class SegmentedStructure(BaseModel):
    """One segmented structure (HU engine or MONAI bundle), with its measurements, QC and files."""

    model_config = _FROZEN

    structure: str = Field(description="Structure name from structures.yaml, or the MONAI bundle's label name.")
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
    engine: Literal["hu", "monai"] = "hu",
    bundle: Path | None = None,
) -> SegmentSummary:
    """Segment the structures named by ``prompts`` in the volume at ``input`` and write the outputs to ``out``.

    Args:
        input: NIfTI/NRRD file, DICOM file or DICOM series folder.
        prompts: Text prompts, one structure each ("segment the lungs", "left lung", "bone").
        out: Output folder (created if missing).
        series_uid: SeriesInstanceUID to read when a DICOM folder holds several series.
        formats: Any of :data:`FORMATS`.
        progress: Show a rich progress bar on stderr.
        engine: ``hu`` (offline HU rules, default) or ``monai`` (the MONAI bundle at ``bundle``).
        bundle: MONAI bundle folder; required with ``engine="monai"``.

    Returns:
        The summary (also written as ``summary.json`` when ``json`` is in ``formats``).

    Raises:
        InputError: ML102 when no prompt is given, ML104 for an unknown format name, and the readers' codes.
        ConfigError: ML201 for an unknown engine or ``monai`` without a bundle; the bundle's own codes.
        MissingDependencyError: ML501 for ``monai`` without torch/monai installed.
    """
    t0 = time.perf_counter()
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise InputError(
            f"unknown output format(s) {', '.join(unknown)}; available: {', '.join(FORMATS)}", code="ML104"
        )
    if not prompts:
        raise InputError("no prompt given; e.g. 'lungs', 'left lung', 'bone'", code="ML102")
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}", code="ML201")
    if engine == "monai" and bundle is None:
        raise ConfigError("engine 'monai' needs bundle=<MONAI bundle folder>", code="ML201")
    segmenter: Any = None
    if engine == "monai":
        from medlens.imaging.monai_backend import MonaiBundleSegmenter

        assert bundle is not None
        segmenter = MonaiBundleSegmenter(bundle)  # before any output: a broken bundle fails fast
    out.mkdir(parents=True, exist_ok=True)
    volume = load_volume(input, series_uid=series_uid)

    wanted: dict[str, str] = {}  # structure -> first prompt naming it
    unsupported: list[UnsupportedPrompt] = []
    hu_ok = volume.modality in (None, "CT")
    if segmenter is not None:
        from medlens.imaging.monai_backend import resolve_bundle_prompt

        for prompt in prompts:
            found = resolve_bundle_prompt(prompt, segmenter.labels)
            if found.label is None:
                unsupported.append(UnsupportedPrompt(prompt=prompt, answer=found.answer or UNSUPPORTED_ANSWER))
            else:
                wanted.setdefault(found.label, prompt)
    for prompt in prompts if segmenter is None else ():
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
        if wanted and segmenter is not None:
            masks = segmenter.segment(volume, list(wanted))
        elif wanted:
            from medlens.imaging.segment_hu import segment_ct

            all_masks = segment_ct(volume, list(wanted))
            masks = {name: all_masks[name] for name in wanted}
        bar.advance(task)
        for name, prompt in wanted.items():
            bar.update(task, description=f"measuring {name}")
            structures.append(_one_structure(volume, name, prompt, masks[name], out, formats))
            bar.advance(task)
        bar.update(task, description="writing series outputs")
        algorithm = None
        if segmenter is not None:
            algorithm = (f"MONAI bundle {segmenter.info.name or Path(segmenter.info.path).name}", ENGINE_MONAI)
        _write_series_outputs(volume, masks, structures, out, formats, series_files, seg_skipped, algorithm)
        bar.advance(task)

    summary = SegmentSummary(
        input=str(input),
        engine=ENGINES[engine],
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

    try:
        definition: StructureDef | None = load_structures().structure(name)
    except KeyError:  # a MONAI bundle label that is not a curated structure
        definition = None
    files: dict[str, str] = {}
    if "nifti" in formats:
        files["nifti"] = str(write_mask_nifti(mask, volume, out / f"{name}.nii.gz"))
    if "png" in formats:
        files["png"] = str(write_overlay_png(volume, {name: mask}, out / f"{name}.png"))
    return SegmentedStructure(
        structure=name,
        display=definition.display if definition is not None else name.replace("_", " "),
        prompt=prompt,
        type_code=definition.code.type if definition is not None and definition.code is not None else None,
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
    algorithm: tuple[str, str] | None = None,
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
            elif name not in {s.name for s in lexicon.structures} or lexicon.structure(name).code is None:
                skipped[name] = "no curated code for this structure; it is written as NIfTI only"
            elif not mask.any():
                skipped[name] = "empty mask"
            else:
                coded[name] = mask
        if coded:
            from medlens.imaging.seg_dicom import build_segmentation

            seg = build_segmentation(volume, coded, algorithm=algorithm)
            path = out / "segmentation.dcm"
            seg.save_as(path)
            files["seg"] = str(path)
    if "sr" in formats and is_dicom and any(s.measurement.voxel_count for s in structures):
        from medlens.imaging.sr import write_measurement_report

        path = write_measurement_report(
            volume,
            [s.measurement for s in structures],
            out / "measurements_sr.dcm",
            segmentation=seg,
            algorithm=algorithm,
        )
        files["sr"] = str(path)
    return seg
