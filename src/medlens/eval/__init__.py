"""Evaluation: metrics, synthetic gold corpora and dataset readers for benchmarks."""
