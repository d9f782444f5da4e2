"""ROUGE-L F1 (medlens.eval.text_metrics): LCS-based overlap of a candidate with a reference."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medlens.eval import text_metrics
from medlens.eval.text_metrics import lcs_length, rouge_l, rouge_tokens


def test_docstring_examples_run() -> None:
    result = doctest.testmod(text_metrics)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("No acute disease.", ["no", "acute", "disease"]),
        ("RUL 5-mm nodule", ["rul", "5", "mm", "nodule"]),
        ("  ", []),
        ("1.5 cm", ["1", "5", "cm"]),
    ],
)
def test_tokens_are_lowercased_alphanumeric_runs(text: str, tokens: list[str]) -> None:
    assert rouge_tokens(text) == tokens


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("a b c d", "a c d b", 3),
        ("a b c", "c b a", 1),
        ("a b", "", 0),
        ("x y z", "x y z", 3),
    ],
)
def test_lcs_length(a: str, b: str, expected: int) -> None:
    assert lcs_length(a.split(), b.split()) == expected


@pytest.mark.parametrize(
    ("candidate", "reference", "expected"),
    [
        ("small left pleural effusion", "small left effusion", 2 * 0.75 * 1.0 / 1.75),
        ("No acute disease.", "no acute disease", 1.0),
        ("heart normal", "lungs clear", 0.0),
        ("", "lungs clear", 0.0),
        ("pneumothorax", "", 0.0),
        # LCS 'the lungs clear' = 3 of 4 candidate tokens and 3 of 5 reference tokens.
        ("the lungs are clear", "the lungs remain hyperinflated clear", 2 * 0.75 * 0.6 / 1.35),
    ],
)
def test_rouge_l_f1(candidate: str, reference: str, expected: float) -> None:
    assert rouge_l(candidate, reference) == pytest.approx(expected)


def test_word_order_matters() -> None:
    assert rouge_l("effusion left small", "small left effusion") < rouge_l("small left effusion", "small left effusion")


_text = st.lists(st.sampled_from(["no", "acute", "effusion", "left", "small", "clear", "lungs"]), max_size=8).map(
    " ".join
)


@given(_text, _text)
def test_rouge_l_is_symmetric_and_bounded(a: str, b: str) -> None:
    score = rouge_l(a, b)
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(rouge_l(b, a))
