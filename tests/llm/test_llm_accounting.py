"""Per-task accounting: totals, means and thread safety."""

from __future__ import annotations

import threading

from medlens.llm import Accounting


def test_totals_and_means_per_task() -> None:
    acc = Accounting()
    acc.record("a", prompt_tokens=10, completion_tokens=2, latency_s=0.5, attempts=1)
    acc.record("a", prompt_tokens=20, completion_tokens=4, latency_s=1.5, attempts=2)
    acc.record("a", latency_s=0.001, cache_hit=True)
    acc.record("b", latency_s=2.0, attempts=3, error=True)
    summary = acc.summary()
    assert summary["a"] == {
        "calls": 3,
        "cache_hits": 1,
        "errors": 0,
        "http_attempts": 3,
        "prompt_tokens": 30,
        "completion_tokens": 6,
        "total_tokens": 36,
        "latency_s_total": 2.0,
        "latency_s_max": 1.5,
        "latency_s_mean": 1.0,
    }
    assert (summary["b"]["errors"], summary["b"]["latency_s_mean"]) == (1, 2.0)


def test_only_cache_hits_have_zero_mean_latency() -> None:
    acc = Accounting()
    acc.record("a", latency_s=0.01, cache_hit=True)
    assert acc.summary()["a"]["latency_s_mean"] == 0.0


def test_record_is_thread_safe() -> None:
    acc = Accounting()

    def work() -> None:
        for _ in range(2000):
            acc.record("t", prompt_tokens=1, completion_tokens=1, attempts=1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = acc.summary()["t"]
    assert (totals["calls"], totals["prompt_tokens"], totals["http_attempts"]) == (16000, 16000, 16000)


def test_reset_forgets_everything() -> None:
    acc = Accounting()
    acc.record("a")
    acc.reset()
    assert acc.summary() == {}
