"""Imaging family: volumes in (DICOM, NIfTI, NRRD), HU-rule segmentation, measurements, QC, mask writers.

Importing this package is light (no numpy); import the modules you need:

- :mod:`medlens.imaging.volume` -- :class:`~medlens.imaging.volume.Volume` and ``load_volume(path)``.
- :mod:`medlens.imaging.prompts` -- text prompt -> structure concept (SNOMED CT where the project's table has it).
- :mod:`medlens.imaging.segment_hu` -- CT Hounsfield-unit rule engine (body, lungs, bone, fat, soft tissue, metal).
- :mod:`medlens.imaging.measure` -- volume, extents, HU statistics and a first-order radiomics subset.
- :mod:`medlens.imaging.qc` -- QC flags (empty mask, touching the border, implausible volume).
- :mod:`medlens.imaging.writers` -- NIfTI mask and PNG overlay writers.
- :mod:`medlens.imaging.seg_dicom` -- DICOM SEG (highdicom) referencing the source series.
- :mod:`medlens.imaging.sr` -- measurements as a DICOM TID 1500 Structured Report (highdicom).
- :mod:`medlens.imaging.vqa` -- computed visual question answering (DICOM tags, geometry, HU masks; a vision model
  for the rest when one is given).
- :mod:`medlens.imaging.monai_backend` -- ``MonaiBundleSegmenter``: a user-supplied MONAI bundle, sliding window
  (optional extra: ``pip install torch==2.13.0 monai``; torch and monai are imported only when one is built).
- :mod:`medlens.imaging.vlm` -- ``LLMVisionAnswerer``: a vision-language model on the LLM client's endpoint for VQA.
- :mod:`medlens.imaging.cli_support` -- ``segment_command``, the library side of ``medlens segment``.
- :mod:`medlens.imaging.phantom` -- a synthetic CT phantom and a DICOM series writer for it (tests, demos).

Imaging needs the optional dependencies numpy, scipy, nibabel, pynrrd, pydicom, Pillow (and highdicom for SEG).
"""

from __future__ import annotations

__all__: list[str] = []
