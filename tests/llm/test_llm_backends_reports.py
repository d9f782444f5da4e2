"""radiology.labels and pathology.extract llm/hybrid backends against the loopback stub."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from llm_testkit import SENTINEL
from openai_stub import StubServer

from medlens.core.types import Document
from medlens.pathology.llm import PathologyExtractHybrid, PathologyExtractLLM
from medlens.radiology.llm import RadiologyLabelsHybrid, RadiologyLabelsLLM

CXR = "FINDINGS: Small left pleural effusion. No pneumothorax.\nIMPRESSION: Small left pleural effusion."
PATH = "FINAL DIAGNOSIS: Invasive ductal carcinoma, 2.1 cm, pT2 pN0. Ki-67: 20%. Margins negative."
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


def status(result: Any, name: str) -> str:
    return str(next(label.status for label in result.labels if label.name == name))


def test_radiology_llm_valid_labels_grounded_and_rest_not_mentioned(stub: StubServer, make: Make) -> None:
    stub.reply_json(
        {
            "labels": [
                {"name": "Pleural Effusion", "status": "positive", "quotes": ["Small left pleural effusion"]},
                {"name": "Pneumothorax", "status": "negative", "quotes": ["No pneumothorax"]},
            ]
        }
    )
    result = make(RadiologyLabelsLLM)([Document(id="r", text=CXR, kind="radiology")])[0]
    assert len(result.labels) == 14
    assert result.labelset == "chexpert"
    assert status(result, "Pleural Effusion") == "positive"
    assert status(result, "Pneumothorax") == "negative"
    assert status(result, "Edema") == "not_mentioned"
    ev = next(label for label in result.labels if label.name == "Pneumothorax").evidence[0]
    assert CXR[ev.start : ev.end] == "No pneumothorax"


def test_radiology_llm_fabricated_quote_dropped(stub: StubServer, make: Make) -> None:
    stub.reply_json({"labels": [{"name": "Edema", "status": "positive", "quotes": ["mild pulmonary edema"]}]})
    result = make(RadiologyLabelsLLM)([Document(id="r", text=CXR)])[0]
    assert status(result, "Edema") == "not_mentioned"
    assert [(f.kind, f.code, f.field) for f in result.review] == [("dropped", "ML403", "labels.Edema")]


def test_radiology_llm_positive_beats_negative_for_one_label(stub: StubServer, make: Make) -> None:
    stub.reply_json(
        {
            "labels": [
                {"name": "Pneumothorax", "status": "negative", "quotes": ["No pneumothorax"]},
                {"name": "Pneumothorax", "status": "positive", "quotes": ["pleural effusion"]},
            ]
        }
    )
    assert status(make(RadiologyLabelsLLM)([Document(id="r", text=CXR)])[0], "Pneumothorax") == "positive"


def test_radiology_hybrid_disagreement_keeps_rules_status(stub: StubServer, make: Make) -> None:
    stub.reply_json({"labels": [{"name": "Pneumothorax", "status": "positive", "quotes": ["pneumothorax"]}]})
    result = make(RadiologyLabelsHybrid)([Document(id="r", text=CXR)])[0]
    assert status(result, "Pneumothorax") == "negative"
    (flag,) = result.review
    assert (flag.kind, flag.field, flag.rules_value, flag.llm_value) == (
        "disagreement",
        "labels.Pneumothorax",
        "negative",
        "positive",
    )


def test_radiology_hybrid_agreement_and_omission_not_flagged(stub: StubServer, make: Make) -> None:
    stub.reply_json({"labels": [{"name": "Pleural Effusion", "status": "positive", "quotes": ["pleural effusion"]}]})
    assert make(RadiologyLabelsHybrid)([Document(id="r", text=CXR)])[0].review == ()


def test_pathology_llm_fields_grounded_and_size_converted_here(stub: StubServer, make: Make) -> None:
    stub.reply_json(
        {
            "tumour_size": {"value": "2.1", "unit": "cm", "quote": "2.1 cm"},
            "pT": {"value": "pT2", "quote": "pT2"},
            "margins": {"status": "uninvolved", "quote": "Margins negative"},
        }
    )
    fields = make(PathologyExtractLLM)([Document(id="p", text=PATH)])[0].fields
    assert fields.tumour_size is not None
    assert fields.tumour_size.largest_mm == 21.0
    assert fields.pT is not None
    assert (fields.pT.prefix, fields.pT.category, fields.pT.subcategory) == ("p", "T2", "T2")
    assert fields.margins is not None
    assert fields.margins.status == "uninvolved"
    assert fields.pN is None


@pytest.mark.parametrize(
    ("field", "proposal", "code"),
    [
        ("pT", {"value": "pT3", "quote": "pT2"}, "ML404"),
        ("pN", {"value": "pN1", "quote": "pN1"}, "ML403"),
        ("ki67", {"percent": 30, "quote": "Ki-67: 20%"}, "ML404"),
        ("lymph_nodes", {"involved": 2, "examined": 5, "quote": "pN0"}, "ML404"),
    ],
)
def test_pathology_llm_ungrounded_field_dropped(
    stub: StubServer, make: Make, field: str, proposal: dict[str, Any], code: str
) -> None:
    stub.reply_json({field: proposal})
    result = make(PathologyExtractLLM)([Document(id="p", text=PATH)])[0]
    assert getattr(result.fields, field) is None
    assert [(f.kind, f.code, f.field) for f in result.review] == [("dropped", code, f"fields.{field}")]


def test_pathology_hybrid_tnm_disagreement_flagged_with_both(stub: StubServer, make: Make) -> None:
    text = "CLINICAL HISTORY: outside staging pT3.\n" + PATH  # final diagnosis outranks clinical history
    stub.reply_json({"pN": {"value": "pN0", "quote": "pN0"}, "pT": {"value": "pT3", "quote": "staging pT3"}})
    result = make(PathologyExtractHybrid)([Document(id="p", text=text)])[0]
    assert result.fields.pT is not None
    assert result.fields.pT.value == "pT2"
    (flag,) = [f for f in result.review if f.kind == "disagreement"]
    assert (flag.code, flag.field, flag.rules_value, flag.llm_value) == ("ML410", "fields.pT", "pt2", "pt3")
    assert {"pT2", "staging pT3"} <= {text[e.start : e.end] for e in flag.evidence}


def test_pathology_hybrid_fills_gap_flagged_llm_only(stub: StubServer, make: Make) -> None:
    stub.reply_json({"perineural_invasion": {"status": "absent", "quote": "Margins negative"}})
    result = make(PathologyExtractHybrid)([Document(id="p", text=PATH)])[0]
    assert result.fields.pT is not None
    assert result.fields.pT.value == "pT2"
    assert result.fields.perineural_invasion is not None
    assert [(f.kind, f.field) for f in result.review] == [("llm_only", "fields.perineural_invasion")]


def test_pathology_remote_endpoint_receives_only_deidentified_text(stub: StubServer, make: Make) -> None:
    text = f"Patient: {SENTINEL}\n{PATH}"
    stub.reply_json({"pT": {"value": "pT2", "quote": "pT2"}})
    result = make(PathologyExtractLLM, locality="remote")([Document(id="p", text=text)])[0]
    assert SENTINEL not in json.dumps(stub.posts[0].body)
    assert result.fields.pT is not None
    assert text[result.fields.pT.evidence[0].start :].startswith("pT2")
