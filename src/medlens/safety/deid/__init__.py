"""De-identification of clinical text: detect HIPAA Safe Harbor identifiers, then redact, mask or replace them.

Example::

    from medlens.safety.deid import Deidentifier, PatientKeys

    deid = Deidentifier(keys=PatientKeys(secret))
    result = deid.deidentify(document, mode="surrogate")  # raises DeidError (fail closed)

See ``CARD.md`` in ``medlens/safety`` for intended use and limits. ``dicom`` (DICOM headers) is imported on demand.
"""

from medlens.safety.deid.config import (
    DEID_VERSION,
    PHI_TYPES,
    DeidConfig,
    DeidError,
    DeidMode,
    DenyTerm,
    ExtraPattern,
    PhiSpan,
    PhiType,
)
from medlens.safety.deid.detect import Detector
from medlens.safety.deid.keys import PatientKeys
from medlens.safety.deid.mapping import MappingRow, MappingWriter, read_mapping
from medlens.safety.deid.surrogates import SurrogateGenerator
from medlens.safety.deid.transform import Deidentifier, DeidResult, DeidText, Replacement

__all__ = [
    "DEID_VERSION",
    "PHI_TYPES",
    "DeidConfig",
    "DeidError",
    "DeidMode",
    "DeidResult",
    "DeidText",
    "Deidentifier",
    "DenyTerm",
    "Detector",
    "ExtraPattern",
    "MappingRow",
    "MappingWriter",
    "PatientKeys",
    "PhiSpan",
    "PhiType",
    "Replacement",
    "SurrogateGenerator",
    "read_mapping",
]
