"""``LLMVisionAnswerer`` against the real loopback OpenAI stub server (tests/llm/openai_stub.py)."""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))  # the stub lives with the LLM tests
from openai_stub import StubServer

from medlens.imaging.phantom import ct_phantom
from medlens.imaging.vlm import ENGINE_VLM, PROMPT_VERSION, TASK, LLMVisionAnswerer, image_part
from medlens.imaging.vqa import answer, render_png
from medlens.llm import EndpointConfig, LLMCache, LLMClient
from medlens.llm.errors import LLMTruncatedError, PHIGateError

CT_TAGS = {"Modality": "CT", "BodyPartExamined": "CHEST", "ImageOrientationPatient": [1, 0, 0, 0, 1, 0]}


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture
def make_vlm(stub: StubServer) -> Iterator[Callable[..., LLMVisionAnswerer]]:
    clients: list[LLMClient] = []

    def make(
        locality: str = "local", *, cache: LLMCache | None = None, dialect: str = "openai_json_schema", **options: Any
    ) -> LLMVisionAnswerer:
        endpoint = EndpointConfig(
            name="stub",
            base_url=stub.base_url,
            model="stub-vlm",
            locality=locality,  # type: ignore[arg-type]
            dialect=dialect,  # type: ignore[arg-type]
            timeout_s=5.0,
            max_retries=2,
            backoff_s=0.001,
            max_backoff_s=0.01,
        )
        client = LLMClient(endpoint, cache=cache)
        clients.append(client)
        return LLMVisionAnswerer(client, prompt_version="test.v1", **options)

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def png() -> bytes:
    return render_png(ct_phantom((12, 32, 48), (6.0, 6.0, 9.0))[0])


def test_request_carries_question_and_png_image_part(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("yes")
    make_vlm().answer("Is there a pneumothorax?", png)
    (post,) = stub.posts
    assert post.path == "/v1/chat/completions"
    assert post.body["model"] == "stub-vlm"
    text, image = post.body["messages"][-1]["content"]
    assert text["type"] == "text"
    assert "Is there a pneumothorax?" in text["text"]
    assert image["type"] == "image_url"
    prefix = "data:image/png;base64,"
    assert image["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(image["image_url"]["url"][len(prefix) :]) == png


def test_reply_text_is_the_answer(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("  Yes.\n")
    assert make_vlm().answer("Is there a pneumothorax?", png) == "Yes."


def test_remote_endpoint_refuses_image_before_any_request(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    with pytest.raises(PHIGateError) as err:
        make_vlm("remote").answer("Is there a pneumothorax?", png)
    assert err.value.code == "ML706"
    assert stub.requests == []


def test_remote_refusal_propagates_through_vqa_answer(stub: StubServer, make_vlm: Any) -> None:
    volume = ct_phantom((12, 32, 48), (6.0, 6.0, 9.0))[0]
    with pytest.raises(PHIGateError):
        answer("Is there a mass in the left lung?", volume, dicom_tags=CT_TAGS, vlm=make_vlm("remote"))
    assert stub.requests == []


def test_remote_endpoint_with_cleared_images_sends(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("no")
    assert make_vlm("remote", images_cleared=True).answer("Is there a pneumothorax?", png) == "no"
    assert len(stub.posts) == 1


def test_local_endpoint_needs_no_attestation(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("no")
    assert make_vlm("local", images_cleared=False).answer("Is there a pneumothorax?", png) == "no"


def test_non_png_bytes_are_refused(stub: StubServer, make_vlm: Any) -> None:
    with pytest.raises(PHIGateError):
        make_vlm().answer("Is there a pneumothorax?", b"\xff\xd8\xff\xe0 jpeg")
    assert stub.requests == []


def test_truncated_answer_is_ml705(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("ye", finish_reason="length")
    with pytest.raises(LLMTruncatedError) as err:
        make_vlm().answer("Is there a pneumothorax?", png)
    assert err.value.code == "ML705"


def test_server_error_is_retried(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.status(503).reply("yes")
    assert make_vlm().answer("Is there a pneumothorax?", png) == "yes"
    assert len(stub.posts) == 2


def test_usage_is_accounted_under_imaging_vqa(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("yes", prompt_tokens=30, completion_tokens=2)
    vlm = make_vlm()
    vlm.answer("Is there a pneumothorax?", png)
    totals = vlm.client.accounting.summary()["imaging.vqa"]
    assert (totals["calls"], totals["prompt_tokens"], totals["completion_tokens"]) == (1, 30, 2)


@pytest.mark.parametrize(("reply", "disagreement"), [("MRI", True), ("It is a CT scan", False)])
def test_disagreement_with_offline_answer_is_flagged(
    stub: StubServer, make_vlm: Any, reply: str, disagreement: bool
) -> None:
    stub.reply(reply)
    volume = ct_phantom((12, 32, 48), (6.0, 6.0, 9.0))[0]
    result = answer("Is this a CT or an MRI?", volume, dicom_tags=CT_TAGS, vlm=make_vlm())
    assert (result.status, result.answer, result.vlm_answer) == ("answered", "CT", reply)
    assert result.disagreement is disagreement


def test_non_computable_question_is_delegated(stub: StubServer, make_vlm: Any) -> None:
    stub.reply("no")
    volume = ct_phantom((12, 32, 48), (6.0, 6.0, 9.0))[0]
    result = answer("Is there a mass in the left lung?", volume, dicom_tags=CT_TAGS, vlm=make_vlm())
    assert (result.status, result.answer, result.engine) == ("delegated", "no", ENGINE_VLM)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[LLMCache]:
    store = LLMCache(tmp_path / "vlm.sqlite")
    yield store
    store.close()


def test_same_question_about_same_image_is_served_from_cache(
    stub: StubServer, make_vlm: Any, png: bytes, cache: LLMCache
) -> None:
    stub.reply("yes")
    vlm = make_vlm(cache=cache)
    assert [vlm.answer("Is there a pneumothorax?", png) for _ in range(2)] == ["yes", "yes"]
    assert len(stub.posts) == 1
    assert vlm.client.accounting.summary()[TASK]["cache_hits"] == 1


def test_other_image_is_asked_again(stub: StubServer, make_vlm: Any, png: bytes, cache: LLMCache) -> None:
    stub.reply("yes").reply("no")
    vlm = make_vlm(cache=cache)
    other = render_png(ct_phantom((12, 48, 64), (6.0, 6.0, 9.0))[0])
    assert other != png
    assert (vlm.answer("Is there a pneumothorax?", png), vlm.answer("Is there a pneumothorax?", other)) == ("yes", "no")
    assert len(stub.posts) == 2


def test_remote_question_is_deidentified(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.reply("no")
    name = "Zyxwvut Quillfeather"  # synthetic
    make_vlm("remote", images_cleared=True).answer(f"Patient Name: {name}\nIs there a pneumothorax?", png)
    text, _ = stub.posts[0].body["messages"][-1]["content"]
    assert name not in text["text"]
    assert "Is there a pneumothorax?" in text["text"]


def test_ollama_endpoint_receives_the_image_natively(stub: StubServer, make_vlm: Any, png: bytes) -> None:
    stub.ollama_reply("yes")
    assert make_vlm(dialect="ollama_format").answer("Is there a pneumothorax?", png) == "yes"
    (post,) = stub.posts
    assert post.path == "/api/chat"
    assert base64.b64decode(post.body["messages"][-1]["images"][0]) == png


def test_build_messages_is_system_instruction_then_question_and_image(make_vlm: Any, png: bytes) -> None:
    system, user = make_vlm().build_messages("Is there a pneumothorax?", png)
    assert (system["role"], isinstance(system["content"], str)) == ("system", True)
    assert [item["type"] for item in user["content"]] == ["text", "image_url"]
    assert user["content"][1] == image_part(png)


def test_image_part_refuses_non_png_bytes() -> None:
    with pytest.raises(PHIGateError) as err:
        image_part(b"DICM" + bytes(128))
    assert err.value.code == "ML706"


def test_default_prompt_version_is_the_versioned_name() -> None:
    assert PROMPT_VERSION == "imaging.vqa.vlm.v1"
