"""notes.extract llm/hybrid backends against the loopback stub: grounding, disagreement, PHI gate, failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from llm_testkit import SENTINEL
from openai_stub import StubServer

from medlens.core.errors import ConfigError
from medlens.core.registry import TaskSpec
from medlens.core.types import Document
from medlens.llm.errors import PHIGateError
from medlens.notes.llm import NotesExtractHybrid, NotesExtractLLM, NotesExtractLLMResult
from medlens.pipeline import Pipeline

NOTE = "HPI: Patient has hypertension. Denies chest pain. Hgb 7.2 g/dL.\nPlan: follow up."
DOC = Document(id="n1", text=NOTE)

Make = Callable[..., Any]


@pytest.fixture
def make(stub: StubServer) -> Iterator[Make]:
    made: list[Any] = []

    def build(cls: type, **endpoint: Any) -> Any:
        ep = {"name": "stub", "base_url": stub.base_url, "model": "stub-model", "locality": "local"}
        ep.update({"dialect": "openai_json_schema", "max_retries": 0, "timeout_s": 5.0, **endpoint})
        task = cls(endpoint=ep)
        made.append(task)
        return task

    yield build
    for task in made:
        task.close()


def finding(type_: str, text: str, quote: str, **kw: Any) -> dict[str, Any]:
    return {"type": type_, "text": text, "quote": quote, **kw}


def test_llm_valid_output_is_grounded_at_offsets(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("problem", "hypertension", "has hypertension")]})
    result = make(NotesExtractLLM)([DOC])[0]
    assert isinstance(result, NotesExtractLLMResult)
    (f,) = result.findings
    ev = f.evidence[0]
    assert NOTE[ev.start : ev.end] == ev.quote == "has hypertension"
    assert ev.producer == "medlens.prompt.notes.extract.v1:stub-model"
    assert f.code is None  # codes are never taken from the model
    assert f.section == "history_of_present_illness"
    assert result.review == ()
    assert result.prompt_version == "medlens.prompt.notes.extract.v1"


def test_llm_fabricated_quote_dropped_and_flagged(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("problem", "lupus", "history of lupus")]})
    result = make(NotesExtractLLM)([DOC])[0]
    assert result.findings == ()
    (flag,) = result.review
    assert (flag.kind, flag.code, flag.quotes) == ("dropped", "ML403", ("history of lupus",))


def test_llm_changed_number_flagged(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("lab", "hemoglobin", "Hgb 7.2 g/dL", value="7.9", unit="g/dL")]})
    result = make(NotesExtractLLM)([DOC])[0]
    assert result.findings == ()
    assert [(f.kind, f.code) for f in result.review] == [("dropped", "ML404")]


def test_llm_value_kept_when_number_is_in_quote(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("lab", "hemoglobin", "Hgb 7.2 g/dL", value="7.2", unit="g/dL")]})
    (f,) = make(NotesExtractLLM)([DOC])[0].findings
    assert f.measurement is not None
    assert f.measurement.value is not None
    assert f.measurement.value.value == 7.2


def test_hybrid_assertion_disagreement_flagged_with_both_answers(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("problem", "hypertension", "has hypertension", negated=True)]})
    result = make(NotesExtractHybrid)([DOC])[0]
    kept = next(f for f in result.findings if f.text == "hypertension")
    assert kept.assertion.negated is False  # the rules' answer is kept
    (flag,) = [f for f in result.review if f.kind == "disagreement"]
    assert (flag.code, flag.rules_value, flag.llm_value) == ("ML410", "affirmed", "negated")


def test_hybrid_agreement_adds_no_flag(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("problem", "chest pain", "Denies chest pain", negated=True)]})
    result = make(NotesExtractHybrid)([DOC])[0]
    assert result.review == ()


def test_hybrid_grounded_llm_only_finding_added_for_review(stub: StubServer, make: Make) -> None:
    stub.reply_json({"findings": [finding("procedure", "follow-up", "follow up")]})
    result = make(NotesExtractHybrid)([DOC])[0]
    assert any(f.type == "procedure" and f.text == "follow-up" for f in result.findings)
    assert [f.kind for f in result.review] == ["llm_only"]


def test_hybrid_returns_rules_with_flag_when_llm_fails(stub: StubServer, make: Make) -> None:
    stub.status(500)
    result = make(NotesExtractHybrid)([DOC])[0]
    assert {f.text for f in result.findings} >= {"hypertension", "chest pain"}
    assert [(f.kind, f.code) for f in result.review] == [("llm_failed", "ML702")]


def test_llm_failure_becomes_record_error_in_pipeline(stub: StubServer, make: Make) -> None:
    stub.status(500)
    task = make(NotesExtractLLM)
    spec = TaskSpec(name=task.name, alias="notes.extract", description="t", backends={})
    out = Pipeline([(spec, task)]).run(DOC)
    assert out.tasks == {}
    assert [(e.code, e.task) for e in out.errors] == [("ML702", "notes.extract")]


def test_remote_endpoint_receives_only_deidentified_text(stub: StubServer, make: Make) -> None:
    text = f"Patient Name: {SENTINEL}\nHPI: has hypertension."
    stub.reply_json({"findings": [finding("problem", "hypertension", "has hypertension")]})
    result = make(NotesExtractLLM, locality="remote")([Document(id="n2", text=text, patient_id="p")])[0]
    sent = json.dumps(stub.posts[0].body)
    assert SENTINEL not in sent
    assert "Quillfeather" not in sent
    assert "has hypertension" in sent
    ev = result.findings[0].evidence[0]
    assert text[ev.start : ev.end] == "has hypertension"  # offsets index the original text


def test_gate_refuses_raw_text_for_remote_even_in_hybrid(stub: StubServer, make: Make) -> None:
    task = make(NotesExtractHybrid, locality="remote")
    task.runner._deidentifier = None  # simulate a de-identification step that was bypassed
    with pytest.raises(PHIGateError) as info:
        task([DOC])
    assert info.value.code == "ML706"
    assert stub.posts == []


def test_batch_asks_once_per_record_and_keeps_order(stub: StubServer, make: Make) -> None:
    docs = [Document(id=f"n{i}", text=f"Denies fever {i}.") for i in range(3)]
    for _ in docs:
        stub.reply_json({"findings": []})
    results = make(NotesExtractLLM)(docs)
    assert len(results) == 3
    assert len(stub.posts) == 3


def test_invalid_options_are_ml201() -> None:
    with pytest.raises(ConfigError) as info:
        NotesExtractLLM(endpoint={"base_url": "http://127.0.0.1:1/v1"})  # model missing
    assert info.value.code == "ML201"
