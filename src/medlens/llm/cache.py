"""On-disk cache of validated LLM replies (stdlib ``sqlite3``), safe with concurrent writers.

Key: sha256 over (model, prompt version, input hash, schema hash, dialect, temperature, seed), see
:func:`cache_key`. Images in the messages enter the input hash as the sha256 of their data URL, so the same image
hits and any other image misses; neither the image nor the prompt is stored, only the key. Only replies that passed
schema validation (or, for free text, the finish-reason check) are stored.
Replies may quote the (de-identified or, for local endpoints, identifiable) document, so keep the cache file
where the documents are allowed to be.

Several threads and processes may share one file: WAL journal, a busy timeout, one connection per thread and
``INSERT OR REPLACE`` (the same key always maps to an equivalent reply, so the last writer winning is harmless).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CachedReply", "LLMCache", "cache_key", "stable_hash"]

log = logging.getLogger(__name__)

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    reply TEXT NOT NULL
)
"""


def stable_hash(value: Any) -> str:
    """sha256 hex digest of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _keyed_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A wire message for hashing: image data URLs replaced by their sha256 (text-only messages unchanged)."""
    content = message.get("content")
    if not isinstance(content, list):
        return dict(message)
    items: list[Any] = []
    for item in content:
        if isinstance(item, Mapping) and item.get("type") == "image_url":
            url = str(item["image_url"]["url"])
            items.append({"type": "image_url", "sha256": hashlib.sha256(url.encode("utf-8")).hexdigest()})
        else:
            items.append(item)
    return {**message, "content": items}


def cache_key(
    *,
    model: str,
    prompt_version: str,
    messages: Sequence[Mapping[str, Any]],
    schema: Mapping[str, Any] | None,
    dialect: str,
    temperature: float,
    seed: int | None,
) -> str:
    """The cache key of one request (sha256 hex).

    Args:
        model: model name.
        prompt_version: prompt template version.
        messages: wire messages after the PHI gate (string content or content lists with images).
        schema: the reply's JSON schema; None for a free-text request.
        dialect: the dialect the request is made in.
        temperature: sampling temperature.
        seed: sampling seed.
    """
    return stable_hash(
        {
            "model": model,
            "prompt_version": prompt_version,
            "input": stable_hash([_keyed_message(m) for m in messages]),
            "schema": stable_hash(schema),
            "dialect": dialect,
            "temperature": temperature,
            "seed": seed,
        }
    )


@dataclass(frozen=True)
class CachedReply:
    """A stored reply: the raw text, its parsed JSON, finish reason and the tokens it cost when made."""

    raw_text: str
    data: Any
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int


class LLMCache:
    """sqlite3 cache of validated replies.

    Args:
        path: the database file (created with its parent folders).
        timeout_s: how long a writer waits for a lock held by another process.
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout_s = timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._lock:
            conn = self._connect()
            conn.execute(_SCHEMA_SQL)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        self._local.conn = conn
        self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._connect()
        return conn

    def get(self, key: str) -> CachedReply | None:
        """The reply stored under ``key``, or None (also when the file cannot be read: a miss, logged)."""
        try:
            row = self._conn().execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:  # the cache is an optimisation: a broken or locked file is a miss
            log.warning("llm cache %s: read failed (%s); treated as a miss", self.path.name, type(exc).__name__)
            return None
        if row is None:
            return None
        try:
            stored = json.loads(row[0])
            return CachedReply(
                raw_text=stored["raw_text"],
                data=stored["data"],
                finish_reason=stored.get("finish_reason"),
                prompt_tokens=int(stored.get("prompt_tokens", 0)),
                completion_tokens=int(stored.get("completion_tokens", 0)),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("llm cache %s: unreadable entry ignored", self.path.name)
            return None

    def put(self, key: str, reply: CachedReply, *, model: str, prompt_version: str) -> None:
        """Store ``reply`` under ``key`` (replacing any previous one). A failed write is logged, not raised."""
        stored = json.dumps(
            {
                "raw_text": reply.raw_text,
                "data": reply.data,
                "finish_reason": reply.finish_reason,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
            },
            ensure_ascii=False,
        )
        try:
            self._conn().execute(
                "INSERT OR REPLACE INTO replies (key, created, model, prompt_version, reply) VALUES (?, ?, ?, ?, ?)",
                (key, time.time(), model, prompt_version, stored),
            )
        except sqlite3.Error as exc:
            log.warning("llm cache %s: write failed (%s); reply not cached", self.path.name, type(exc).__name__)

    def __len__(self) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM replies").fetchone()
        return int(row[0])

    def clear(self) -> None:
        """Delete every entry."""
        self._conn().execute("DELETE FROM replies")

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._local = threading.local()
