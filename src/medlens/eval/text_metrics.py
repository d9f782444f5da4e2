"""Text-overlap metrics for generated text (radiology impressions, summaries): small pure functions.

ROUGE-L (Lin, "ROUGE: A Package for Automatic Evaluation of Summaries", ACL Workshop 2004, section 3.1): the
longest common subsequence (LCS) of candidate and reference tokens gives recall ``LCS/len(reference)`` and precision
``LCS/len(candidate)``; the score here is their harmonic mean (F1, beta = 1, as Google's ``rouge-score`` package
reports ``fmeasure``), sentence-level over the whole text (not the summary-level "ROUGE-Lsum").

Tokenisation: lower-cased, maximal runs of ASCII letters and digits (``[a-z0-9]+``); punctuation and other characters
separate tokens and are dropped; no stemming and no stop-word removal. This is ``rouge-score``'s default tokeniser
without its optional Porter stemmer.
"""

from __future__ import annotations

import re

__all__ = ["lcs_length", "rouge_l", "rouge_tokens"]

_TOKEN = re.compile(r"[a-z0-9]+")


def rouge_tokens(text: str) -> list[str]:
    """The tokens ROUGE-L compares: lower-cased runs of ``[a-z0-9]``.

    >>> rouge_tokens("No acute cardiopulmonary abnormality.")
    ['no', 'acute', 'cardiopulmonary', 'abnormality']
    >>> rouge_tokens("5-mm nodule, RUL")
    ['5', 'mm', 'nodule', 'rul']
    """
    return _TOKEN.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)) time, O(len(b)) memory).

    >>> lcs_length(["a", "b", "c", "d"], ["a", "c", "d", "b"])
    3
    >>> lcs_length([], ["a"])
    0
    """
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of ``candidate`` against ``reference``, in [0, 1]; 0.0 when either has no token.

    Args:
        candidate: the generated text.
        reference: the reference text.

    Returns:
        ``2 * P * R / (P + R)`` with ``P = LCS / len(candidate tokens)`` and ``R = LCS / len(reference tokens)``.

    >>> rouge_l("No acute cardiopulmonary abnormality.", "no acute cardiopulmonary abnormality")
    1.0
    >>> round(rouge_l("small left pleural effusion", "small left effusion"), 4)
    0.8571
    >>> rouge_l("pneumothorax", "")
    0.0
    >>> rouge_l("heart normal", "lungs clear")
    0.0
    """
    cand = rouge_tokens(candidate)
    ref = rouge_tokens(reference)
    lcs = lcs_length(cand, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(cand)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
