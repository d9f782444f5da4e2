"""radiology.labels accuracy and throughput against a keyword baseline, on OpenI (IU) and synthetic reports.

Claims checked (issue 4): micro-F1 >= 0.90 on ``iu_openi_dev.csv`` with our labels mapped to its classes (a plain
keyword labeler with negation cues scores about 0.83), and >= 500 reports/s in one process.

    python benchmarks/radiology_labels.py --data ../shared/data/radiology/iu_openi_dev.csv \
        [--synthetic ../shared/data/radiology/radlabels_synthetic] [--errors CLASS] [--json out.json] [--check]

**Splits.** Rows of the CSV with labels are numbered in file order; even rows are the *dev* half (the only rows
looked at while writing the lexicons and rules), odd rows the *held-out* half. Both are reported; quote the held-out
row. The synthetic corpus is split the same way by sorted file name. ``--errors`` prints dev-half errors only.

**Report text.** IU rows are joined as ``INDICATION: ...\nCOMPARISON: ...\nFINDINGS: ...\nIMPRESSION: ...`` (empty
fields left out), so sectioning is exercised: mentions in the indication produce no labels.

**Mapping (ours -> IU class).** Atelectasis <- Atelectasis; Cardiomegaly <- Cardiomegaly; Effusion <- Pleural
Effusion; Pneumonia <- Pneumonia; Pneumothorax <- Pneumothorax; Consolidation <- Consolidation; Edema <- Edema;
Pleural_Thickening <- Pleural Other; Nodule|Mass (IU Nodule or Mass, merged) <- Lung Lesion (CheXpert has one lesion
class); normal <- No Finding positive and Support Devices neither positive nor uncertain (IU "normal" is the MeSH
indexing "normal": nothing indexed at all, devices included, whereas CheXpert's No Finding ignores devices).
Not mapped, listed and left out of micro-F1: Infiltration (no CheXpert class; Lung Opacity is much broader),
Emphysema and Fibrosis (no CheXpert class).

**Uncertain.** Two rows per system, as in CheXpert's U-Ones / U-Zeros: uncertain counted as positive, and as
negative.

**Baseline.** ``keyword``: per class a handful of keywords, read in the findings and impression; a keyword is negated
when a negation cue (no, not, without, negative for, free of, clear of, resolved...) stands before it in its clause
(sentence up to "but", "however", "although", "which", "with" or ";"; at most 40 words back: the best window on the
dev half, 5 words gave 0.54 micro-F1, 8 gave 0.68); normal = no class keyword positive. It reads the same text
(findings and impression) and is scored on the same classes.

**Synthetic.** ``radlabels_synthetic`` (1,000 MIMIC-style reports, silver labels from RadGraph-XL + aliases, MIT):
silver findings grouped into CheXpert labels (see ``SYNTH_MAP``); positive-class P/R/F1 per label with uncertain as
positive (silver "uncertain" too) and as negative, and agreement on silver "definitely absent" (we say negative).
These labels are silver, not expert: read them as agreement, not accuracy. Our default settings are scored, so
Enlarged Cardiomediastinum is derived from Cardiomegaly (label hierarchy) where the silver labels have no such rule,
while their Lung Opacity ("air space opacity") does follow from consolidation, as ours does.

**Throughput.** Reports/s of ``RadiologyLabelsRules.label`` over all IU reports in one process, after the rules are
built, median of ``--repeat`` passes; the same for the keyword baseline.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medlens.radiology.labels import RadiologyLabelsRules
from medlens.radiology.schema import Label

TARGET_MICRO_F1 = 0.90
TARGET_REPORTS_PER_S = 500.0

IU_CLASSES = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "normal",
)
# Evaluated class -> (IU gold columns OR-ed, our label). "normal" is special-cased (see the module docstring).
MAPPING: dict[str, tuple[tuple[str, ...], str]] = {
    "normal": (("normal",), "No Finding"),
    "Atelectasis": (("Atelectasis",), "Atelectasis"),
    "Cardiomegaly": (("Cardiomegaly",), "Cardiomegaly"),
    "Effusion": (("Effusion",), "Pleural Effusion"),
    "Nodule|Mass": (("Nodule", "Mass"), "Lung Lesion"),
    "Pneumonia": (("Pneumonia",), "Pneumonia"),
    "Pneumothorax": (("Pneumothorax",), "Pneumothorax"),
    "Consolidation": (("Consolidation",), "Consolidation"),
    "Edema": (("Edema",), "Edema"),
    "Pleural_Thickening": (("Pleural_Thickening",), "Pleural Other"),
}
UNMAPPED = {
    "Infiltration": "no CheXpert class (Lung Opacity also covers any opacity, which IU indexes as 'Opacity')",
    "Emphysema": "no CheXpert class (an 'other finding' that keeps No Finding negative)",
    "Fibrosis": "no CheXpert class (an 'other finding'; CheXpert's Pleural Other list has 'fibrosis', medlens not)",
}

SYNTH_MAP: dict[str, tuple[str, ...]] = {
    "Enlarged Cardiomediastinum": ("enlarged_cardiomediastinum",),
    "Cardiomegaly": ("cardiomegaly",),
    "Lung Lesion": ("lung_nodule_or_mass", "lung_lesion"),
    "Lung Opacity": ("lung_opacity", "air_space_opacity", "ground_glass_opacity", "infiltration"),
    "Edema": ("pulmonary_edema",),
    "Consolidation": ("consolidation",),
    "Pneumonia": ("pneumonia",),
    "Atelectasis": ("atelectasis", "lobar_segmental_collapse", "whole_lung_or_majority_collapse"),
    "Pneumothorax": ("pneumothorax",),
    "Pleural Effusion": ("pleural_effusion",),
    "Pleural Other": ("pleural_thickening", "pleural_other"),
    "Fracture": ("fracture_generic", "acute_rib_fracture", "non_acute_rib_fracture"),
    "Support Devices": (
        "endotracheal_tube",
        "enteric_tube",
        "central_venous_catheter",
        "intercostal_drain",
        "pacemaker_electronic_cardiac_device_or_wires",
        "tracheostomy_tube",
        "support_devices_generic",
        "implantable_electronic_device",
    ),
}
SILVER = {"definitely present": "positive", "uncertain": "uncertain", "definitely absent": "negative"}

# ------------------------------------------------------------------------------------------------ keyword baseline

BASELINE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Atelectasis": ("atelectasis", "atelectatic", "collapse"),
    "Cardiomegaly": ("cardiomegaly", "enlarged heart", "heart is enlarged", "cardiac enlargement"),
    "Effusion": ("effusion", "effusions", "pleural fluid"),
    "Nodule|Mass": ("nodule", "nodules", "mass", "masses", "nodular"),
    "Pneumonia": ("pneumonia", "infection"),
    "Pneumothorax": ("pneumothorax", "pneumothoraces"),
    "Consolidation": ("consolidation", "consolidations"),
    "Edema": ("edema",),
    "Pleural_Thickening": ("pleural thickening",),
}
_NEG_CUE = re.compile(
    r"\b(?:no|not|without|negative for|free of|clear of|resolved|resolution of|absence of|rule out|ruled out)\b"
)
_SENT = re.compile(r"[^.!?\n]+")
_CLAUSE_BREAK = re.compile(r"\b(?:but|however|although|which|with)\b|;")


class KeywordLabeler:
    """Keywords per class, negated by a cue within ``window`` words before them in the same clause."""

    def __init__(self, window: int = 40) -> None:
        self.window = window
        self._rx = {
            cls: re.compile(r"\b(?:" + "|".join(re.escape(k) for k in kws) + r")\b")
            for cls, kws in BASELINE_KEYWORDS.items()
        }

    def __call__(self, text: str) -> dict[str, str]:
        low = text.lower()
        out = dict.fromkeys(MAPPING, "negative")
        for sent in _SENT.finditer(low):
            s = sent.group()
            for cls, rx in self._rx.items():
                for m in rx.finditer(s):
                    clause = _CLAUSE_BREAK.split(s[: m.start()])[-1]
                    if not _NEG_CUE.search(" ".join(clause.split()[-self.window :])):
                        out[cls] = "positive"
        out["normal"] = "positive" if all(out[c] != "positive" for c in BASELINE_KEYWORDS) else "negative"
        return out


# ------------------------------------------------------------------------------------------------ data


def read_iu(path: Path) -> list[dict[str, Any]]:
    """Labelled IU rows as dicts: uid, text, text_fi (findings+impression only), gold {class: 0/1}."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["normal"] == "":
                continue
            parts = [
                f"{head}: {row[key].strip()}"
                for head, key in (
                    ("INDICATION", "indication"),
                    ("COMPARISON", "comparison"),
                    ("FINDINGS", "findings"),
                    ("IMPRESSION", "impression"),
                )
                if row[key].strip()
            ]
            gold = {c: int(float(row[c])) for c in IU_CLASSES}
            rows.append(
                {
                    "uid": row["uid"],
                    "text": "\n".join(parts),
                    "text_fi": (row["findings"] + "\n" + row["impression"]).strip(),
                    "gold": gold,
                }
            )
    return rows


def read_synthetic(folder: Path) -> list[dict[str, Any]]:
    """Synthetic reports with silver labels grouped into CheXpert labels (status or absent)."""
    labels = json.loads((folder / "synthetic_labels.json").read_text(encoding="utf-8"))
    rows = []
    for path in sorted((folder / "synthetic_reports").glob("*.txt")):
        silver = labels.get(path.stem, {})
        gold: dict[str, str] = {}
        for ours, theirs in SYNTH_MAP.items():
            statuses = [SILVER[silver[t]] for t in theirs if t in silver]
            for status in ("positive", "uncertain", "negative"):
                if status in statuses:
                    gold[ours] = status
                    break
        rows.append({"uid": path.stem, "text": path.read_text(encoding="utf-8"), "gold": gold})
    return rows


# ------------------------------------------------------------------------------------------------ scoring


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def ours_iu(labels: Sequence[Label]) -> dict[str, str]:
    """Our statuses on the evaluated IU classes."""
    status = {lab.name: lab.status for lab in labels}
    out = {cls: status[ours] for cls, (_, ours) in MAPPING.items()}
    if status["Support Devices"] in ("positive", "uncertain") and out["normal"] == "positive":
        out["normal"] = "negative"
    return out


def score(preds: Sequence[dict[str, str]], golds: Sequence[dict[str, int]], uncertain_positive: bool) -> dict[str, Any]:
    """Per-class and micro P/R/F1 (normal included, and also micro without normal)."""
    pos = {"positive", "uncertain"} if uncertain_positive else {"positive"}
    per: dict[str, dict[str, float]] = {}
    total = [0, 0, 0]
    total_nn = [0, 0, 0]
    for cls, (cols, _) in MAPPING.items():
        tp = fp = fn = 0
        for pred, gold in zip(preds, golds, strict=True):
            g = any(gold[c] for c in cols)
            p = pred[cls] in pos
            tp += g and p
            fp += p and not g
            fn += g and not p
        p_, r_, f_ = prf(tp, fp, fn)
        per[cls] = {"precision": p_, "recall": r_, "f1": f_, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}
        for acc in (total, total_nn) if cls != "normal" else (total,):
            acc[0] += tp
            acc[1] += fp
            acc[2] += fn
    return {"per_class": per, "micro_f1": prf(*total)[2], "micro_f1_without_normal": prf(*total_nn)[2]}


def time_it(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def print_table(title: str, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n## {title}")
    systems = list(results)
    print("| class | support | " + " | ".join(f"{s} P / R / F1" for s in systems) + " |")
    print("|---|---:|" + "---|" * len(systems))
    first = results[systems[0]]["per_class"]
    for cls in MAPPING:
        cells = []
        for s in systems:
            m = results[s]["per_class"][cls]
            cells.append(f"{m['precision']:.3f} / {m['recall']:.3f} / {m['f1']:.3f}")
        print(f"| {cls} | {int(first[cls]['support'])} | " + " | ".join(cells) + " |")
    print("| **micro-F1** | | " + " | ".join(f"**{results[s]['micro_f1']:.3f}**" for s in systems) + " |")
    print(
        "| micro-F1 without normal | | "
        + " | ".join(f"{results[s]['micro_f1_without_normal']:.3f}" for s in systems)
        + " |"
    )


def evaluate_iu(
    rows: list[dict[str, Any]], rules: RadiologyLabelsRules, baseline: KeywordLabeler, errors: str | None
) -> dict[str, Any]:
    ours = [rules.label(r["text"], r["uid"]) for r in rows]
    ours_m = [ours_iu(labels) for labels in ours]
    base_m = [baseline(r["text_fi"]) for r in rows]
    out: dict[str, Any] = {}
    for split, keep in (("dev (even rows)", 0), ("held-out (odd rows)", 1)):
        idx = [i for i in range(len(rows)) if i % 2 == keep]
        golds = [rows[i]["gold"] for i in idx]
        res = {
            "medlens U-ones": score([ours_m[i] for i in idx], golds, True),
            "medlens U-zeros": score([ours_m[i] for i in idx], golds, False),
            "keyword baseline": score([base_m[i] for i in idx], golds, True),
        }
        print_table(f"IU OpenI {split}: {len(idx)} reports", res)
        out[split] = res
    if errors:
        show_errors(rows, ours, ours_m, errors)
    return out


def show_errors(rows: list[dict[str, Any]], ours: list[list[Label]], ours_m: list[dict[str, str]], cls: str) -> None:
    cols, name = MAPPING[cls]
    print(f"\n## dev-half errors for {cls} (U-ones)")
    for i in range(0, len(rows), 2):
        g = any(rows[i]["gold"][c] for c in cols)
        p = ours_m[i][cls] in ("positive", "uncertain")
        if g != p:
            lab = next(label for label in ours[i] if label.name == name)
            kind = "FN" if g else "FP"
            print(f"- {kind} {rows[i]['uid']}: ours={lab.status} {[e.quote for e in lab.evidence][:4]}")
            print("    " + rows[i]["text"].replace("\n", " | "))


def evaluate_synthetic(rows: list[dict[str, Any]], rules: RadiologyLabelsRules, errors: str | None) -> dict[str, Any]:
    labelled = [rules.label(r["text"], r["uid"]) for r in rows]
    preds = [{lab.name: lab.status for lab in labels} for labels in labelled]
    if errors:
        print(f"\n## synthetic dev-half disagreements for {errors}")
        for i in range(0, len(rows), 2):
            silver = rows[i]["gold"].get(errors, "not_mentioned")
            ours = preds[i][errors]
            if silver != ours:
                lab = next(label for label in labelled[i] if label.name == errors)
                print(f"- {rows[i]['uid']}: silver={silver} ours={ours} {[e.quote for e in lab.evidence][:4]}")
    out: dict[str, Any] = {}
    for split, keep in (("dev (even files)", 0), ("held-out (odd files)", 1)):
        idx = [i for i in range(len(rows)) if i % 2 == keep]
        res: dict[str, Any] = {}
        print(f"\n## radlabels synthetic {split}: {len(idx)} reports (silver labels)")
        print("| label | silver pos | U-ones P / R / F1 | U-zeros P / R / F1 | silver absent -> ours negative |")
        print("|---|---:|---|---|---|")
        tot = {True: [0, 0, 0], False: [0, 0, 0]}
        for name in SYNTH_MAP:
            row: dict[str, Any] = {}
            cells = []
            for u in (True, False):
                pos = {"positive", "uncertain"} if u else {"positive"}
                tp = fp = fn = 0
                for i in idx:
                    g = rows[i]["gold"].get(name) in pos
                    p = preds[i][name] in pos
                    tp += g and p
                    fp += p and not g
                    fn += g and not p
                tot[u][0] += tp
                tot[u][1] += fp
                tot[u][2] += fn
                row["u_ones" if u else "u_zeros"] = prf(tp, fp, fn)
                cells.append("{:.3f} / {:.3f} / {:.3f}".format(*prf(tp, fp, fn)))
            absent = [i for i in idx if rows[i]["gold"].get(name) == "negative"]
            agree = sum(preds[i][name] == "negative" for i in absent)
            support = sum(rows[i]["gold"].get(name) in ("positive", "uncertain") for i in idx)
            row["absent_agreement"] = (agree, len(absent))
            res[name] = row
            print(f"| {name} | {support} | {cells[0]} | {cells[1]} | {agree}/{len(absent)} |")
        mu = {u: prf(*tot[u])[2] for u in (True, False)}
        print(f"| **micro-F1** | | **{mu[True]:.3f}** | **{mu[False]:.3f}** | |")
        res["micro_f1"] = {"u_ones": mu[True], "u_zeros": mu[False]}
        out[split] = res
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, required=True, help="iu_openi_dev.csv")
    ap.add_argument("--synthetic", type=Path, default=None, help="radlabels_synthetic folder (optional)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes for throughput (median)")
    ap.add_argument("--errors", choices=sorted(MAPPING), default=None, help="print dev-half errors of one class")
    ap.add_argument(
        "--synthetic-errors", default=None, help="print dev-half disagreements of one CheXpert label (synthetic)"
    )
    ap.add_argument("--json", type=Path, default=None, help="write all figures as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    rules = RadiologyLabelsRules()
    load_s = time.perf_counter() - t0
    baseline = KeywordLabeler()
    rows = read_iu(args.data)
    print(f"# radiology.labels benchmark ({len(rows)} labelled IU reports; rules built in {load_s:.2f} s)")
    print("Unmapped IU classes (excluded from micro-F1): " + "; ".join(f"{k}: {v}" for k, v in UNMAPPED.items()))
    results: dict[str, Any] = {"iu": evaluate_iu(rows, rules, baseline, args.errors)}

    texts = [r["text"] for r in rows]
    fi = [r["text_fi"] for r in rows]
    s_ours = time_it(lambda: [rules.label(t, "x") for t in texts], args.repeat)
    s_base = time_it(lambda: [baseline(t) for t in fi], args.repeat)
    avg = sum(map(len, texts)) / len(texts)
    print(f"\n## Throughput ({len(texts)} reports, {avg:.0f} characters on average, one process)")
    print("| system | reports/s | ms/report |\n|---|---:|---:|")
    print(f"| medlens radiology.labels | {len(texts) / s_ours:.0f} | {1000 * s_ours / len(texts):.2f} |")
    print(f"| keyword baseline | {len(fi) / s_base:.0f} | {1000 * s_base / len(fi):.3f} |")
    results["throughput"] = {"medlens": len(texts) / s_ours, "keyword": len(fi) / s_base}

    if args.synthetic is not None:
        results["synthetic"] = evaluate_synthetic(read_synthetic(args.synthetic), rules, args.synthetic_errors)

    held = results["iu"]["held-out (odd rows)"]["medlens U-ones"]["micro_f1"]
    rate = results["throughput"]["medlens"]
    ok_f1 = held >= TARGET_MICRO_F1
    ok_rate = rate >= TARGET_REPORTS_PER_S
    print(f"\nmicro-F1 held-out (U-ones) {held:.3f} >= {TARGET_MICRO_F1}: {'PASS' if ok_f1 else 'FAIL'}")
    print(f"throughput {rate:.0f} reports/s >= {TARGET_REPORTS_PER_S:.0f}: {'PASS' if ok_rate else 'FAIL'}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if (ok_f1 and ok_rate) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
