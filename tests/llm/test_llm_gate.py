"""PHI gate: a remote endpoint only receives de-identified or trusted template text; nothing leaks in logs/errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from llm_testkit import SENTINEL, Finding
from openai_stub import StubServer

from medlens.core.types import Document
from medlens.llm import (
    DeidentifiedText,
    LLMClient,
    LLMInvalidJSONError,
    LLMSchemaError,
    Message,
    PHIGateError,
    PromptText,
    gate,
)
from medlens.safety.deid import Deidentifier, PatientKeys

MakeClient = Callable[..., LLMClient]
NOTE = f"Patient Name: {SENTINEL}\nMRN 4455667. Mild pleural effusion on the left."
VALID = {"label": "effusion", "present": True, "count": 1}


@pytest.fixture(scope="module")
def deidentifier() -> Deidentifier:
    return Deidentifier(keys=PatientKeys(b"medlens-test-secret-0123456789"))


@pytest.fixture
def document() -> Document:
    return Document(id="rec-1", text=NOTE, patient_id="p-1")


def ask(client: LLMClient, messages: Any) -> Any:
    return client.complete_json(messages, Finding, task="notes.extract", prompt_version="v1")


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param([{"role": "user", "content": NOTE}], id="mapping-content"),
        pytest.param([Message.of("user", gate.template("Extract: "), NOTE)], id="plain-str-part"),
        pytest.param([Message.of("user", PromptText(text=NOTE))], id="untrusted-prompt-text"),
        pytest.param(
            [Message.of("system", gate.template("You extract findings.")), Message.of("user", NOTE)],
            id="second-message",
        ),
    ],
)
def test_remote_endpoint_refuses_raw_text_before_any_request(
    stub: StubServer, make_client: MakeClient, messages: Any
) -> None:
    client = make_client(locality="remote", dialect="auto")
    with pytest.raises(PHIGateError) as info:
        ask(client, messages)
    assert info.value.code == "ML706"
    assert stub.requests == []  # not even dialect detection happened
    assert SENTINEL not in str(info.value)


def test_remote_endpoint_receives_only_deidentified_text(
    stub: StubServer, make_client: MakeClient, deidentifier: Deidentifier, document: Document
) -> None:
    stub.reply_json(VALID)
    text = gate.deidentify(deidentifier, document, "redact")
    reply = ask(make_client(locality="remote"), [Message.of("user", gate.template("Extract from:\n"), text)])
    assert reply.parsed.label == "effusion"
    sent = json.dumps(stub.posts[0].body)
    assert SENTINEL not in sent
    assert "[NAME]" in sent
    assert stub.posts[0].body["messages"][0]["content"] == "Extract from:\n" + text.text


def test_deidentified_text_keeps_provenance(deidentifier: Deidentifier, document: Document) -> None:
    text = gate.deidentify(deidentifier, document, "mask")
    assert (text.record_id, text.deid_version, text.mode) == ("rec-1", "medlens.deid.text.v1", "mask")
    assert SENTINEL not in text.text
    assert SENTINEL not in repr(text)


def test_local_endpoint_accepts_raw_text(stub: StubServer, make_client: MakeClient) -> None:
    stub.reply_json(VALID)
    ask(make_client(locality="local"), [{"role": "user", "content": NOTE}])
    assert stub.posts[0].body["messages"][0]["content"] == NOTE


def test_locality_defaults_to_remote(stub: StubServer) -> None:
    from medlens.llm import EndpointConfig

    assert EndpointConfig(base_url=stub.base_url, model="m").locality == "remote"


def test_deidentified_text_cannot_be_constructed_directly() -> None:
    with pytest.raises(PHIGateError):
        DeidentifiedText(text="x", record_id="r", deid_version="medlens.deid.text.v1", mode="redact")
    with pytest.raises(PHIGateError):
        DeidentifiedText(text="x", record_id="r", deid_version="v", mode="redact", _token=object())


def test_deidentified_text_is_immutable(deidentifier: Deidentifier, document: Document) -> None:
    text = gate.deidentify(deidentifier, document, "redact")
    with pytest.raises(AttributeError):
        text.text = NOTE


def test_tampered_deidentified_text_is_refused(
    stub: StubServer, make_client: MakeClient, deidentifier: Deidentifier, document: Document
) -> None:
    text = gate.deidentify(deidentifier, document, "redact")
    object.__setattr__(text, "text", NOTE)  # deliberate circumvention
    with pytest.raises(PHIGateError):
        ask(make_client(locality="remote"), [Message.of("user", text)])
    assert stub.requests == []


def test_gate_deidentify_needs_a_medlens_deidentifier(document: Document) -> None:
    class Fake:
        def deidentify(self, document: Document, *, mode: str) -> Any:
            return document

    with pytest.raises(PHIGateError):
        gate.deidentify(Fake(), document, "redact")  # type: ignore[arg-type]


def test_reprs_hide_untrusted_text() -> None:
    message = Message.of("user", gate.template("Extract: "), PromptText(text=NOTE), NOTE)
    assert SENTINEL not in repr(message)
    assert SENTINEL not in str(message)
    assert "Extract: " in repr(message)


@pytest.mark.parametrize(
    ("replies", "error"),
    [
        pytest.param([f"no JSON here, {SENTINEL}", f"still {SENTINEL}"], LLMInvalidJSONError, id="ml703"),
        pytest.param(
            [json.dumps({"label": SENTINEL * 3, "present": SENTINEL, "count": -1})] * 2, LLMSchemaError, id="ml704"
        ),
    ],
)
def test_errors_and_logs_never_contain_document_or_reply_text(
    stub: StubServer,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    replies: list[str],
    error: type[Exception],
) -> None:
    for content in replies:
        stub.reply(content)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(error) as info:
        ask(make_client(locality="local"), [{"role": "user", "content": NOTE}])
    assert SENTINEL not in str(info.value)
    assert SENTINEL not in repr(info.value)
    assert SENTINEL not in caplog.text
    assert caplog.records  # the failure was logged (without the text)


def test_gate_refusal_is_not_logged_with_text(
    stub: StubServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PHIGateError) as info:
        ask(make_client(locality="remote"), [{"role": "user", "content": NOTE}])
    assert SENTINEL not in caplog.text
    assert SENTINEL not in str(info.value)
