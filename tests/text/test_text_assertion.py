"""The standalone assertion API and the JSONL line processor behind ``medlens assertion``."""

from __future__ import annotations

import json

import pytest

from medlens.core.errors import InputError
from medlens.text.assertion import assert_target, assertion_lines


def test_assert_target_by_span() -> None:
    got = assert_target("The patient denies chest pain.", start=19, end=29)
    assert got.statuses == ("negated",)
    assert got.cues[0].text == "denies"


def test_assert_target_by_phrase_is_case_insensitive() -> None:
    assert assert_target("NO FEVER.", target="fever").negated


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"start": 0},
        {"start": 0, "end": 2, "target": "No"},
        {"target": "cough"},
        {"target": ""},
        {"start": 5, "end": 50},
        {"start": 3, "end": 3},
        {"start": -1, "end": 2},
    ],
)
def test_assert_target_bad_arguments_raise_ml104(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError) as err:
        assert_target("No fever.", **kwargs)  # type: ignore[arg-type]
    assert err.value.code == "ML104"


def _lines(*objs: object) -> list[str]:
    return [o if isinstance(o, str) else json.dumps(o) for o in objs]


def test_assertion_lines_span_and_target_forms() -> None:
    out = list(
        assertion_lines(
            _lines(
                {"id": "a", "text": "No fever.", "start": 3, "end": 8},
                {"id": 2, "text": "History of asthma.", "target": "asthma", "extra": "ignored"},
            ),
            source="in.jsonl",
        )
    )
    assert out[0] == {
        "id": "a",
        "negated": True,
        "uncertain": False,
        "historical": False,
        "hypothetical": False,
        "family": False,
        "cues": [{"status": "negated", "start": 0, "end": 2, "text": "No", "rule": "medlens.context.negated.no.v1"}],
    }
    assert out[1]["id"] == 2
    assert out[1]["historical"] is True


@pytest.mark.parametrize(
    ("line", "code", "rid"),
    [
        ("{not json", "ML103", None),
        ("[1, 2]", "ML103", None),
        (json.dumps({"text": "No fever.", "target": "fever"}), "ML104", None),
        (json.dumps({"id": True, "text": "No fever.", "target": "fever"}), "ML104", None),
        (json.dumps({"id": "x", "target": "fever"}), "ML104", "x"),
        (json.dumps({"id": "x", "text": "No fever.", "target": "cough"}), "ML104", "x"),
        (json.dumps({"id": "x", "text": "No fever.", "start": 3}), "ML104", "x"),
        (json.dumps({"id": "x", "text": "No fever.", "start": "3", "end": 8}), "ML104", "x"),
        (json.dumps({"id": "x", "text": "No fever.", "start": 3, "end": 99}), "ML104", "x"),
        (json.dumps({"id": "x", "text": "No fever.", "target": 5}), "ML104", "x"),
        (json.dumps({"id": "x", "text": "No fever.", "start": 0, "end": 2, "target": "fever"}), "ML104", "x"),
    ],
)
def test_assertion_lines_bad_line_yields_error(line: str, code: str, rid: object) -> None:
    (out,) = list(assertion_lines([line], source="in.jsonl"))
    assert out["id"] == rid
    assert out["line"] == 1
    assert out["error"]["code"] == code


def test_assertion_lines_continue_after_bad_line_and_skip_blank_lines() -> None:
    lines = ["{oops", "", json.dumps({"id": "ok", "text": "Possible PE.", "target": "PE"})]
    out = list(assertion_lines(lines, source="in.jsonl"))
    assert [o.get("error", {}).get("code") for o in out] == ["ML103", None]
    assert out[1]["uncertain"] is True


def test_assertion_lines_error_message_names_source_and_not_text() -> None:
    secret = "Patient John Q Example has no fever."
    (out,) = list(assertion_lines([json.dumps({"id": "s", "text": secret, "target": "cough"})], source="in.jsonl"))
    assert out["error"]["message"].startswith("in.jsonl:1:")
    assert "John" not in out["error"]["message"]


def test_dev_set_lines_run_through_assertion_lines() -> None:
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "data" / "assertion_dev.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()[:25]
    out = list(assertion_lines(lines, source=path.name))
    assert len(out) == 25
    assert all("error" not in o for o in out)
