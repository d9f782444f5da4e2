"""Pathology reports: OCR-robust field extraction (``pathology.extract``), with evidence spans.

Import :mod:`medlens.pathology.extract` for :class:`~medlens.pathology.extract.PathologyExtractRules` and
:func:`~medlens.pathology.extract.extract_pathology`; payload models live in :mod:`medlens.pathology.schema`.
"""
