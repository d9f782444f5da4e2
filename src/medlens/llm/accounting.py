"""Token and latency accounting per task, shared by threads (one lock, plain counters)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Accounting", "TaskTotals"]


@dataclass
class TaskTotals:
    """Running totals for one task. Latency counts only calls answered by the server (not cache hits)."""

    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    http_attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s_total: float = 0.0
    latency_s_max: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The totals plus derived means, as plain numbers."""
        served = self.calls - self.cache_hits
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "errors": self.errors,
            "http_attempts": self.http_attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "latency_s_total": round(self.latency_s_total, 6),
            "latency_s_max": round(self.latency_s_max, 6),
            "latency_s_mean": round(self.latency_s_total / served, 6) if served > 0 else 0.0,
        }


class Accounting:
    """Per-task totals of calls, cache hits, errors, tokens and latency. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskTotals] = {}

    def record(
        self,
        task: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        latency_s: float = 0.0,
        attempts: int = 0,
        cache_hit: bool = False,
        error: bool = False,
    ) -> None:
        """Add one call to ``task``'s totals.

        Args:
            task: the task name, e.g. ``notes.extract``.
            prompt_tokens: prompt tokens the server reported (0 for a cache hit).
            completion_tokens: completion tokens the server reported (0 for a cache hit).
            latency_s: wall time of the call in seconds, retries and re-asks included.
            attempts: HTTP requests made.
            cache_hit: served from the cache.
            error: the call failed.
        """
        with self._lock:
            totals = self._tasks.setdefault(task, TaskTotals())
            totals.calls += 1
            totals.cache_hits += int(cache_hit)
            totals.errors += int(error)
            totals.http_attempts += attempts
            totals.prompt_tokens += prompt_tokens
            totals.completion_tokens += completion_tokens
            if not cache_hit:
                totals.latency_s_total += latency_s
                totals.latency_s_max = max(totals.latency_s_max, latency_s)

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Task -> totals (see :meth:`TaskTotals.as_dict`), sorted by task name."""
        with self._lock:
            return {task: self._tasks[task].as_dict() for task in sorted(self._tasks)}

    def reset(self) -> None:
        """Forget all totals."""
        with self._lock:
            self._tasks.clear()
