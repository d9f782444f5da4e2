"""OpenAI-compatible chat client for structured output: async core over ``httpx`` and a thread-safe sync facade.

One call of :meth:`AsyncLLMClient.complete_json`:

1. builds the output schema (pydantic model class or JSON-schema dict);
2. passes the messages through the PHI gate (:mod:`medlens.llm.gate`) — before any cache or network I/O;
3. resolves the dialect (configured, or detected once per client and cached);
4. returns a cached reply when the on-disk cache has one for the same key;
5. sends the request under the endpoint's concurrency limit, retrying 408/429/5xx and connection errors with
   exponential backoff and jitter (honouring ``Retry-After``), never 400/401/403/404/422;
6. refuses a truncated reply (ML705), parses and repairs the JSON, validates it, and re-asks once with the error
   paths when it does not fit; then records usage and latency per task.

:meth:`AsyncLLMClient.complete_text` is the unconstrained variant (free text, e.g. a vision model's short answer
about an :class:`~medlens.llm.gate.ImagePart`): the same gate, dialect, cache, retries, ML705 on truncation and
accounting, without schema, parsing or re-ask.

Nothing here logs or raises with prompt, document or reply text.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from pydantic import BaseModel

from medlens.core.errors import MissingDependencyError

try:
    import httpx
except ImportError as exc:  # the llm extra is not installed
    raise MissingDependencyError('the LLM client needs httpx: pip install "medlens[llm]"', code="ML501") from exc

from medlens.llm.accounting import Accounting
from medlens.llm.cache import CachedReply, LLMCache, cache_key
from medlens.llm.dialects import ChatReply, build_request, classify_server, parse_reply
from medlens.llm.endpoint import Dialect, EndpointConfig
from medlens.llm.errors import (
    LLMConfigError,
    LLMError,
    LLMHTTPStatusError,
    LLMInvalidJSONError,
    LLMSchemaError,
    LLMTransportError,
    LLMTruncatedError,
)
from medlens.llm.gate import Message, WireMessage, check_messages
from medlens.llm.responses import LLMResponse, LLMTextResponse, Repair
from medlens.llm.structured import InvalidOutput, OutputSchema, extract_json

__all__ = ["RETRY_STATUSES", "AsyncLLMClient", "LLMClient", "LLMResponse", "LLMTextResponse", "Repair"]

log = logging.getLogger(__name__)

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)

# Retryable: request timeout, rate limit, server errors and gateways (RFC 9110 §15.5.9, §15.6; RFC 6585 §4).
RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

_REASK = (
    "Your previous reply does not fit the required JSON schema: {feedback} "
    "Reply again with only the corrected JSON object, no prose."
)
_PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
_MessagesIn = Sequence[Message | Mapping[str, Any]]


@dataclass
class _Call:
    """Mutable bookkeeping of one complete_json / complete_text call."""

    task: str
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


class AsyncLLMClient:
    """Async client for one endpoint. Use in one event loop; close with :meth:`aclose` (or ``async with``).

    Args:
        endpoint: the endpoint configuration.
        cache: on-disk reply cache, or None for no caching.
        accounting: where to add per-task usage and latency; a fresh one when None.
        transport: an ``httpx`` transport (tests, proxies); the default network transport when None.
        rng: random source for backoff jitter.
        sleep: the coroutine used to wait between retries (tests may record the waits).
    """

    def __init__(
        self,
        endpoint: EndpointConfig,
        *,
        cache: LLMCache | None = None,
        accounting: Accounting | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.accounting = accounting if accounting is not None else Accounting()
        self._transport = transport
        self._rng = rng or random.Random()
        self._sleep = sleep or asyncio.sleep
        self._http: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._detect_lock: asyncio.Lock | None = None
        self._dialect: Dialect | None = None if endpoint.dialect == "auto" else endpoint.dialect
        self._api_key = endpoint.api_key()  # ML707 now, not at the first request

    # -- plumbing ------------------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            limits = httpx.Limits(
                max_connections=self.endpoint.concurrency, max_keepalive_connections=self.endpoint.concurrency
            )
            headers = {"Accept": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.endpoint.timeout_s),
                limits=limits,
                headers=headers,
                transport=self._transport,
                trust_env=self.endpoint.trust_env,
            )
        return self._http

    def _limit(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.endpoint.concurrency)
        return self._semaphore

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._semaphore = None  # bound to the loop that used them; a later call may run in another loop
        self._detect_lock = None

    async def __aenter__(self) -> AsyncLLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- dialect -------------------------------------------------------------------------------------------

    def set_dialect(self, dialect: Dialect) -> None:
        """Override the dialect (``auto`` forgets a detected one, so the next call detects again)."""
        self._dialect = None if dialect == "auto" else dialect

    async def dialect(self) -> Dialect:
        """The dialect in use: the configured one, or detected once (``GET /models``, headers, a probe)."""
        if self._dialect is not None:
            return self._dialect
        if self._detect_lock is None:
            self._detect_lock = asyncio.Lock()
        async with self._detect_lock:
            if self._dialect is None:
                self._dialect = await self._detect()
                log.info("endpoint %s: dialect detected as %s", self.endpoint.name, self._dialect)
        return self._dialect

    def _unreachable(self, exc: Exception) -> LLMTransportError:
        return LLMTransportError(
            f"endpoint {self.endpoint.name!r}: cannot reach {self.endpoint.base_url} to detect its dialect "
            f"({type(exc).__name__}); start the server or set the endpoint's dialect",
            code="ML701",
        )

    async def _detect(self) -> Dialect:
        """Detect the dialect from ``GET /models``, the ``Server`` header, then a probe.

        Raises (and caches nothing) when the server cannot be reached or is failing, so a transient outage never
        downgrades the endpoint to ``prompt_only`` for the client's lifetime.
        """
        payload: Any = None
        try:
            async with self._limit():
                resp = await self._client().get(self.endpoint.base_url + "/models")
        except httpx.TransportError as exc:  # includes timeouts
            raise self._unreachable(exc) from None
        if resp.status_code == 200:
            try:
                payload = resp.json()
            except ValueError:
                payload = None
        found = classify_server(payload, resp.headers.get("server"), model=self.endpoint.model)
        if found is not None:
            return found
        return await self._probe()

    async def _probe(self) -> Dialect:
        """One tiny ``openai_json_schema`` request with trusted text; ``prompt_only`` if the server rejects it."""
        messages = [{"role": "user", "content": 'Reply with {"ok": true}.'}]
        req = build_request(
            "openai_json_schema",
            endpoint=self.endpoint,
            messages=messages,
            schema=_PROBE_SCHEMA,
            schema_name="probe",
            max_tokens=16,
        )
        try:
            async with self._limit():
                resp = await self._client().post(req.url, json=req.body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if resp.status_code in RETRY_STATUSES:
            raise LLMHTTPStatusError(
                f"endpoint {self.endpoint.name!r}: HTTP {resp.status_code} while probing its dialect; try again "
                "later or set the endpoint's dialect",
                status=resp.status_code,
                code="ML702",
            )
        if resp.status_code == 200:
            try:
                reply = parse_reply("openai_json_schema", resp.json(), endpoint=self.endpoint.name)
                data, _ = extract_json(reply.content)
            except (ValueError, LLMError, InvalidOutput) as exc:
                log.info("endpoint %s: json_schema probe reply unusable (%s)", self.endpoint.name, type(exc).__name__)
            else:
                if isinstance(data, dict) and isinstance(data.get("ok"), bool):
                    return "openai_json_schema"
        return "prompt_only"

    # -- one HTTP exchange with retries --------------------------------------------------------------------

    async def _chat(
        self,
        call: _Call,
        dialect: Dialect,
        wire: Sequence[WireMessage],
        out: OutputSchema[Any] | None,
        max_tokens: int | None,
    ) -> ChatReply:
        """One request (``out=None``: unconstrained), retried per the endpoint's policy."""
        ep = self.endpoint
        req = build_request(
            dialect,
            endpoint=ep,
            messages=wire,
            schema=out.json_schema if out is not None else None,
            schema_name=out.name if out is not None else "result",
            max_tokens=max_tokens,
        )
        for retry in range(ep.max_retries + 1):
            error: LLMError
            wait: float | None = None
            call.attempts += 1
            try:
                async with self._limit():
                    resp = await self._client().post(req.url, json=req.body)
            except httpx.TimeoutException as exc:
                error = LLMTransportError(
                    f"endpoint {ep.name!r}: no answer within {ep.timeout_s:g} s ({type(exc).__name__}); raise "
                    "timeout_s or check the server",
                    code="ML701",
                )
            except httpx.TransportError as exc:
                error = LLMTransportError(
                    f"endpoint {ep.name!r}: connection to {ep.base_url} failed ({type(exc).__name__}); is the "
                    "server running?",
                    code="ML701",
                )
            else:
                if 200 <= resp.status_code < 300:
                    try:
                        payload = resp.json()
                    except ValueError:
                        raise LLMInvalidJSONError(
                            f"endpoint {ep.name!r}: the response body is not JSON (HTTP {resp.status_code})",
                            code="ML703",
                        ) from None
                    reply = parse_reply(dialect, payload, endpoint=ep.name)
                    call.prompt_tokens += reply.prompt_tokens
                    call.completion_tokens += reply.completion_tokens
                    return reply
                error = LLMHTTPStatusError(
                    f"endpoint {ep.name!r}: HTTP {resp.status_code} from {urlsplit(req.url).path} (dialect {dialect})",
                    status=resp.status_code,
                    code="ML702",
                )
                if resp.status_code not in RETRY_STATUSES:
                    raise error
                wait = _retry_after(resp.headers.get("retry-after"), time.time())
            if retry == ep.max_retries:
                raise error
            delay = ep.backoff_s * (2**retry) * self._rng.uniform(0.5, 1.0)  # exponential, jittered
            if wait is not None:
                delay = max(delay, wait)
            delay = min(delay, ep.max_backoff_s)
            log.warning(
                "endpoint %s task %s: %s; retry %d of %d in %.2f s",
                ep.name,
                call.task,
                error.code,
                retry + 1,
                ep.max_retries,
                delay,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _gate(self, messages: _MessagesIn, method: str) -> list[WireMessage]:
        """The PHI gate (before any I/O) and the wire messages."""
        wire = check_messages(messages, remote=self.endpoint.locality == "remote", endpoint=self.endpoint.name)
        if not wire:
            raise LLMConfigError(f"{method} needs at least one message", code="ML707")
        return wire

    def _settle(
        self,
        call: _Call,
        started: float,
        key: str | None,
        reply: ChatReply,
        data: Any,
        *,
        task: str,
        prompt_version: str,
    ) -> float:
        """Cache a successful reply and account for it; return the call's latency in seconds."""
        latency = time.perf_counter() - started
        if self.cache is not None and key is not None:
            self.cache.put(
                key,
                CachedReply(
                    raw_text=reply.content,
                    data=data,
                    finish_reason=reply.finish_reason,
                    prompt_tokens=call.prompt_tokens,
                    completion_tokens=call.completion_tokens,
                ),
                model=self.endpoint.model,
                prompt_version=prompt_version,
            )
        self.accounting.record(
            task,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            latency_s=latency,
            attempts=call.attempts,
        )
        return latency

    def _failed(self, call: _Call, started: float, exc: LLMError) -> None:
        """Account and log a failed call (code and request count only)."""
        self.accounting.record(
            call.task,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            latency_s=time.perf_counter() - started,
            attempts=call.attempts,
            error=True,
        )
        log.warning(
            "endpoint %s task %s: failed with %s after %d request(s)", *self._ids(call.task), exc.code, call.attempts
        )

    def _check_finish(self, reply: ChatReply, call: _Call) -> None:
        if reply.finish_reason == "length":
            raise LLMTruncatedError(
                f"endpoint {self.endpoint.name!r} task {call.task!r}: the reply stopped at the token limit "
                f"({reply.completion_tokens} completion tokens); raise max_tokens or shorten the prompt",
                code="ML705",
            )

    # -- the public call -----------------------------------------------------------------------------------

    @overload
    async def complete_json(
        self,
        messages: _MessagesIn,
        schema: type[ModelT],
        *,
        task: str,
        prompt_version: str,
        schema_name: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse[ModelT]: ...

    @overload
    async def complete_json(
        self,
        messages: _MessagesIn,
        schema: Mapping[str, Any],
        *,
        task: str,
        prompt_version: str,
        schema_name: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse[Any]: ...

    async def complete_json(
        self,
        messages: _MessagesIn,
        schema: type[BaseModel] | Mapping[str, Any],
        *,
        task: str,
        prompt_version: str,
        schema_name: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse[Any]:
        """Ask for one JSON reply that validates against ``schema``.

        Args:
            messages: :class:`~medlens.llm.gate.Message` objects (or ``{"role", "content"}`` mappings, whose
                content counts as document text and so only goes to a ``local`` endpoint).
            schema: a pydantic model class (``parsed`` is an instance) or a JSON-schema dict (needs
                ``jsonschema``).
            task: task name for accounting and logs, e.g. ``notes.extract``.
            prompt_version: version of the prompt template (part of the cache key).
            schema_name: name sent with the schema; the model's class name by default.
            max_tokens: completion token limit for this call; the endpoint's when None.

        Returns:
            The validated reply with usage, latency, cache and repair information.

        Raises:
            PHIGateError: ML706 before any I/O when a remote endpoint would receive non-de-identified text.
            LLMTransportError: ML701. LLMHTTPStatusError: ML702. LLMInvalidJSONError: ML703.
            LLMSchemaError: ML704. LLMTruncatedError: ML705. LLMConfigError: ML707.
        """
        started = time.perf_counter()
        out: OutputSchema[Any] = OutputSchema(schema, name=schema_name)
        wire = self._gate(messages, "complete_json")
        dialect = await self.dialect()
        call = _Call(task=task)
        key = None
        if self.cache is not None:
            key = cache_key(
                model=self.endpoint.model,
                prompt_version=prompt_version,
                messages=wire,
                schema=out.json_schema,
                dialect=dialect,
                temperature=self.endpoint.temperature,
                seed=self.endpoint.seed,
            )
            hit = self.cache.get(key)
            if hit is not None:
                try:
                    parsed = out.validate(hit.data)
                except InvalidOutput:
                    log.warning("endpoint %s task %s: cached reply no longer validates; asking again", *self._ids(task))
                else:
                    latency = time.perf_counter() - started
                    self.accounting.record(task, latency_s=latency, cache_hit=True)
                    return LLMResponse(
                        parsed=parsed,
                        data=hit.data,
                        raw_text=hit.raw_text,
                        finish_reason=hit.finish_reason,
                        prompt_tokens=0,
                        completion_tokens=0,
                        latency_s=latency,
                        cache_hit=True,
                        attempts=0,
                        repair="none",
                        dialect=dialect,
                        endpoint=self.endpoint.name,
                        model=self.endpoint.model,
                        task=task,
                        prompt_version=prompt_version,
                    )
        try:
            reply, data, parsed, repair = await self._complete(call, dialect, wire, out, max_tokens)
        except LLMError as exc:
            self._failed(call, started, exc)
            raise
        latency = self._settle(call, started, key, reply, data, task=task, prompt_version=prompt_version)
        log.debug(
            "endpoint %s task %s: ok in %.3f s, %d request(s), repair=%s",
            *self._ids(task),
            latency,
            call.attempts,
            repair,
        )
        return LLMResponse(
            parsed=parsed,
            data=data,
            raw_text=reply.content,
            finish_reason=reply.finish_reason,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            latency_s=latency,
            cache_hit=False,
            attempts=call.attempts,
            repair=repair,
            dialect=dialect,
            endpoint=self.endpoint.name,
            model=self.endpoint.model,
            task=task,
            prompt_version=prompt_version,
        )

    async def complete_text(
        self,
        messages: _MessagesIn,
        *,
        task: str,
        prompt_version: str,
        max_tokens: int | None = None,
    ) -> LLMTextResponse:
        """Ask for a free-text reply: no schema, no parsing, no re-ask.

        Same PHI gate (images included: a remote endpoint needs ``ImagePart(cleared=True)``), dialect, cache, retries
        and accounting as :meth:`complete_json`; the request carries no output constraint in any dialect.

        Args:
            messages: :class:`~medlens.llm.gate.Message` objects (text and image parts) or ``{"role", "content"}``
                mappings (document text: ``local`` endpoints only).
            task: task name for accounting and logs, e.g. ``imaging.vqa``.
            prompt_version: version of the prompt template (part of the cache key).
            max_tokens: completion token limit for this call; the endpoint's when None.

        Returns:
            The reply text with usage, latency and cache information.

        Raises:
            PHIGateError: ML706 before any I/O. LLMTransportError: ML701. LLMHTTPStatusError: ML702.
            LLMInvalidJSONError: ML703 when the response is not a chat completion with text content.
            LLMTruncatedError: ML705 when ``finish_reason == "length"``. LLMConfigError: ML707.
        """
        started = time.perf_counter()
        wire = self._gate(messages, "complete_text")
        dialect = await self.dialect()
        call = _Call(task=task)
        key = None
        if self.cache is not None:
            key = cache_key(
                model=self.endpoint.model,
                prompt_version=prompt_version,
                messages=wire,
                schema=None,
                # without a schema only Ollama's native route differs on the wire; all others send the same request
                dialect="text:ollama" if dialect == "ollama_format" else "text:openai",
                temperature=self.endpoint.temperature,
                seed=self.endpoint.seed,
            )
            hit = self.cache.get(key)
            if hit is not None:
                latency = time.perf_counter() - started
                self.accounting.record(task, latency_s=latency, cache_hit=True)
                return LLMTextResponse(
                    text=hit.raw_text,
                    finish_reason=hit.finish_reason,
                    prompt_tokens=0,
                    completion_tokens=0,
                    latency_s=latency,
                    cache_hit=True,
                    attempts=0,
                    dialect=dialect,
                    endpoint=self.endpoint.name,
                    model=self.endpoint.model,
                    task=task,
                    prompt_version=prompt_version,
                )
        try:
            reply = await self._chat(call, dialect, wire, None, max_tokens)
            self._check_finish(reply, call)
        except LLMError as exc:
            self._failed(call, started, exc)
            raise
        latency = self._settle(call, started, key, reply, None, task=task, prompt_version=prompt_version)
        log.debug("endpoint %s task %s: text ok in %.3f s, %d request(s)", *self._ids(task), latency, call.attempts)
        return LLMTextResponse(
            text=reply.content,
            finish_reason=reply.finish_reason,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            latency_s=latency,
            cache_hit=False,
            attempts=call.attempts,
            dialect=dialect,
            endpoint=self.endpoint.name,
            model=self.endpoint.model,
            task=task,
            prompt_version=prompt_version,
        )

    def _ids(self, task: str) -> tuple[str, str]:
        return self.endpoint.name, task

    async def _complete(
        self, call: _Call, dialect: Dialect, wire: list[WireMessage], out: OutputSchema[Any], max_tokens: int | None
    ) -> tuple[ChatReply, Any, Any, Repair]:
        reply = await self._chat(call, dialect, wire, out, max_tokens)
        self._check_finish(reply, call)
        try:
            data, extracted = extract_json(reply.content)
            parsed = out.validate(data)
        except InvalidOutput as first:
            log.info(
                "endpoint %s task %s: reply invalid (%s); re-asking once",
                *self._ids(call.task),
                "; ".join(first.errors),
            )
            reask = [
                *wire,
                {"role": "assistant", "content": reply.content},
                {"role": "user", "content": _REASK.format(feedback=first.feedback)},
            ]
            reply = await self._chat(call, dialect, reask, out, max_tokens)
            self._check_finish(reply, call)
            try:
                data, _ = extract_json(reply.content)
                parsed = out.validate(data)
            except InvalidOutput as second:
                detail = "; ".join(second.errors)
                where = f"endpoint {self.endpoint.name!r} task {call.task!r} (dialect {dialect})"
                if second.json_error:
                    raise LLMInvalidJSONError(
                        f"{where}: the reply is not valid JSON after repair and one re-ask ({detail})", code="ML703"
                    ) from None
                raise LLMSchemaError(
                    f"{where}: the reply does not fit the schema after one re-ask: {detail}",
                    errors=second.errors,
                    code="ML704",
                ) from None
            return reply, data, parsed, "reasked"
        return reply, data, parsed, "extracted" if extracted else "none"


class LLMClient:
    """Synchronous, thread-safe facade: runs an :class:`AsyncLLMClient` on its own event-loop thread.

    Calls from several threads share the endpoint's concurrency limit and HTTP connections. Close it with
    :meth:`close` (or use ``with``).

    Args:
        endpoint: the endpoint configuration.
        cache: on-disk reply cache, or None.
        accounting: per-task totals; a fresh one when None.
        transport: an ``httpx`` async transport, for tests.
    """

    def __init__(
        self,
        endpoint: EndpointConfig,
        *,
        cache: LLMCache | None = None,
        accounting: Accounting | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.async_client = AsyncLLMClient(endpoint, cache=cache, accounting=accounting, transport=transport)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> EndpointConfig:
        """The endpoint configuration."""
        return self.async_client.endpoint

    @property
    def accounting(self) -> Accounting:
        """Per-task usage and latency totals."""
        return self.async_client.accounting

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name=f"medlens-llm-{self.endpoint.name}", daemon=True
                )
                self._thread.start()
            loop = self._loop
        if threading.current_thread() is self._thread:
            coro.close()
            raise LLMConfigError("LLMClient cannot be called from its own event loop; use AsyncLLMClient", code="ML707")
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def dialect(self) -> Dialect:
        """The dialect in use (detected on the first call when configured as ``auto``)."""
        return self._run(self.async_client.dialect())

    def set_dialect(self, dialect: Dialect) -> None:
        """Override the dialect."""
        self.async_client.set_dialect(dialect)

    @overload
    def complete_json(
        self,
        messages: _MessagesIn,
        schema: type[ModelT],
        *,
        task: str,
        prompt_version: str,
        schema_name: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse[ModelT]: ...

    @overload
    def complete_json(
        self,
        messages: _MessagesIn,
        schema: Mapping[str, Any],
        *,
        task: str,
        prompt_version: str,
        schema_name: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse[Any]: ...

    def complete_json(
        self,
        messages: _MessagesIn,
        schema: type[BaseModel] | Mapping[str, Any],
        *,
        task: str,
        prompt_version: str,
        schema_name: str | None = None,
        max_tokens: int | None = None,
    ) -> LLMResponse[Any]:
        """Synchronous :meth:`AsyncLLMClient.complete_json` (same arguments, result and errors)."""
        return self._run(
            self.async_client.complete_json(
                messages,
                schema,
                task=task,
                prompt_version=prompt_version,
                schema_name=schema_name,
                max_tokens=max_tokens,
            )
        )

    def complete_text(
        self,
        messages: _MessagesIn,
        *,
        task: str,
        prompt_version: str,
        max_tokens: int | None = None,
    ) -> LLMTextResponse:
        """Synchronous :meth:`AsyncLLMClient.complete_text` (same arguments, result and errors)."""
        return self._run(
            self.async_client.complete_text(messages, task=task, prompt_version=prompt_version, max_tokens=max_tokens)
        )

    def close(self) -> None:
        """Close connections and stop the event-loop thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.async_client.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()
        loop.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
