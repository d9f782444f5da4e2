"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat protocol with scripted responses (test fixture).

``POST /v1/chat/completions`` and Ollama's ``POST /api/chat`` pop the next scripted response from a queue;
``GET /v1/models`` answers ``models_payload`` with the ``Server`` header ``server_header``. Every request is
recorded (method, path, headers, parsed JSON body) so tests can assert the dialect's request shape and count
requests. The server tracks the most requests it had in flight at once (for concurrency limits).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Recorded", "Scripted", "StubServer", "chat_body"]


def chat_body(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    model: str = "stub-model",
) -> dict[str, Any]:
    """An OpenAI chat.completion body."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclass
class Scripted:
    """One scripted response: status, JSON (or raw bytes) body, headers, and a delay before answering."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle delay: otherwise headers and body go out as two segments and the
    # client's delayed ACK adds ~40 ms to every request on a keep-alive connection.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access logs
        pass

    def _send(self, scripted: Scripted) -> None:
        payload = scripted.raw if scripted.raw is not None else json.dumps(scripted.body).encode("utf-8")
        try:
            self.send_response(scripted.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Server", self.server.stub.server_header)
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    def do_GET(self) -> None:
        stub = self.server.stub
        stub.record(Recorded("GET", self.path, dict(self.headers), None))
        if self.path.rstrip("/").endswith("/models") and stub.models_status == 200:
            self._send(Scripted(body=stub.models_payload))
        else:
            self._send(Scripted(status=stub.models_status if stub.models_status != 200 else 404, body={}))

    def do_POST(self) -> None:
        stub = self.server.stub
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_unparsable": raw.decode("utf-8", "replace")}
        stub.record(Recorded("POST", self.path, dict(self.headers), body))
        with stub.lock:
            stub.in_flight += 1
            stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
        try:
            scripted = stub.next_response()
            if scripted.delay_s:
                stub.stopping.wait(scripted.delay_s)
            self._send(scripted)
        finally:
            with stub.lock:
                stub.in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubServer


class StubServer:
    """Start with :meth:`start` (or ``with``); :attr:`base_url` ends in ``/v1``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[Recorded] = []
        self.queue: deque[Scripted] = deque()
        self.models_payload: Any = {
            "object": "list",
            "data": [{"id": "stub-model", "object": "model", "owned_by": "stub-owner"}],
        }
        self.models_status = 200
        self.server_header = "stub/1.0"
        self.default: Scripted | None = None  # answered when the queue is empty (benchmarks); None -> 599
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> StubServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.stub = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    # -- scripting ------------------------------------------------------------------------------------------
    def record(self, request: Recorded) -> None:
        with self.lock:
            self.requests.append(request)

    def next_response(self) -> Scripted:
        with self.lock:
            if self.queue:
                return self.queue.popleft()
            if self.default is not None:
                return self.default
        return Scripted(status=599, body={"error": {"message": "stub: no scripted response left"}})

    def push(self, *responses: Scripted) -> StubServer:
        with self.lock:
            self.queue.extend(responses)
        return self

    def reply(self, content: str | None, *, finish_reason: str | None = "stop", **kw: Any) -> StubServer:
        """Queue a 200 chat completion with ``content``."""
        delay = kw.pop("delay_s", 0.0)
        return self.push(Scripted(body=chat_body(content, finish_reason=finish_reason, **kw), delay_s=delay))

    def reply_json(self, value: Any, **kw: Any) -> StubServer:
        """Queue a 200 chat completion whose content is ``value`` as JSON."""
        return self.reply(json.dumps(value), **kw)

    def status(self, code: int, *, headers: dict[str, str] | None = None, delay_s: float = 0.0) -> StubServer:
        """Queue an error status with an OpenAI-style error body."""
        return self.push(
            Scripted(status=code, body={"error": {"message": f"stub {code}"}}, headers=headers or {}, delay_s=delay_s)
        )

    def ollama_reply(self, content: str, *, done_reason: str = "stop") -> StubServer:
        """Queue a native Ollama /api/chat response."""
        return self.push(
            Scripted(
                body={
                    "model": "stub-model",
                    "created_at": "2025-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": content},
                    "done": True,
                    "done_reason": done_reason,
                    "prompt_eval_count": 13,
                    "eval_count": 5,
                }
            )
        )

    # -- inspection -----------------------------------------------------------------------------------------
    @property
    def posts(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    @property
    def gets(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "GET"]

    def wait_idle(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
