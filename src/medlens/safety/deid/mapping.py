"""The re-identification mapping: written only when asked, kept apart from outputs, encrypted with a key.

Each line of the file is one Fernet token (AES-128-CBC + HMAC-SHA256, from ``cryptography``) holding one JSON row
``{record_id, start, end, type, original, replacement}``; the first line names the format. The Fernet key is derived
from the configured key material with HKDF-SHA256, so any secret of 16 bytes or more works and the key itself never
appears in the file. Reading with another key fails (ML603). ``cryptography`` is the optional extra
``medlens[deid]`` and is imported only here, when a mapping is written or read.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medlens.core.errors import MissingDependencyError
from medlens.safety.deid.config import DeidError, PhiType
from medlens.safety.deid.transform import DeidResult, DeidText

__all__ = ["MappingRow", "MappingWriter", "read_mapping"]

_HEADER = "medlens-deid-mapping v1"
_HKDF_INFO = b"medlens.deid.mapping.v1"


class MappingRow(BaseModel):
    """One replacement: where, what it was and what replaced it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str = Field(description="Record the identifier was in.")
    start: int = Field(ge=0, description="Start offset in the original text.")
    end: int = Field(ge=0, description="End offset (exclusive) in the original text.")
    type: PhiType = Field(description="PHI type.")
    original: str = Field(description="The identifier as written (PHI).")
    replacement: str = Field(description="What replaced it in the output.")


def _fernet(key: str | bytes) -> Any:
    try:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    except ImportError as exc:
        raise MissingDependencyError(
            "writing or reading a de-identification mapping needs the 'cryptography' package: "
            'pip install "medlens[deid]"',
            code="ML501",
        ) from exc
    material = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(material) < 16:
        raise DeidError("the mapping key must be at least 16 bytes of secret material", code="ML603")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material)
    return Fernet(base64.urlsafe_b64encode(derived))


class MappingWriter:
    """Appends mapping rows to an encrypted file (created with owner-only permissions).

    Use as a context manager::

        with MappingWriter(path, key) as mapping:
            mapping.add(document.id, document.text, result)

    Args:
        path: the mapping file; keep it apart from de-identified outputs.
        key: secret key material (16 bytes or more) from configuration, never from the outputs.

    Raises:
        MissingDependencyError: ML501 if ``cryptography`` is not installed.
        DeidError: ML603 if the key is too short, ML604 if the file cannot be written.
    """

    def __init__(self, path: str | Path, key: str | bytes) -> None:
        self.path = Path(path)
        self._fernet = _fernet(key)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8")
            self._file.write(_HEADER + "\n")
        except OSError as exc:
            raise DeidError(f"cannot write the mapping file {self.path}: {exc.strerror}", code="ML604") from exc

    def add(self, record_id: str, original_text: str, result: DeidResult | DeidText) -> int:
        """Write one row per replacement of ``result`` (made from ``original_text``); return how many."""
        new_text = result.document.text if isinstance(result, DeidResult) else result.text
        rows = [
            MappingRow(
                record_id=record_id,
                start=r.start,
                end=r.end,
                type=r.type,
                original=original_text[r.start : r.end],
                replacement=new_text[r.new_start : r.new_end],
            )
            for r in result.replacements
        ]
        for row in rows:
            self.write(row)
        return len(rows)

    def write(self, row: MappingRow) -> None:
        """Encrypt and append one row."""
        if self._file is None:
            raise DeidError("the mapping writer is closed", code="ML604")
        token = self._fernet.encrypt(row.model_dump_json().encode("utf-8"))
        self._file.write(token.decode("ascii") + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> MappingWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_mapping(path: str | Path, key: str | bytes) -> list[MappingRow]:
    """Decrypt a mapping file written by :class:`MappingWriter`.

    Raises:
        MissingDependencyError: ML501 if ``cryptography`` is not installed.
        DeidError: ML603 if the key does not decrypt it, ML604 if the file is unreadable or not a mapping.
    """
    fernet = _fernet(key)
    from cryptography.fernet import InvalidToken

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DeidError(f"cannot read the mapping file {path}: {exc}", code="ML604") from exc
    if not lines or lines[0] != _HEADER:
        raise DeidError(f"{path} is not a medlens de-identification mapping", code="ML604")
    rows = []
    for lineno, line in enumerate(lines[1:], 2):
        if not line:
            continue
        try:
            payload = fernet.decrypt(line.encode("ascii"))
        except InvalidToken:
            raise DeidError(
                f"{path} line {lineno} cannot be decrypted with this key (wrong key or altered file)", code="ML603"
            ) from None
        except (ValueError, UnicodeEncodeError) as exc:
            raise DeidError(f"{path} line {lineno} is not a mapping row", code="ML604") from exc
        try:
            rows.append(MappingRow.model_validate(json.loads(payload)))
        except (ValueError, ValidationError) as exc:
            raise DeidError(f"{path} line {lineno} is not a mapping row", code="ML604") from exc
    return rows
