"""Packaged data files (lexicons, cue lists, code tables): one loader, one error code.

Every family keeps its data under ``<package>/lexicon/`` (CONVENTIONS.md 4). A file that cannot be read or does not
validate against its pydantic model is a :class:`ConfigError` ``ML205`` naming the file; it means the installation
is broken or a site edited a lexicon wrongly, never bad user input.
"""

from __future__ import annotations

from importlib import resources
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from medlens.core.errors import ConfigError

__all__ = ["load_yaml_lexicon", "read_lexicon_text"]

M = TypeVar("M", bound=BaseModel)


def read_lexicon_text(package: str, name: str) -> str:
    """Text of ``<package>/lexicon/<name>``.

    Raises:
        ConfigError: ML205 if the file cannot be read.
    """
    try:
        # One part per joinpath: namespace packages' Traversables reject several.
        return resources.files(package).joinpath("lexicon").joinpath(name).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"cannot read lexicon {package}/lexicon/{name}: {exc}; reinstall medlens", code="ML205"
        ) from exc


def load_yaml_lexicon(package: str, name: str, model: type[M]) -> M:
    """Read ``<package>/lexicon/<name>`` as YAML and validate it with ``model``.

    Raises:
        ConfigError: ML205 if the file is unreadable, not YAML (the message names the line) or invalid.
    """
    try:
        data = yaml.safe_load(read_lexicon_text(package, name))
    except yaml.YAMLError as exc:
        raise ConfigError(f"lexicon {package}/lexicon/{name} is not valid YAML: {exc}", code="ML205") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"lexicon {package}/lexicon/{name} is invalid: {exc}", code="ML205") from exc
