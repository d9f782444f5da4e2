"""A vision-language model behind the LLM client's endpoint: the :class:`~medlens.imaging.vqa.VisionAnswerer` of VQA.

:class:`LLMVisionAnswerer` sends a system instruction, then the question and a PNG as one user message with two
content parts::

    {"role": "user", "content": [
        {"type": "text", "text": "Question: <question>"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,<...>"}}]}

to ``<base_url>/chat/completions`` of the client's endpoint (OpenAI, vLLM, llama.cpp server with a multimodal
projector, Ollama's OpenAI-compatible API), and returns the reply text.

**PHI.** Pixels can carry burned-in text (names, dates, accession numbers; see ``safety/deid/dicom.py``, which lists
such images for review). So a ``remote`` endpoint receives an image only when the caller attests, with
``images_cleared=True``, that burned-in annotations were removed or checked; otherwise :meth:`answer` raises
``PHIGateError`` (ML706) before any network I/O. The question text goes through the client's PHI gate
(:func:`medlens.llm.gate.check_messages`): for a remote endpoint it is first de-identified with
``medlens.safety.deid`` (:func:`medlens.llm.gate.deidentify`). ``local`` endpoints get both as they are.

**Transport.** ``medlens.llm.gate.Message`` carries text parts only, so the client's ``complete_json`` cannot send
an image. Until the LLM package grows an image part (see CARD.md), this module makes the one request itself with the
endpoint's settings (URL, model, API key variable, timeout, retries with backoff on 408/429/5xx and connection
errors, ``trust_env``) and records usage and latency in the client's :class:`~medlens.llm.Accounting` under the task
``imaging.vqa``. Replies are not cached. A truncated reply (``finish_reason == "length"``) raises ML705.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from typing import TYPE_CHECKING, Any

from medlens.core.types import Document
from medlens.llm.dialects import parse_reply
from medlens.llm.errors import (
    LLMHTTPStatusError,
    LLMInvalidJSONError,
    LLMTransportError,
    LLMTruncatedError,
    PHIGateError,
)
from medlens.llm.gate import Message, check_messages, deidentify, template

if TYPE_CHECKING:
    from medlens.llm.client import LLMClient
    from medlens.safety.deid import Deidentifier

__all__ = ["ENGINE_VLM", "PROMPT_VERSION", "TASK", "LLMVisionAnswerer", "image_part"]

log = logging.getLogger(__name__)

#: Versioned name of this adapter (``VqaAnswer.engine`` of delegated answers).
ENGINE_VLM = "medlens.imaging.vlm.openai_image.v1"
#: Default prompt version (the wording below); change it when the wording changes.
PROMPT_VERSION = "imaging.vqa.vlm.v1"
#: Accounting task name.
TASK = "imaging.vqa"

_INSTRUCTION = (
    "You answer questions about one medical image. Answer the question about the attached image in as few words as "
    "possible: 'yes' or 'no' for a yes/no question, otherwise a short phrase. Do not explain."
)
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})  # as medlens.llm.client.RETRY_STATUSES
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_part(png_bytes: bytes) -> dict[str, Any]:
    """The OpenAI chat content part carrying a PNG as a base64 data URL.

    Raises:
        PHIGateError: ML706 if the bytes are not a PNG (only PNG renderings are sent).
    """
    if not png_bytes.startswith(_PNG_MAGIC):
        raise PHIGateError("the image to send is not a PNG; render it with imaging.vqa.render_png", code="ML706")
    data = base64.b64encode(png_bytes).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


class LLMVisionAnswerer:
    """Answer VQA questions with a vision-language model on an OpenAI-compatible endpoint.

    Args:
        client: The LLM client whose endpoint (and accounting) to use.
        prompt_version: Version of the prompt wording, recorded for audit.
        images_cleared: Caller's attestation that burned-in annotations were removed or checked; required to send an
            image to a ``remote`` endpoint.
        deidentifier: De-identifier for the question text on a remote endpoint; a default
            :class:`medlens.safety.deid.Deidentifier` when None.
        max_tokens: Completion token limit of the short answer.
    """

    name = ENGINE_VLM

    def __init__(
        self,
        client: LLMClient,
        *,
        prompt_version: str = PROMPT_VERSION,
        images_cleared: bool = False,
        deidentifier: Deidentifier | None = None,
        max_tokens: int = 64,
    ) -> None:
        self.client = client
        self.prompt_version = prompt_version
        self.images_cleared = images_cleared
        self._deidentifier = deidentifier
        self.max_tokens = max_tokens
        self._rng = random.Random()

    @property
    def remote(self) -> bool:
        """Whether the endpoint is declared ``remote``."""
        return self.client.endpoint.locality == "remote"

    def build_messages(self, question: str, png_bytes: bytes) -> list[dict[str, Any]]:
        """The wire messages for one question: gate-checked text part plus the image part.

        Raises:
            PHIGateError: ML706 for a remote endpoint without ``images_cleared=True``, or when the question cannot
                pass the gate.
        """
        endpoint = self.client.endpoint
        if self.remote and not self.images_cleared:
            raise PHIGateError(
                f"endpoint {endpoint.name!r} is remote and images may carry burned-in identifiers; pass "
                "images_cleared=True only after burned-in annotations were removed or checked, or use a local endpoint",
                code="ML706",
            )
        question_part: Any = question
        if self.remote:
            from medlens.safety.deid import Deidentifier

            if self._deidentifier is None:
                self._deidentifier = Deidentifier()
            question_part = deidentify(self._deidentifier, Document(id="vqa-question", text=question), "redact")
        wire = check_messages(
            [
                Message.of("system", template(_INSTRUCTION)),
                Message.of("user", template("Question: "), question_part),
            ],
            remote=self.remote,
            endpoint=endpoint.name,
        )
        system, user = wire
        return [system, {"role": "user", "content": [{"type": "text", "text": user["content"]}, image_part(png_bytes)]}]

    def answer(self, question: str, png_bytes: bytes) -> str:
        """The model's short answer to ``question`` about the PNG image.

        Raises:
            PHIGateError: ML706 before any request (see :meth:`build_messages`).
            LLMTransportError: ML701. LLMHTTPStatusError: ML702. LLMInvalidJSONError: ML703 (no reply text).
            LLMTruncatedError: ML705.
        """
        messages = self.build_messages(question, png_bytes)
        started = time.perf_counter()
        attempts = 0
        try:
            payload, attempts = self._post(messages)
            reply = parse_reply("openai_json_schema", payload, endpoint=self.client.endpoint.name)
            if reply.finish_reason == "length":
                raise LLMTruncatedError(
                    f"endpoint {self.client.endpoint.name!r} task {TASK!r}: the answer stopped at the token limit "
                    f"({reply.completion_tokens} tokens); raise max_tokens",
                    code="ML705",
                )
        except (LLMTransportError, LLMHTTPStatusError, LLMInvalidJSONError, LLMTruncatedError) as exc:
            self.client.accounting.record(
                TASK, latency_s=time.perf_counter() - started, attempts=max(attempts, 1), error=True
            )
            log.warning("endpoint %s task %s: failed with %s", self.client.endpoint.name, TASK, exc.code)
            raise
        self.client.accounting.record(
            TASK,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            latency_s=time.perf_counter() - started,
            attempts=attempts,
        )
        return reply.content.strip()

    def _post(self, messages: list[dict[str, Any]]) -> tuple[Any, int]:
        """POST the chat request with the endpoint's retry policy; (response JSON, requests made)."""
        import httpx

        ep = self.client.endpoint
        body: dict[str, Any] = {
            "model": ep.model,
            "messages": messages,
            "temperature": ep.temperature,
            "max_tokens": self.max_tokens,
        }
        if ep.seed is not None:
            body["seed"] = ep.seed
        headers = {"Accept": "application/json"}
        key = ep.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = ep.base_url + "/chat/completions"
        with httpx.Client(timeout=httpx.Timeout(ep.timeout_s), headers=headers, trust_env=ep.trust_env) as http:
            for retry in range(ep.max_retries + 1):
                error: LLMTransportError | LLMHTTPStatusError
                try:
                    resp = http.post(url, json=body)
                except httpx.TransportError as exc:  # timeouts included
                    error = LLMTransportError(
                        f"endpoint {ep.name!r}: request failed ({type(exc).__name__}); is the server running?",
                        code="ML701",
                    )
                else:
                    if 200 <= resp.status_code < 300:
                        try:
                            return resp.json(), retry + 1
                        except ValueError:
                            raise LLMInvalidJSONError(
                                f"endpoint {ep.name!r}: the response body is not JSON", code="ML703"
                            ) from None
                    error = LLMHTTPStatusError(
                        f"endpoint {ep.name!r}: HTTP {resp.status_code} from /chat/completions (image request)",
                        status=resp.status_code,
                        code="ML702",
                    )
                    if resp.status_code not in _RETRY_STATUSES:
                        raise error
                if retry == ep.max_retries:
                    raise error
                delay = min(ep.backoff_s * (2**retry) * self._rng.uniform(0.5, 1.0), ep.max_backoff_s)
                log.warning("endpoint %s task %s: %s; retry %d in %.2f s", ep.name, TASK, error.code, retry + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
