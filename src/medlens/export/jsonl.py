"""``results.jsonl``: one result envelope per input record (DESIGN.md §1.1), written so a killed run can resume.

Each line is written with a single unbuffered ``write`` call, so the file only ever holds complete lines (plus, at
worst, one torn last line without its newline if the process dies inside that call; ``medlens.runner`` cuts it off
when resuming). ``flush()`` and ``close()`` ``fsync`` the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from medlens.core.types import Document, RecordResult

__all__ = ["JsonlWriter"]


class JsonlWriter:
    """Write ``RecordResult.to_json()`` lines to ``<out_dir>/results.jsonl``.

    Args:
        out_dir: Output folder (created if missing).
        append: Add to an existing file instead of replacing it (used when resuming a run).
        filename: File name inside ``out_dir``.
    """

    def __init__(self, out_dir: Path, *, append: bool = False, filename: str = "results.jsonl") -> None:
        self.filename = filename
        self.path = Path(out_dir) / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: every write() below is one write(2) system call with the whole line.
        self._fh: BinaryIO | None = open(self.path, "ab" if append else "wb", buffering=0)  # noqa: SIM115
        self.count = 0

    def write(self, document: Document, result: RecordResult) -> None:
        """Append one line for ``result`` (``document`` is not needed: the envelope carries id, kind and source)."""
        if self._fh is None:
            raise ValueError(f"{self.filename} is closed")
        line = (result.to_json() + "\n").encode("utf-8")
        written = self._fh.write(line)
        while written is not None and written < len(line):  # a regular file writes all at once; be safe anyway
            line = line[written:]
            written = self._fh.write(line)
        self.count += 1

    def flush(self) -> None:
        """Make every line written so far durable (``fsync``)."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Flush, ``fsync`` and close (idempotent)."""
        if self._fh is None:
            return
        self.flush()
        self._fh.close()
        self._fh = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
