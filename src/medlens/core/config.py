"""Layered configuration: built-in defaults < config file (TOML or YAML) < ``MEDLENS_*`` environment < CLI.

Environment variables use ``__`` for nesting: ``MEDLENS_RUN__BATCH_SIZE=32``. Nothing in a config is evaluated
as code; unknown keys are errors (ML201), so a typo never silently does nothing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from medlens.core.errors import ConfigError
from medlens.core.types import DocumentKind

__all__ = ["DeidSettings", "MedlensConfig", "OutputFormat", "RunConfig", "load_config"]

OutputFormat = Literal["jsonl", "fhir", "note_nlp", "note_nlp_parquet", "html"]


class RunConfig(BaseModel):
    """What ``medlens run`` does."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(default=["notes.extract"], description="Tasks to run, by alias or full name.")
    backends: dict[str, str] = Field(
        default_factory=dict, description="Task alias -> backend; tasks not listed use their default ('rules')."
    )
    formats: list[OutputFormat] = Field(
        default=["jsonl", "fhir", "note_nlp", "html"], description="Output files to write."
    )
    default_kind: DocumentKind = Field(
        default="note", description="Kind of records whose input states none (text files, JSONL/CSV without kind)."
    )
    batch_size: int = Field(default=32, ge=1, le=100_000, description="Records per batch handed to each task.")
    max_file_mb: float = Field(
        default=16.0,
        gt=0,
        description="Single-document files (.txt, FHIR .json) larger than this are rejected (ML107).",
    )
    progress: bool = Field(default=True, description="Show a progress bar on stderr.")
    deid: Literal["redact", "mask", "surrogate"] | None = Field(
        default=None,
        description="De-identify every record before the tasks run (fail closed: a record that fails is withheld).",
    )


class DeidSettings(BaseModel):
    """De-identification: mode, secrets (from the environment or a key file, never the command line), options."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["redact", "mask", "surrogate"] = Field(default="redact", description="How PHI is replaced.")
    secret: SecretStr | None = Field(
        default=None,
        description="Key (>= 16 characters) that makes surrogates and date shifts consistent across runs; "
        "set MEDLENS_DEID__SECRET. Without it surrogate mode is consistent within one run only.",
    )
    key_file: Path | None = Field(default=None, description="File holding the secret instead (first line).")
    mapping_key: SecretStr | None = Field(
        default=None, description="Key that encrypts the re-identification mapping; set MEDLENS_DEID__MAPPING_KEY."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="medlens.safety.deid.DeidConfig fields: extra_patterns, allow, deny, min_confidence, ...",
    )


class MedlensConfig(BaseSettings):
    """All medlens settings."""

    model_config = SettingsConfigDict(env_prefix="MEDLENS_", env_nested_delimiter="__", extra="forbid")

    run: RunConfig = Field(default_factory=RunConfig, description="The main job.")
    deid: DeidSettings = Field(default_factory=DeidSettings, description="De-identification (medlens deid, run.deid).")
    task_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Task alias -> keyword options passed to its backend."
    )
    writer_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Output format -> keyword options of its writer, e.g. html: {max_notes: 50}."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="WARNING", description="Logging level.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Sources in priority order: init kwargs, then the environment (files are merged by load_config)."""
        # Earlier wins: CLI/init overrides, then the environment. The file layer is merged into init by load_config.
        return (init_settings, env_settings)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}", code="ML202") from exc
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(raw.decode("utf-8"))
        elif path.suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(raw) or {}
        else:
            raise ConfigError(f"config file {path} must end in .toml, .yaml or .yml", code="ML203")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}", code="ML204") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level", code="ML204")
    return data


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> MedlensConfig:
    """Build the configuration from ``path`` (optional), the environment and ``overrides`` (highest).

    Raises:
        ConfigError: ML201 for unknown keys or invalid values, ML202-204 for an unreadable file.
    """
    file_layer = _read_file(path) if path is not None else {}
    try:
        # pydantic-settings ranks init kwargs above the environment, so read the environment alone first and
        # merge the layers here in order: file < environment < overrides.
        env_layer = MedlensConfig().model_dump(exclude_unset=True)
        merged = _deep_merge(_deep_merge(file_layer, env_layer), overrides or {})
        return MedlensConfig(**merged)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration: {details}", code="ML201") from exc
