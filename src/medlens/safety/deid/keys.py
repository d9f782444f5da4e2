"""Keyed, deterministic choices for de-identification: the same secret gives the same surrogates everywhere.

Everything that must be consistent across documents and runs (a patient's date shift, the surrogate for a given
real name, a remapped DICOM UID) is derived from one secret with HMAC-SHA256, so nothing needs to be stored to stay
consistent, and nothing can be reversed without the secret. The secret comes from configuration
(``MEDLENS_DEID__SECRET`` or a key file); it never appears in outputs or logs.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from medlens.core.errors import ConfigError

__all__ = ["MAX_DATE_SHIFT_DAYS", "PatientKeys"]

MAX_DATE_SHIFT_DAYS = 365
"""Date shifts are drawn uniformly from [-365, -1] and [1, 365] days (never 0)."""


class PatientKeys:
    """HMAC-derived, per-patient deterministic values.

    Args:
        secret: At least 16 bytes of secret key material.

    Raises:
        ConfigError: ML206 if the secret is shorter than 16 bytes.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ConfigError("the de-identification secret must be at least 16 bytes", code="ML206")
        self._secret = secret

    @classmethod
    def random(cls) -> PatientKeys:
        """Keys from a fresh random secret (consistent within this process only)."""
        return cls(os.urandom(32))

    def digest(self, *parts: str) -> bytes:
        """HMAC-SHA256 of the parts (joined unambiguously)."""
        msg = "\x1f".join(parts).encode("utf-8")
        return hmac.new(self._secret, msg, hashlib.sha256).digest()

    def number(self, *parts: str) -> int:
        """A 64-bit integer derived from the parts (a seed for surrogate choices)."""
        return int.from_bytes(self.digest(*parts)[:8], "big")

    def date_shift_days(self, patient_id: str | None) -> int:
        """The patient's date shift in days, in [-365, -1] or [1, 365]; one per patient, so intervals are kept.

        Records without a patient id share one shift (the empty id).
        """
        n = self.number("date-shift", patient_id or "") % (2 * MAX_DATE_SHIFT_DAYS)
        return n - MAX_DATE_SHIFT_DAYS if n < MAX_DATE_SHIFT_DAYS else n - MAX_DATE_SHIFT_DAYS + 1

    def uid(self, original: str) -> str:
        """A DICOM UID remapped consistently: ``2.25.<128-bit integer>`` (PS3.5 Annex B.2, UUID-derived UIDs)."""
        return "2.25." + str(int.from_bytes(self.digest("uid", original)[:16], "big"))
