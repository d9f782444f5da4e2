"""The FastAPI application: ``create_app(settings)`` and ``run(host, port, db_url)`` (what ``medlens serve`` calls).

Cross-cutting behaviour lives here: the request body limit (413), a validation-error handler that reports where
and what kind of error but never echoes input values (FastAPI's default echoes the body, and so would leak note
text), the bounded job worker and its start-up/shut-down, and the database migration at start-up.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.engine import make_url
from starlette.exceptions import HTTPException as StarletteHTTPException

from medlens.server import admin, agreement, auth, export, health, jobs, records, results, review, ui, ui_review
from medlens.server.deps import RateLimiter, ServerContext
from medlens.server.settings import ServerSettings
from medlens.server.worker import JobWorker
from medlens.store.database import make_engine, make_sessionmaker, migrate, redact_url
from medlens.store.models import Job

__all__ = ["BodyLimitMiddleware", "create_app", "run"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


class BodyLimitMiddleware:
    """Answer 413 when a request body is over ``max_bytes`` (by ``Content-Length``, or while it streams in)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    too_large = True
                if too_large:
                    await self._reject(send)
                    return
        seen = 0
        started = rejected = False

        async def limited_receive() -> Message:
            # Over the limit while streaming: answer 413 now and tell the app the client went away, since FastAPI
            # turns exceptions raised while reading a body into 400.
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not rejected:
                    rejected = True
                    if not started:
                        await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)

    async def _reject(self, send: Send) -> None:
        body = b'{"detail":"request body too large"}'
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _known_names(app: FastAPI) -> set[str]:
    """Field and parameter names of the API: the only strings a validation error location may show."""
    schema = app.openapi()
    names = set(_LOCATIONS)
    for component in schema.get("components", {}).get("schemas", {}).values():
        names.update(component.get("properties", {}).keys())
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict):
                names.update(p["name"] for p in operation.get("parameters", []))
    return names


def _validation_handler(app: FastAPI) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    known: set[str] = set()

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        if not known:
            known.update(_known_names(app))
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = [
            {
                "loc": [p if isinstance(p, int) or p in known else "*" for p in err.get("loc", ())],
                "type": str(err.get("type", "value_error")),
            }
            for err in errors
        ]
        return JSONResponse(status_code=422, content={"detail": detail, "message": "request validation failed"})

    return handler


def _resume_jobs(ctx: ServerContext) -> None:
    """Requeue jobs left queued or running by a previous process (they skip what they already stored)."""
    with ctx.sessions() as session:
        pending = list(session.scalars(select(Job.id).where(Job.status.in_(("queued", "running")))))
    for job_id in pending:
        if not ctx.worker.reserve():
            log.warning("job queue full at start-up; %d interrupted jobs stay queued", len(pending))
            return
        ctx.worker.submit(job_id)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from ``MEDLENS_SERVER_*`` environment variables).

    Migrates the database first when ``settings.auto_migrate``.
    """
    settings = settings or ServerSettings()
    if settings.secret_key is None:
        log.warning("MEDLENS_SERVER_SECRET_KEY is not set: sessions and patient keys last until restart")
        secret = secrets.token_bytes(32)
    else:
        secret = settings.secret_key.get_secret_value().encode("utf-8")
    # More pooled connections than the threads FastAPI runs sync routes on (anyio's default limiter: 40). With fewer,
    # a burst can leave every thread waiting for a connection that only a thread can give back (each request's
    # session is closed by its dependency, in the same thread pool), and the server stalls until the pool timeout.
    url = make_url(settings.db_url)
    pooled = url.get_backend_name() == "postgresql" or url.database not in (None, "", ":memory:")
    engine = make_engine(settings.db_url, **({"pool_size": 20, "max_overflow": 30} if pooled else {}))
    if settings.auto_migrate:
        migrate(engine)
    sessions = make_sessionmaker(engine)
    worker = JobWorker(
        sessions,
        workers=settings.workers,
        queue_size=settings.queue_size,
        batch_size=settings.batch_size,
        min_confidence=settings.review_min_confidence,
        sample_rate=settings.review_sample_rate,
    )
    ctx = ServerContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        worker=worker,
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        secret=secret,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _resume_jobs(ctx)
        log.info("medlens service on %s", redact_url(settings.db_url))
        yield
        worker.shutdown(wait=True)
        engine.dispose()

    from importlib.metadata import version

    app = FastAPI(
        title="medlens",
        version=version("medlens"),
        description="Submit clinical records, run medlens tasks, review results, export what was accepted.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.add_exception_handler(RequestValidationError, _validation_handler(app))
    for module in (health, auth, admin, records, jobs, results, review, export, ui, ui_review, agreement):
        app.include_router(module.router)
    # The review UI: HTML errors and a redirect to the login page on /ui/ routes; static files need no login
    # (htmx, the UI's own script and style sheet; no data).
    app.add_exception_handler(ui.LoginRequired, ui.login_required_handler)
    app.add_exception_handler(StarletteHTTPException, ui.html_exception_handler)
    app.mount("/ui/static", StaticFiles(directory=ui.static_dir()), name="ui-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app


def run(host: str = "127.0.0.1", port: int = 8000, db_url: str | None = None, **settings: Any) -> None:
    """Serve the API with uvicorn (``medlens serve``). Other settings come from ``MEDLENS_SERVER_*``."""
    import uvicorn

    if db_url is not None:
        settings["db_url"] = db_url
    uvicorn.run(create_app(ServerSettings(**settings)), host=host, port=port, log_level="info", access_log=True)
