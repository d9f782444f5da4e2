"""Build the de-identifier from medlens configuration (``[deid]``): keys from the secret, options validated."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from medlens.core.config import DeidSettings
from medlens.core.errors import ConfigError
from medlens.safety.deid.config import DeidConfig
from medlens.safety.deid.keys import PatientKeys
from medlens.safety.deid.transform import Deidentifier

__all__ = ["build_deidentifier", "patient_keys"]

log = logging.getLogger(__name__)


def patient_keys(settings: DeidSettings, *, mode: str) -> PatientKeys:
    """Keys from the configured secret or key file; a random per-run key (with a warning) when neither is set.

    Raises:
        ConfigError: ML206 for a secret shorter than 16 bytes, ML202 for an unreadable key file.
    """
    if settings.secret is not None:
        return PatientKeys(settings.secret.get_secret_value().encode("utf-8"))
    if settings.key_file is not None:
        try:
            line = settings.key_file.read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigError(f"cannot read the de-identification key file {settings.key_file}", code="ML202") from exc
        return PatientKeys(line.encode("utf-8"))
    if mode == "surrogate":
        log.warning(
            "no de-identification secret configured (MEDLENS_DEID__SECRET or deid.key_file): surrogates and date "
            "shifts are consistent within this run only"
        )
    return PatientKeys.random()


def build_deidentifier(settings: DeidSettings, *, mode: str) -> Deidentifier:
    """The de-identifier for ``settings`` (options validated as ``DeidConfig``).

    Raises:
        ConfigError: ML201 for invalid ``deid.options``; see :func:`patient_keys`.
    """
    try:
        config = DeidConfig.model_validate(settings.options)
    except ValidationError as exc:
        raise ConfigError(f"invalid deid.options: {exc}", code="ML201") from exc
    return Deidentifier(config, keys=patient_keys(settings, mode=mode))
