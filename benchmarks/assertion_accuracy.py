"""Assertion (ConText) accuracy on the synthetic dev set: P/R/F1 and support per status, per split.

Usage:
    python benchmarks/assertion_accuracy.py [--data PATH ...] [--plain] [--errors]

Data: benchmarks/data/assertion_dev.jsonl and assertion_blind.jsonl, one synthetic sentence per line written by the
medlens authors:
``{"id", "text", "target", "start", "end", "negated", "uncertain", "historical", "hypothetical", "family"}``.
Labels follow the meaning of the sentence, not the rules:

* negated: stated absent, ruled out, resolved ("rash resolved"), or a negative sign/serology;
* uncertain: possible, suspected, to be ruled out, unlikely, not ruled out;
* historical: a past condition or event (history of, s/p, prior, a past year, years ago), and every target in a
  past medical/surgical history section;
* hypothetical: conditional or future (return if, should ... develop, risk of, as needed for);
* family: experienced by someone other than the patient, and every target in a family history section;
* several may be true; none true means affirmed, current, about the patient.

Splits: "dev" (ids ``adNNNN`` ending 3-9) was used to tune the rules; "heldout" (ids ``adNNNN`` ending 0-2) was
written with it but never used for tuning; "late" (ids ``adlateNNN``) is a second batch of longer, transcription-
style sentences written after the rules were frozen; "blind" (ids ``blind-NNN``, assertion_blind.jsonl) was
written by an author who never saw the rules or the rest of the dev set.

Honesty note: "late" and "blind" were each measured first (negation F1 0.954 and 0.949, all-five-exact 0.897 and
0.924), then used for one round of error analysis that added general cues (refusals, "which resolved", "no
improvement in", duration "N-day history of", clause terminators). Figures on them are now optimistic too; the
first-measurement numbers above are the honest held-out estimates. Write a fresh blind batch before trusting a
new figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from medlens.core.types import ASSERTION_STATUSES
from medlens.text.assertion import assert_target

DATA = Path(__file__).parent / "data"
DEFAULT = [DATA / "assertion_dev.jsonl", DATA / "assertion_blind.jsonl"]


def split_of(rid: str) -> str:
    if rid.startswith("adlate"):
        return "late"
    if rid.startswith("blind-"):
        return "blind"
    return "heldout" if rid[-1:] in "012" else "dev"


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, action="append", help="JSONL set, repeatable (default: dev and blind sets)")
    ap.add_argument("--plain", action="store_true", help="plain text table instead of rich")
    ap.add_argument("--errors", action="store_true", help="also list the tuning-split errors")
    args = ap.parse_args(argv)

    rows = [
        json.loads(line)
        for path in args.data or DEFAULT
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    counts: dict[tuple[str, str], list[int]] = {}
    exact: dict[str, list[int]] = {}
    errors: list[str] = []
    for row in rows:
        if row["text"][row["start"] : row["end"]] != row["target"]:
            raise SystemExit(f"{row['id']}: offsets do not quote the target")
        got = assert_target(row["text"], start=row["start"], end=row["end"])
        for split in (split_of(row["id"]), "all"):
            ok = exact.setdefault(split, [0, 0])
            ok[1] += 1
            ok[0] += all(getattr(got, s) == row[s] for s in ASSERTION_STATUSES)
            for status in ASSERTION_STATUSES:
                c = counts.setdefault((split, status), [0, 0, 0, 0])  # tp fp fn support
                g, p = bool(row[status]), getattr(got, status)
                c[0] += g and p
                c[1] += p and not g
                c[2] += g and not p
                c[3] += g
        if args.errors and split_of(row["id"]) == "dev" and any(getattr(got, s) != row[s] for s in ASSERTION_STATUSES):
            gold = [s for s in ASSERTION_STATUSES if row[s]]
            errors.append(f"{row['id']}: {row['text']!r} target={row['target']!r} gold={gold} got={list(got.statuses)}")

    header = ["split", "status", "precision", "recall", "F1", "support"]
    table: list[list[str]] = []
    for split in ("dev", "heldout", "late", "blind", "all"):
        for status in ASSERTION_STATUSES:
            tp, fp, fn, sup = counts.get((split, status), [0, 0, 0, 0])
            p, r, f = prf(tp, fp, fn)
            table.append([split, status, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", str(sup)])
        ok, n = exact.get(split, [0, 0])
        table.append([split, "all five exact", "", "", f"{ok / n if n else 0:.3f}", str(n)])

    names = ", ".join(p.name for p in args.data or DEFAULT)
    title = f"Assertion accuracy on {names} ({len(rows)} targets; see the honesty note in --help)"
    if args.plain:
        print(title)
        widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
        for r in [header, *table]:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title)
        for h in header:
            t.add_column(h, justify="left" if h in ("split", "status") else "right")
        for r in table:
            t.add_row(*r)
        Console().print(t)
    for e in errors:
        print(e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
