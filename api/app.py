"""The Starlette application: /graphql, the probes (/livez, /readyz, /healthz), the request id, the lifespan."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import _log_notices as log_notices
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types.unset import UNSET

from api.database import DatabaseUrls, resolve_urls, serving_connection_kwargs
from api.downloads import download_routes
from api.health import health_routes
from api.logs import incoming_request_id
from api.metrics import metrics_routes, process_ended, time_statements
from api.requests import BodyLimit, request_locale, strict_json
from api.row_reports import row_report_routes
from api.settings import Settings, get_settings
from api.templates import payment_file_template_endpoint, subsidy_list_template_endpoint
from api.tracing import configure_tracing, trace_statements, tracing_middleware
from api.trusted_documents import TrustedDocuments, UntrustedDocument
from authz.enforcer import Enforcers
from authz.login_guard import LoginGuard
from authz.passwords import Passwords
from authz.tokens import bearer_token, read_token
from schema.build import build_schema
from schema.context import Context, Services
from schema.limits import Limits
from tenants import metrics
from tenants.clock import Clock
from tenants.messages import error_json, negotiate
from tenants.observe import INVALID_OPERATION, RequestRecord, begin_request, current_request, end_request
from tenants.problems import ErrorCode
from tenants.session import HELD, initialized


def _connection_kwargs(settings: Settings) -> dict[str, object]:
    # Which process holds a connection, in pg_stat_activity (one pool per worker).
    return {**serving_connection_kwargs(settings), "application_name": f"zhengjiao-{os.getpid()}"}


def _engine(pool: AsyncConnectionPool, tracing: bool = False) -> AsyncEngine:
    # hide_parameters: SQL errors in logs never carry ID numbers or password hashes.
    async def connection() -> Any:
        # a request's own connection when it opens SQLAlchemy on it (tenants/session.py)
        conn = HELD.get() or await pool.getconn()
        # SQLAlchemy adds its notice logger to every connection it opens, and a pooled
        # connection is opened again and again: keep one, not one per request.
        with contextlib.suppress(ValueError):
            while True:
                conn.remove_notice_handler(log_notices)
        return conn

    engine = create_async_engine(
        "postgresql+psycopg://", async_creator=connection, poolclass=NullPool, hide_parameters=True
    )
    time_statements(engine)
    if tracing:
        trace_statements(engine)
    return engine


@dataclass
class Runtime:
    """What the lifespan opens and every request uses."""

    settings: Settings
    urls: DatabaseUrls | None = None
    pool: AsyncConnectionPool | None = None
    replica_pool: AsyncConnectionPool | None = None
    services: Services | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        urls = self.urls or resolve_urls(settings)
        self.pool = AsyncConnectionPool(
            urls.app,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            kwargs=_connection_kwargs(settings),
            close_returns=True,  # SQLAlchemy's close() hands the connection back
            open=False,
        )
        await self.pool.open(wait=True)
        engine = _engine(self.pool, settings.tracing)
        await initialized(engine)
        report_engine = None
        if urls.replica:
            self.replica_pool = AsyncConnectionPool(
                urls.replica, min_size=1, max_size=settings.pool_max, kwargs=_connection_kwargs(settings),
                close_returns=True, open=False,
            )
            await self.replica_pool.open(wait=True)
            report_engine = _engine(self.replica_pool, settings.tracing)
        self.services = Services(
            engine=engine,
            pool=self.pool,
            enforcers=Enforcers(),
            passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_threads),
            login_guard=LoginGuard(settings.login, settings.secret_key),
            secret_key=settings.secret_key,
            token_ttl_seconds=settings.token_ttl_seconds,
            page_default=settings.page_default,
            page_max=settings.page_max,
            production=settings.production,
            clock=Clock(),
            list_removal_share=settings.list_removal_share,
            masked_lookups_per_hour=settings.masked_lookups_per_hour,
            locale=settings.locale,
            report_engine=report_engine,
            batch_slots=settings.batch_slots,
        )
        try:
            yield
        finally:
            await engine.dispose()
            await self.pool.close()
            if report_engine is not None and self.replica_pool is not None:
                await report_engine.dispose()
                await self.replica_pool.close()
            self.services.passwords.close()
            process_ended()


access_log = logging.getLogger("zhengjiao.access")
# Probes and scrapes come every few seconds: their lines would drown the rest.
QUIET_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


class ZhengjiaoGraphQL(GraphQL):
    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        settings = runtime.settings
        self.trusted = TrustedDocuments.load(settings.trusted_documents, settings.trusted_only)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if self.trusted is None or isinstance(data, list):
            return data
        return self.trusted.resolve(data)

    def decode_json(self, data: str | bytes) -> object:
        return strict_json(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(self, request: Request, context: Any = UNSET, root_value: Any = UNSET) -> Response:  # type: ignore[override]
        """The whole request within its time budget (longer for one carrying a file)."""
        settings = self.runtime.settings
        upload = request.headers.get("content-type", "").startswith("multipart/form-data")
        budget_ms = settings.upload_budget_ms if upload else settings.request_budget_ms
        locale = negotiate(request.headers.get("accept-language"), settings.locale)
        request_locale.set(locale)
        record = current_request()
        try:
            async with asyncio.timeout(budget_ms / 1000):
                response = await super().run(request, context, root_value)
        except TimeoutError:
            if record is not None:
                record.outcome = "timeout"
            error = error_json(ErrorCode.REQUEST_TIMED_OUT, locale, {"seconds": f"{budget_ms / 1000:g}"})
            response = JSONResponse({"data": None, "errors": [error]}, status_code=503)
        except UntrustedDocument as refused:
            response = JSONResponse({"data": None, "errors": [error_json(refused.code, locale)]}, status_code=400)
        finally:
            if record is not None and request.method == "POST":
                self._observe(record)
        return response

    def _observe(self, record: RequestRecord) -> None:
        if record.outcome is None:  # refused before execution: not JSON, too deep, …
            record.operation, record.outcome = INVALID_OPERATION, "error"
        metrics.graphql_request_done(record)
        if self.runtime.pool is not None:
            metrics.pool_state(self.runtime.pool.get_stats())

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        services = self.runtime.services
        token = bearer_token(request.headers.get("authorization"))
        claims = read_token(services.secret_key, token) if token else None
        return Context(
            services=services,
            request=request,
            response=response,
            correlation_id=request.scope.get("state", {}).get("correlation_id", uuid.uuid4().hex[:12]),
            identity=claims,
        )


class CorrelationId:
    """Gives every request an id (the caller's X-Request-Id when sane), echoed as
    X-Request-Id and written in the logs and the audit trail; keeps the record the
    metrics and logs read (tenants/observe.py) and writes the request's own log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        incoming = incoming_request_id(headers.get(b"x-request-id", b"").decode("latin-1"))
        correlation_id = incoming or uuid.uuid4().hex[:12]
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        record = RequestRecord(request_id=correlation_id, path=scope.get("path", ""))
        token = begin_request(record)
        status = 500
        try:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((b"x-request-id", correlation_id.encode()))
                    headers.append((b"x-content-type-options", b"nosniff"))
                    headers.append((b"cache-control", b"no-store"))
                    message["headers"] = headers
                await send(message)

            await self.app(scope, receive, send_with_id)
        finally:
            if record.path not in QUIET_PATHS:
                access_log.info(
                    "request",
                    extra={"method": scope.get("method"), "path": record.path, "status": status,
                           "outcome": record.outcome, "duration_ms": round(record.seconds() * 1000, 1)},
                )
            end_request(token)


def create_app(settings: Settings | None = None, urls: DatabaseUrls | None = None) -> Starlette:
    settings = settings or get_settings()
    runtime = Runtime(settings=settings, urls=urls)
    limits = Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_cost,
        page_default=settings.page_default,
        page_max=settings.page_max,
    )
    if settings.tracing:
        configure_tracing()
    schema = build_schema(
        production=settings.production, limits=limits, max_tokens=settings.max_tokens, max_text=settings.max_text,
        tracing=settings.tracing,
    )
    graphql = ZhengjiaoGraphQL(
        runtime,
        schema=schema,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=False,  # variables (ID numbers) never travel in URLs or access logs
        multipart_uploads_enabled=True,  # safe: tokens travel only in the Authorization header
    )

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *health_routes(runtime),
            *metrics_routes(runtime),
            Route("/templates/subsidy-list.xlsx", subsidy_list_template_endpoint),
            Route("/templates/payment-file.xlsx", payment_file_template_endpoint),
            *download_routes(),
            *row_report_routes(),
        ],
        lifespan=runtime.lifespan,
        middleware=[
            *tracing_middleware(settings.tracing),
            Middleware(CorrelationId),
            Middleware(
                BodyLimit, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes,
                locale=settings.locale,
            ),
        ],
    )
    app.state.runtime = runtime
    return app
