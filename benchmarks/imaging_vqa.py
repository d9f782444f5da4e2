"""VQA-RAD (training split): coverage of medlens.imaging.vqa offline, accuracy on the answered share, baselines.

Claim checked (issue 7): report coverage (share answered offline) and accuracy on the answered share honestly, next
to trivial baselines (always "no" on closed questions; majority answer per question type).

    .venv/bin/python benchmarks/imaging_vqa.py [--data ../shared/data/imaging/vqa_rad] [--json F]

VQA-RAD images are 2-D JPEGs from MedPix teaching cases **without DICOM tags**; medlens answers offline only what
DICOM tags or the Hounsfield-unit engine compute, so coverage on this set is expected to be (near) zero. The script
therefore also reports how many questions the parser recognises as computable *if* tags or a CT volume were given
(by intent), and how well that intent agrees with VQA-RAD's own ``question_type`` label (a parser precision check).

Baselines:
- ``always "no"`` on CLOSED questions (accuracy over closed questions);
- ``majority per question type``: the most frequent answer among the *other* questions of the same
  (question_type, answer_type) -- leave-one-out, so the baseline is not scored on answers it was fitted on. The
  in-sample figure (fitted on all, including the question itself) is printed too.
Answers are compared case-insensitively after trimming whitespace and a trailing full stop (VQA-RAD's exact-match
convention for closed questions).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imaging" / "vqa_rad"

# VQA-RAD question_type labels an intent corresponds to (for the parser precision check).
INTENT_TO_QTYPE = {
    "modality": "MODALITY",
    "plane": "PLANE",
    "body_part": "ORGAN",
    "contrast": "MODALITY",
    "laterality": "POS",
    "structure_presence": "PRES",
    "structure_volume": "SIZE",
}


def _norm(text: Any) -> str:
    return str(text).strip().lower().rstrip(".").strip()


def _majority_loo(items: list[dict[str, Any]]) -> tuple[float, float]:
    """Leave-one-out and in-sample accuracy of 'majority answer per (question_type, answer_type)'."""
    by_type: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for it in items:
        by_type[(it["qtype"], it["atype"])][it["gold"]] += 1
    loo = ins = 0
    for it in items:
        counts = by_type[(it["qtype"], it["atype"])]
        best_in = counts.most_common(1)[0][0]
        ins += best_in == it["gold"]
        counts[it["gold"]] -= 1
        rest = [(c, a) for a, c in counts.items() if c > 0]
        best = max(rest)[1] if rest else ""
        loo += best == it["gold"]
        counts[it["gold"]] += 1
    n = max(1, len(items))
    return loo / n, ins / n


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    from medlens.imaging.vqa import answer, parse_question

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="VQA-RAD folder (trainset.json, images/).")
    ap.add_argument("--json", type=Path, default=None, help="Also write the figures as JSON here.")
    ap.add_argument("--limit", type=int, default=0, help="Only the first N questions (0 = all).")
    args = ap.parse_args(argv)

    rows = json.loads((args.data / "trainset.json").read_text(encoding="utf-8"))
    if args.limit:
        rows = rows[: args.limit]
    items: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for r in rows:
        res = answer(r["question"], args.data / "images" / r["image_name"])
        parsed = parse_question(r["question"])
        items.append(
            {
                "qtype": str(r["question_type"]).strip().upper(),
                "atype": str(r["answer_type"]).strip().upper(),
                "gold": _norm(r["answer"]),
                "status": res.status,
                "pred": _norm(res.answer) if res.answer is not None else None,
                "intent": parsed.intent,
                "our_type": parsed.answer_type.upper(),
            }
        )
    elapsed = time.perf_counter() - t0

    n = len(items)
    answered = [it for it in items if it["status"] == "answered"]
    correct = sum(it["pred"] == it["gold"] for it in answered)
    closed = [it for it in items if it["atype"] == "CLOSED"]
    always_no = sum(it["gold"] == "no" for it in closed) / max(1, len(closed))
    maj_loo, maj_in = _majority_loo(items)
    maj_closed_loo, _ = _majority_loo(closed)
    type_agree = sum(it["our_type"] == it["atype"] for it in items) / max(1, n)

    print(f"VQA-RAD trainset: {n} questions, {len({r['image_name'] for r in rows})} images (2-D JPEG, no DICOM tags)")
    print(f"time: {elapsed:.2f} s total, {1000 * elapsed / max(1, n):.2f} ms per question\n")
    print("| system | scope | coverage | accuracy on answered |")
    print("|---|---|---|---|")
    acc = f"{correct / len(answered):.3f}" if answered else "n/a (nothing answered)"
    print(
        f"| medlens offline (tags + HU engine) | all | {len(answered) / max(1, n):.3f} ({len(answered)}/{n}) | {acc} |"
    )
    print(f'| always "no" | closed | 1.000 ({len(closed)}/{len(closed)}) | {always_no:.3f} |')
    print(f"| majority per question type (leave-one-out) | all | 1.000 | {maj_loo:.3f} |")
    print(f"| majority per question type (leave-one-out) | closed | 1.000 | {maj_closed_loo:.3f} |")
    print(f"| majority per question type (in-sample, optimistic) | all | 1.000 | {maj_in:.3f} |")

    reasons = Counter(
        "not computable" if it["intent"] is None else f"intent {it['intent']}, no tags/volume"
        for it in items
        if it["status"] != "answered"
    )
    print("\nNot answered offline, by reason:")
    for reason, count in reasons.most_common():
        print(f"  {reason}: {count}")

    by_intent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        if it["intent"] is not None:
            by_intent[it["intent"]].append(it)
    recognised = sum(len(v) for v in by_intent.values())
    print(
        f"\nRecognised as computable (would be answerable with DICOM tags / a CT volume): {recognised}/{n} "
        f"= {recognised / max(1, n):.3f}"
    )
    print("| intent | questions | share whose VQA-RAD question_type agrees |")
    print("|---|---|---|")
    precision: dict[str, float] = {}
    for intent, its in sorted(by_intent.items()):
        agree = sum(INTENT_TO_QTYPE[intent] in it["qtype"] for it in its) / len(its)
        precision[intent] = agree
        print(f"| {intent} | {len(its)} | {agree:.2f} |")
    print(f"\nclosed/open classification agrees with VQA-RAD answer_type on {type_agree:.3f} of questions")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "questions": n,
                    "answered_offline": len(answered),
                    "coverage": len(answered) / max(1, n),
                    "accuracy_on_answered": correct / len(answered) if answered else None,
                    "baseline_always_no_closed": always_no,
                    "baseline_majority_loo_all": maj_loo,
                    "baseline_majority_loo_closed": maj_closed_loo,
                    "baseline_majority_in_sample_all": maj_in,
                    "recognised_computable": recognised,
                    "intent_counts": {k: len(v) for k, v in by_intent.items()},
                    "intent_qtype_agreement": precision,
                    "answer_type_agreement": type_agree,
                    "seconds": elapsed,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
