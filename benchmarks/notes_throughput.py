"""Throughput of the medlens notes pipeline against medspaCy 1.3.1, each system in its own process.

Claim checked: the offline ``notes.extract`` pipeline handles >= 300 notes/s in one process, >= 30x medspaCy's
default pipeline, with peak RSS < 500 MB.

    python benchmarks/notes_throughput.py --corpus ../shared/data/text/mtsamples [--limit N] [--repeat R]

Systems (each runs in a fresh subprocess, so load time and peak RSS are its own):

* ``medlens``               ``medlens.load()`` (notes.extract, rules backend), ``Pipeline.run_batch`` in batches of 32,
                            timing includes building the ``Document`` objects.
* ``medspacy``              ``medspacy.load()`` default pipeline (medspaCy tokenizer, PyRuSH sentence splitter, empty
                            TargetMatcher, ConText), ``nlp.pipe(texts, batch_size=32)``.
* ``medspacy-sentencizer``  the same with spaCy's rule-based ``sentencizer`` in place of ``medspacy_pyrush``.
* ``medlens-cli``           (``--cli``) end-to-end ``medlens run CORPUS --out TMP``: interpreter start, reading, the
                            pipeline and every default output file; one cold run per repeat, no warm-up.

medspaCy pins spaCy < 3.8, so it lives in its own virtualenv (see benchmarks/README.md); pass its interpreter with
``--medspacy-python`` (default ``benchmarks/.venv-medspacy/bin/python`` when it exists, else the medspaCy rows are
skipped with a message). The worker half of this file (``--worker``) uses the standard library only, so it runs
under either interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_MEDSPACY_PYTHON = HERE / ".venv-medspacy" / "bin" / "python"
BASELINE = "medspacy"
SYSTEMS = ("medlens", "medspacy", "medspacy-sentencizer")

# The claim this benchmark checks (README "Performance"; shared brief of the notes family).
TARGET_NOTES_PER_S = 300.0
TARGET_RATIO = 30.0
TARGET_RSS_MB = 500.0


# ---------------------------------------------------------------------------------------------------------- worker


def read_corpus(corpus: Path, limit: int | None) -> list[tuple[str, str]]:
    """(name, text) of the ``.txt`` files under ``corpus``, sorted by path, at most ``limit``."""
    paths = sorted(p for p in corpus.rglob("*.txt") if p.is_file())
    if limit is not None:
        paths = paths[:limit]
    return [(p.relative_to(corpus).as_posix(), p.read_text(encoding="utf-8", errors="replace")) for p in paths]


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _time_runs(run: Callable[[Sequence[str]], int], texts: list[str], warmup: int, repeat: int) -> dict[str, Any]:
    if warmup:
        run(texts[:warmup])
    seconds: list[float] = []
    outputs = 0
    for _ in range(repeat):
        start = time.perf_counter()
        outputs = run(texts)
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "outputs": outputs}


def _medlens(texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    import medlens
    from medlens import Document

    nlp = medlens.load()
    load_s = time.perf_counter() - start

    def run(batch_texts: Sequence[str]) -> int:
        findings = 0
        docs = [Document(id=f"n{i}", text=t) for i, t in enumerate(batch_texts)]
        for batch in _chunks(docs, args.batch_size):
            for result in nlp.run_batch(batch):
                task = result.tasks.get("notes.extract")
                findings += len(getattr(task, "findings", ()))
        return findings

    timing = _time_runs(run, texts, args.warmup, args.repeat)
    return {"load_s": load_s, "versions": {"medlens": medlens.__version__}, "output_kind": "findings", **timing}


def _medspacy(texts: list[str], args: argparse.Namespace, *, sentencizer: bool) -> dict[str, Any]:
    # PyRuSH 1.0.13 logs every sentence decision at DEBUG level through loguru's default stderr sink. Nobody runs it
    # like that in production, so the sink is removed: the messages are dropped before formatting or I/O.
    from loguru import logger

    logger.remove()
    start = time.perf_counter()
    import medspacy
    import spacy

    if sentencizer:
        # medspacy/util.py:load: medspacy_enable takes the component names; leave out medspacy_pyrush and put
        # spaCy's rule-based sentencizer first instead.
        nlp = medspacy.load(medspacy_enable=["medspacy_tokenizer", "medspacy_target_matcher", "medspacy_context"])
        nlp.add_pipe("sentencizer", first=True)
    else:
        nlp = medspacy.load()
    load_s = time.perf_counter() - start

    def run(batch_texts: Sequence[str]) -> int:
        sentences = 0
        for doc in nlp.pipe(batch_texts, batch_size=args.batch_size):
            sentences += sum(1 for _ in doc.sents)
        return sentences

    timing = _time_runs(run, texts, args.warmup, args.repeat)
    versions = {"medspacy": getattr(medspacy, "__version__", "?"), "spacy": spacy.__version__}
    return {"load_s": load_s, "versions": versions, "pipe_names": nlp.pipe_names, "output_kind": "sentences", **timing}


def _medlens_cli(corpus: Path, n_notes: int, args: argparse.Namespace) -> dict[str, Any]:
    import medlens

    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="medlens-bench-") as tmp:
        source = corpus
        if args.limit is not None:
            source = Path(tmp) / "in"
            source.mkdir()
            for name, text in read_corpus(corpus, args.limit):
                (source / name.replace("/", "__")).write_text(text, encoding="utf-8")
        code = "import sys; from medlens.cli import main; sys.argv[0] = 'medlens'; main()"
        for i in range(args.repeat):
            out = Path(tmp) / f"out{i}"
            cmd = [sys.executable, "-c", code, "run", str(source), "--out", str(out), "--no-progress"]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            seconds.append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):  # 1 = some records failed, still a complete run
                raise RuntimeError(f"medlens run exited {proc.returncode}: {proc.stderr[-2000:]}")
        lines = sum(1 for _ in (out / "results.jsonl").open(encoding="utf-8"))
    return {
        "load_s": None,
        "versions": {"medlens": medlens.__version__},
        "output_kind": "result lines",
        "seconds": seconds,
        "outputs": lines,
        "peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
        "notes": n_notes,
    }


def worker(args: argparse.Namespace) -> None:
    """Run one system and print one JSON line with its timings and peak RSS."""
    corpus = read_corpus(args.corpus, args.limit)
    texts = [text for _, text in corpus]
    if args.worker == "medlens":
        out = _medlens(texts, args)
    elif args.worker == "medspacy":
        out = _medspacy(texts, args, sentencizer=False)
    elif args.worker == "medspacy-sentencizer":
        out = _medspacy(texts, args, sentencizer=True)
    elif args.worker == "medlens-cli":
        out = _medlens_cli(args.corpus, len(texts), args)
    else:
        raise SystemExit(f"unknown system {args.worker!r}")
    out.setdefault("peak_rss_mb", peak_rss_mb())
    out.update(
        system=args.worker,
        notes=len(texts),
        chars=sum(len(t) for t in texts),
        python=platform.python_version(),
        warmup=0 if args.worker == "medlens-cli" else min(args.warmup, len(texts)),
    )
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------------------- parent


def _run_worker(python: str, system: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [python, str(Path(__file__).resolve()), "--worker", system, "--corpus", str(args.corpus)]
    repeat = args.medspacy_repeat if system.startswith("medspacy") else args.repeat
    cmd += ["--repeat", str(repeat), "--warmup", str(args.warmup), "--batch-size", str(args.batch_size)]
    if args.limit is not None:
        cmd += ["--limit", str(args.limit)]
    env = {**os.environ, "PYTHONHASHSEED": "0", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=args.timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return {"system": system, "error": f"exit code {proc.returncode}\n{tail}"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _summarise(row: dict[str, Any]) -> None:
    seconds = row["seconds"]
    row["median_s"] = statistics.median(seconds)
    row["best_s"] = min(seconds)
    row["notes_per_s"] = row["notes"] / row["median_s"] if row["median_s"] > 0 else float("inf")
    row["ms_per_note"] = 1000 * row["median_s"] / row["notes"] if row["notes"] else float("nan")


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for r in rows:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        return
    table = Table(title=title)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)  # rich falls back to 80 columns when piped; keep the table on one line
    console.print(table)


def parent(args: argparse.Namespace) -> int:
    """Run every system in its own process, print the table and the targets; return the exit code."""
    medspacy_python: str | None = args.medspacy_python
    if medspacy_python is None and DEFAULT_MEDSPACY_PYTHON.exists():
        medspacy_python = str(DEFAULT_MEDSPACY_PYTHON)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if args.cli and "medlens-cli" not in systems:
        systems.append("medlens-cli")
    results: dict[str, dict[str, Any]] = {}
    for system in systems:
        if system.startswith("medspacy"):
            if medspacy_python is None:
                print(
                    f"skipping {system}: no medspaCy interpreter. Create benchmarks/.venv-medspacy "
                    "(see benchmarks/README.md) or pass --medspacy-python PATH.",
                    file=sys.stderr,
                )
                continue
            if not Path(medspacy_python).exists():
                print(f"skipping {system}: --medspacy-python {medspacy_python} does not exist.", file=sys.stderr)
                continue
            python = medspacy_python
        else:
            python = sys.executable
        print(f"running {system} ...", file=sys.stderr, flush=True)
        row = _run_worker(python, system, args)
        if "error" in row:
            print(f"{system} failed: {row['error']}", file=sys.stderr)
            continue
        _summarise(row)
        results[system] = row

    base = results.get(BASELINE)
    header = ["system", "notes", "load s", "seconds", "notes/s", "ms/note", "peak RSS MB", f"x {BASELINE}", "output"]
    rows = []
    for system, r in results.items():
        r["ratio"] = r["notes_per_s"] / base["notes_per_s"] if base else None
        rows.append(
            [
                system,
                str(r["notes"]),
                _fmt(r["load_s"], ".2f"),
                _fmt(r["median_s"], ".3f"),
                _fmt(r["notes_per_s"], ".1f"),
                _fmt(r["ms_per_note"], ".2f"),
                _fmt(r["peak_rss_mb"], ".0f"),
                _fmt(r["ratio"], ".1f"),
                f"{r['outputs']} {r['output_kind']}",
            ]
        )
    first = next(iter(results.values()), None)
    if first is not None:
        title = (
            f"Notes throughput: {first['notes']} notes, {first['chars'] / max(first['notes'], 1) / 1024:.1f} KiB avg, "
            f"median of timed runs (medlens {args.repeat}, medspaCy {args.medspacy_repeat}) after "
            f"{first['warmup']} warm-up notes; Python {first['python']}, "
            f"{os.cpu_count()} CPUs"
        )
        _print_table(title, header, rows)
        for r in results.values():
            pipes = f", pipes {r['pipe_names']}" if "pipe_names" in r else ""
            print(f"  {r['system']}: versions {r['versions']}{pipes}")

    checks: list[tuple[str, str, str]] = []
    ml = results.get("medlens")
    if ml is not None:
        checks.append(
            (
                f"medlens >= {TARGET_NOTES_PER_S:.0f} notes/s",
                f"{ml['notes_per_s']:.1f}",
                "PASS" if ml["notes_per_s"] >= TARGET_NOTES_PER_S else "FAIL",
            )
        )
        if ml.get("ratio") is None:
            checks.append((f"medlens >= {TARGET_RATIO:.0f}x medspaCy default", "n/a", "SKIP (no medspaCy run)"))
        else:
            status = "PASS" if ml["ratio"] >= TARGET_RATIO else "FAIL"
            checks.append((f"medlens >= {TARGET_RATIO:.0f}x medspaCy default", f"{ml['ratio']:.1f}x", status))
        status = "PASS" if ml["peak_rss_mb"] < TARGET_RSS_MB else "FAIL"
        checks.append((f"medlens peak RSS < {TARGET_RSS_MB:.0f} MB", f"{ml['peak_rss_mb']:.0f} MB", status))
        _print_table("Targets", ["target", "measured", "result"], [list(c) for c in checks])
    if args.json is not None:
        payload = {"args": {k: str(v) for k, v in vars(args).items()}, "results": results, "checks": checks}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if ml is None:
        return 2
    return 1 if args.check and any(c[2] == "FAIL" for c in checks) else 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, required=True, help="Folder of .txt notes (read recursively, sorted).")
    p.add_argument("--limit", type=int, default=None, help="Use only the first N notes.")
    p.add_argument("--repeat", type=int, default=3, help="Timed runs per system; the median is reported (default 3).")
    p.add_argument(
        "--medspacy-repeat",
        type=int,
        default=1,
        help="Timed runs for the medspaCy systems (default 1: they take minutes on the full corpus).",
    )
    p.add_argument("--warmup", type=int, default=16, help="Notes processed before timing (default 16).")
    p.add_argument("--batch-size", type=int, default=32, help="Notes per batch (default 32).")
    p.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"Comma-separated systems to run (default {','.join(SYSTEMS)}; also medlens-cli).",
    )
    p.add_argument("--cli", action="store_true", help="Also time the end-to-end `medlens run` command.")
    p.add_argument(
        "--medspacy-python",
        default=None,
        help="Python of a virtualenv with medspacy==1.3.1 (default: benchmarks/.venv-medspacy/bin/python if present).",
    )
    p.add_argument("--timeout", type=float, default=1800, help="Seconds allowed per system (default 1800).")
    p.add_argument("--json", type=Path, default=None, help="Also write all measurements to this JSON file.")
    p.add_argument("--check", action="store_true", help="Exit 1 when a target fails (for CI).")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.corpus.is_dir():
        p.error(f"--corpus {args.corpus} is not a folder")
    if (
        min(args.repeat, args.medspacy_repeat, args.batch_size) < 1
        or args.warmup < 0
        or (args.limit is not None and args.limit < 1)
    ):
        p.error("--repeat, --medspacy-repeat, --batch-size and --limit must be >= 1, --warmup >= 0")
    if args.worker is not None:
        worker(args)
        return 0
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
