"""Typed, coded errors.

Every error medlens raises on purpose is a :class:`MedlensError` subclass with a stable ``code``. Tests assert
codes, never wording. Messages say what happened, the likely cause and the fix, and never contain document text.

Code ranges:
    ML1xx  input (readers, records)
    ML2xx  configuration
    ML3xx  registry (unknown task/backend/writer)
    ML4xx  grounding (evidence does not match its source)
    ML5xx  optional dependency missing
    ML6xx  safeguards: ML600-ML609 text de-identification, ML660-ML669 DICOM de-identification
           (defined in medlens.safety.deid, each failing closed: the record is not passed on)
    ML9xx  internal
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GroundingError",
    "InputError",
    "MedlensError",
    "MissingDependencyError",
    "RegistryError",
]


class MedlensError(Exception):
    """Base class: a stable ``code`` plus an actionable message."""

    code: str = "ML900"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(f"[{self.code}] {message}")


class InputError(MedlensError):
    """A record or file could not be read. Carries the source and line (1-based) where known.

    Codes: ML101 undecodable bytes, ML102 empty input, ML103 invalid JSON, ML104 missing/invalid field,
    ML105 wrong FHIR resource type or HL7 message type, ML106 invalid FHIR resource, ML107 file too large,
    ML108 not found, ML109 unsupported format, ML110 duplicate record id, ML111 corrupt results file on resume.
    Imaging: ML120 no DICOM image in folder, ML121 several series (ambiguous), ML122 inconsistent slice geometry,
    ML123 slice gap beyond tolerance, ML124 pixel data cannot be decoded, ML125 unsupported layout or shape, ML126 the
    HU engine cannot segment this (not CT, or unknown structure), ML127 DICOM SEG not possible, ML128 DICOM SR not
    possible (no non-empty measurement).
    """

    code = "ML100"

    def __init__(
        self, message: str, *, code: str | None = None, source: str | None = None, line: int | None = None
    ) -> None:
        self.source = source
        self.line = line
        where = source or ""
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message, code=code)


class ConfigError(MedlensError):
    """Configuration or packaged data is invalid.

    Codes: ML201 unknown key or invalid value (also an invalid packaged lexicon), ML202 unreadable config file,
    ML203 unsupported config file type, ML204 config file not valid TOML/YAML, ML205 lexicon file invalid or
    unreadable (names the file and line).
    """

    code = "ML200"


class RegistryError(MedlensError):
    """A name is not registered; the message lists the available names."""

    code = "ML300"


class GroundingError(MedlensError):
    """An evidence span lies outside its record or does not quote it exactly."""

    code = "ML400"


class MissingDependencyError(MedlensError):
    """An optional dependency is missing; the message names the extra to install."""

    code = "ML500"
