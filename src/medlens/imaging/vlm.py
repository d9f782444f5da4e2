"""A vision-language model behind the LLM client's endpoint: the :class:`~medlens.imaging.vqa.VisionAnswerer` of VQA.

:class:`LLMVisionAnswerer` sends a system instruction, then the question and a PNG as one user message with two
content parts::

    {"role": "user", "content": [
        {"type": "text", "text": "Question: <question>"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,<...>"}}]}

through :meth:`medlens.llm.LLMClient.complete_text` (OpenAI, vLLM, llama.cpp server with a multimodal projector;
Ollama's native ``/api/chat`` with ``images`` when the endpoint's dialect is ``ollama_format``), and returns the
reply text. The client supplies everything else: timeouts, retries with backoff on 408/429/5xx and connection
errors, the API key variable, ``trust_env``, the on-disk cache when it has one (keyed on the image's hash, so the
same question about the same image is asked once), ML705 on a truncated answer, and usage and latency in its
:class:`~medlens.llm.Accounting` under the task ``imaging.vqa``.

**PHI.** Pixels can carry burned-in text (names, dates, accession numbers; see ``safety/deid/dicom.py``, which lists
such images for review). The image travels as :class:`medlens.llm.gate.ImagePart` with ``cleared=images_cleared``,
so the LLM PHI gate refuses it for a ``remote`` endpoint unless the caller attests, with ``images_cleared=True``,
that burned-in annotations were removed or checked: ``PHIGateError`` (ML706) before any network I/O. Only PNG
bytes are sent (never a DICOM file, whose header holds identifiers). For a remote endpoint the question is first
de-identified with ``medlens.safety.deid`` (:func:`medlens.llm.gate.deidentify`); ``local`` endpoints get both as
they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medlens.core.types import Document
from medlens.llm.gate import ImagePart, Message, PromptPart, check_messages, deidentify, template

if TYPE_CHECKING:
    from medlens.llm.client import LLMClient
    from medlens.safety.deid import Deidentifier

__all__ = ["ENGINE_VLM", "PROMPT_VERSION", "TASK", "LLMVisionAnswerer", "image_part"]

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


def image_part(png_bytes: bytes) -> dict[str, Any]:
    """The OpenAI chat content part carrying a PNG as a base64 data URL (as the LLM PHI gate writes it).

    Raises:
        PHIGateError: ML706 if the bytes are not a PNG (only PNG renderings are sent).
    """
    (wire,) = check_messages([Message.of("user", ImagePart(png=png_bytes))], remote=False, endpoint="image")
    item: dict[str, Any] = wire["content"][0]
    return item


class LLMVisionAnswerer:
    """Answer VQA questions with a vision-language model on an OpenAI-compatible endpoint.

    Args:
        client: The LLM client whose endpoint, cache and accounting to use.
        prompt_version: Version of the prompt wording, recorded for audit and part of the cache key.
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

    @property
    def remote(self) -> bool:
        """Whether the endpoint is declared ``remote``."""
        return self.client.endpoint.locality == "remote"

    def messages(self, question: str, png_bytes: bytes) -> list[Message]:
        """The chat messages for one question: the instruction, then the question and the image.

        The image is checked by the PHI gate first, so a refused image costs no de-identification.

        Raises:
            PHIGateError: ML706 for a remote endpoint without ``images_cleared=True``, or bytes that are not a PNG.
        """
        image = ImagePart(png=png_bytes, cleared=self.images_cleared)
        check_messages([Message.of("user", image)], remote=self.remote, endpoint=self.client.endpoint.name)
        question_part: PromptPart = question
        if self.remote:
            from medlens.safety.deid import Deidentifier

            if self._deidentifier is None:
                self._deidentifier = Deidentifier()
            question_part = deidentify(self._deidentifier, Document(id="vqa-question", text=question), "redact")
        return [
            Message.of("system", template(_INSTRUCTION)),
            Message.of("user", template("Question: "), question_part, image),
        ]

    def build_messages(self, question: str, png_bytes: bytes) -> list[dict[str, Any]]:
        """The wire messages for one question (what the server receives, before dialect-specific changes).

        Raises:
            PHIGateError: ML706 for a remote endpoint without ``images_cleared=True``, or when the question cannot
                pass the gate.
        """
        return check_messages(
            self.messages(question, png_bytes), remote=self.remote, endpoint=self.client.endpoint.name
        )

    def answer(self, question: str, png_bytes: bytes) -> str:
        """The model's short answer to ``question`` about the PNG image.

        Raises:
            PHIGateError: ML706 before any request (see :meth:`messages`).
            LLMTransportError: ML701. LLMHTTPStatusError: ML702. LLMInvalidJSONError: ML703 (no reply text).
            LLMTruncatedError: ML705.
        """
        reply = self.client.complete_text(
            self.messages(question, png_bytes),
            task=TASK,
            prompt_version=self.prompt_version,
            max_tokens=self.max_tokens,
        )
        return reply.text.strip()
