"""radiology.impression against its reference impressions and four baselines, on OpenI (IU) chest radiograph reports.

Claims checked (issue 4): the draft impression, built from the FINDINGS only, is compared with the report's own
IMPRESSION by ROUGE-L F1 and by a clinical label F1, side by side with baselines in the same run; it never loses a
positive finding.

    python benchmarks/radiology_impression.py --data ../shared/data/radiology/iu_openi_dev.csv [--json out.json]
        [--check]

**Rows.** Reports with both a findings and an impression text, in file order; even rows are the *train* split (used
only by the retrieval baseline), odd rows the *test* split on which every method is scored. The document given to
medlens is ``FINDINGS: <findings>\\n\\nIMPRESSION: <impression>``; the benchmark checks that no evidence span of
the draft lies in the impression (the draft must not peek).

**Methods.** ``medlens`` (``RadiologyImpressionRules``); ``first_sentence`` (the first findings sentence);
``positive_sentences`` (every findings sentence holding a positive label mention of radiology.labels run on the
findings; empty when none); ``normal_template`` (always "No acute cardiopulmonary abnormality."); ``retrieval``
(the impression of the train report whose findings are most similar by TF-IDF cosine: tokens as ROUGE-L's,
idf = log(N / df) + 1, l2-normalised, standard library only).

**Metrics.** ``rougeL``: mean ROUGE-L F1 (``medlens.eval.text_metrics.rouge_l``; lower-cased ``[a-z0-9]+`` tokens,
no stemming). ``label F1``: radiology.labels run on the generated impression and on the reference impression (both
as un-sectioned text); micro-F1 over the 14 CheXpert labels (No Finding included), a label counting when
``positive`` (``F1 pos``), and when positive or uncertain (``F1 pos+unc``); ``F1 13``: positive, No Finding left out
(the findings alone, which a normal template cannot score on). ``lost``: positive labels of the
findings (radiology.labels on the findings alone, No Finding aside) that are not positive in the generated
impression, summed over reports, and the number of reports with any. Overlap metrics reward copying a normal
template (most IU reports are normal), so read the label F1 and ``lost``; medlens must lose 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from medlens.eval.text_metrics import rouge_l, rouge_tokens
from medlens.radiology.impression import RadiologyImpressionRules
from medlens.radiology.labels import RadiologyLabelsRules
from medlens.text.analysis import analyze

TEMPLATE = "No acute cardiopulmonary abnormality."
_WORD = re.compile(r"\w+")


def load_rows(path: Path) -> list[dict[str, str]]:
    """Rows with both a findings and an impression text, in file order."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["findings"].strip() and r["impression"].strip()]
    return rows


class TfidfRetriever:
    """Nearest train report by TF-IDF cosine over findings tokens (standard library only)."""

    def __init__(self, docs: list[str], answers: list[str]) -> None:
        self.answers = answers
        tokenised = [Counter(rouge_tokens(d)) for d in docs]
        df: Counter[str] = Counter()
        for tf in tokenised:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(n / c) + 1.0 for t, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, tf in enumerate(tokenised):
            for t, w in self._vector(tf).items():
                self.postings.setdefault(t, []).append((i, w))

    def _vector(self, tf: Counter[str]) -> dict[str, float]:
        vec = {t: c * self.idf.get(t, 0.0) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items() if v}

    def __call__(self, text: str) -> str:
        scores: Counter[int] = Counter()
        for t, q in self._vector(Counter(rouge_tokens(text))).items():
            for i, w in self.postings.get(t, ()):
                scores[i] += q * w
        if not scores:
            return self.answers[0]
        best = max(scores.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        return self.answers[best]


def micro_f1(pairs: list[tuple[set[str], set[str]]]) -> float:
    """Micro-F1 over (predicted, gold) label sets."""
    tp = sum(len(p & g) for p, g in pairs)
    fp = sum(len(p - g) for p, g in pairs)
    fn = sum(len(g - p) for p, g in pairs)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table (and write JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--data", type=Path, required=True, help="iu_openi_dev.csv")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--check", action="store_true", help="exit 1 unless medlens loses no positive finding")
    args = ap.parse_args(argv)

    rows = load_rows(args.data)
    train, test = rows[0::2], rows[1::2]
    impression = RadiologyImpressionRules()
    labeler = RadiologyLabelsRules()
    findings_labeler = RadiologyLabelsRules(sections=("findings",))
    retrieve = TfidfRetriever([r["findings"] for r in train], [r["impression"] for r in train])

    def labels_of(text: str, *, uncertain: bool) -> set[str]:
        ok = ("positive", "uncertain") if uncertain else ("positive",)
        return {lab.name for lab in labeler.label(text, "gen") if lab.status in ok}

    outputs: dict[str, list[str]] = {m: [] for m in ("medlens", "first_sentence", "positive_sentences")}
    outputs["normal_template"] = []
    outputs["retrieval"] = []
    findings_pos: list[set[str]] = []
    ungrounded = 0
    peeked = 0
    timings: list[float] = []
    for i, r in enumerate(test):
        findings = " ".join(r["findings"].split())
        doc = f"FINDINGS: {findings}\n\nIMPRESSION: {r['impression']}"
        imp_start = doc.index("\n\nIMPRESSION:")
        t0 = time.perf_counter()
        res = impression.draft(doc, f"iu-{i}")
        timings.append(time.perf_counter() - t0)
        for s in res.sentences:
            if any(ev.end > imp_start or doc[ev.start : ev.end] != ev.quote for ev in s.evidence):
                peeked += 1
            if s.kind == "extractive":
                have = {w.lower() for ev in s.evidence for w in _WORD.findall(ev.quote)}
                if {w.lower() for w in _WORD.findall(s.text)} - have:
                    ungrounded += 1
        outputs["medlens"].append(res.text)
        fdoc = f"FINDINGS: {findings}"
        analysis = analyze(fdoc)
        sents = [(a, b) for a, b in analysis.sentences if b > len("FINDINGS:")]
        first = sents[0] if sents else (0, 0)
        outputs["first_sentence"].append(fdoc[max(first[0], len("FINDINGS:")) : first[1]].strip())
        flabels = findings_labeler.label(fdoc, "f")
        pos_starts = {ev.start for lab in flabels if lab.status == "positive" for ev in lab.evidence}
        picked = [fdoc[max(a, len("FINDINGS:")) : b].strip() for a, b in sents if any(a <= s < b for s in pos_starts)]
        outputs["positive_sentences"].append(" ".join(picked))
        outputs["normal_template"].append(TEMPLATE)
        outputs["retrieval"].append(retrieve(findings))
        findings_pos.append({lab.name for lab in flabels if lab.status == "positive" and lab.name != "No Finding"})

    refs = [r["impression"] for r in test]
    gold = [labels_of(t, uncertain=False) for t in refs]
    gold_u = [labels_of(t, uncertain=True) for t in refs]
    table: dict[str, dict[str, float]] = {}
    for method, outs in outputs.items():
        pred = [labels_of(t, uncertain=False) for t in outs]
        pred_u = [labels_of(t, uncertain=True) for t in outs]
        lost = [len(fp - p) for fp, p in zip(findings_pos, pred, strict=True)]
        table[method] = {
            "rougeL": statistics.fmean(rouge_l(o, ref) for o, ref in zip(outs, refs, strict=True)),
            "label_f1_pos": micro_f1(list(zip(pred, gold, strict=True))),
            "label_f1_pos_unc": micro_f1(list(zip(pred_u, gold_u, strict=True))),
            "label_f1_findings": micro_f1(
                [(p - {"No Finding"}, g - {"No Finding"}) for p, g in zip(pred, gold, strict=True)]
            ),
            "lost_findings": float(sum(lost)),
            "reports_losing": float(sum(1 for n in lost if n)),
        }
    n_pos = sum(1 for s in findings_pos if s)
    print(f"radiology.impression on {args.data.name}: {len(rows)} reports with findings and impression; ")
    print(f"train (even rows) {len(train)}, test (odd rows) {len(test)}; test reports with a positive finding: {n_pos}")
    print(f"{'method':<20}{'ROUGE-L F':>10}{'F1 pos':>9}{'F1 pos+unc':>12}{'F1 13':>8}{'lost':>7}{'reports':>9}")
    for method, m in table.items():
        print(
            f"{method:<20}{m['rougeL']:>10.3f}{m['label_f1_pos']:>9.3f}{m['label_f1_pos_unc']:>12.3f}{m['label_f1_findings']:>8.3f}"
            f"{int(m['lost_findings']):>7}{int(m['reports_losing']):>9}"
        )
    per_report_ms = 1000 * statistics.median(timings)
    print(
        f"medlens: {ungrounded} ungrounded sentences, {peeked} sentences citing outside the findings; "
        f"median {per_report_ms:.2f} ms/report ({len(test) / sum(timings):.0f} reports/s incl. labels)"
    )
    print(
        "Note: overlap metrics (ROUGE-L) reward copying a normal template, since most reports are normal; "
        "the label F1 and 'lost' are the figures that count."
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"n_test": len(test), "methods": table}, indent=2), encoding="utf-8")
    if args.check and (table["medlens"]["lost_findings"] or ungrounded or peeked):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
