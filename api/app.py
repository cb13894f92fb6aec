"""The Starlette application: /graphql, /healthz, the request id, the lifespan."""
from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET

from api.database import DatabaseUrls, connection_options, resolve_urls
from api.downloads import download_routes
from api.requests import BodyLimit, request_locale, strict_json
from api.row_reports import row_report_routes
from api.settings import Settings, get_settings
from api.templates import payment_file_template_endpoint, subsidy_list_template_endpoint
from authz.enforcer import Enforcers
from authz.login_guard import LoginGuard
from authz.passwords import Passwords
from authz.tokens import bearer_token, read_token
from schema.build import build_schema
from schema.context import Context, Services
from schema.limits import Limits
from tenants.clock import Clock
from tenants.messages import error_json, negotiate
from tenants.problems import ErrorCode


@dataclass
class Runtime:
    """What the lifespan opens and every request uses."""

    settings: Settings
    urls: DatabaseUrls | None = None
    pool: AsyncConnectionPool | None = None
    services: Services | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        urls = self.urls or resolve_urls(settings)
        self.pool = AsyncConnectionPool(
            urls.app,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            # Which process holds a connection, in pg_stat_activity (one pool per worker).
            kwargs={"options": connection_options(settings), "application_name": f"zhengjiao-{os.getpid()}"},
            close_returns=True,  # SQLAlchemy's close() hands the connection back
            open=False,
        )
        await self.pool.open(wait=True)
        # hide_parameters: SQL errors in logs never carry ID numbers or password hashes.
        engine = create_async_engine(
            "postgresql+psycopg://", async_creator=self.pool.getconn, poolclass=NullPool, hide_parameters=True
        )
        self.services = Services(
            engine=engine,
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
        )
        try:
            yield
        finally:
            await engine.dispose()
            await self.pool.close()
            self.services.passwords.close()


class ZhengjiaoGraphQL(GraphQL):
    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime

    def decode_json(self, data: str | bytes) -> object:
        return strict_json(data)

    async def run(self, request: Request, context: Any = UNSET, root_value: Any = UNSET) -> Response:  # type: ignore[override]
        """The whole request within its time budget (longer for one carrying a file)."""
        settings = self.runtime.settings
        upload = request.headers.get("content-type", "").startswith("multipart/form-data")
        budget_ms = settings.upload_budget_ms if upload else settings.request_budget_ms
        locale = negotiate(request.headers.get("accept-language"), settings.locale)
        request_locale.set(locale)
        try:
            async with asyncio.timeout(budget_ms / 1000):
                return await super().run(request, context, root_value)
        except TimeoutError:
            error = error_json(ErrorCode.REQUEST_TIMED_OUT, locale, {"seconds": f"{budget_ms / 1000:g}"})
            return JSONResponse({"data": None, "errors": [error]}, status_code=503)

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
    """Gives every request an id, echoed as X-Request-Id and written in error logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        correlation_id = uuid.uuid4().hex[:12]
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", correlation_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


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
    schema = build_schema(
        production=settings.production, limits=limits, max_tokens=settings.max_tokens, max_text=settings.max_text
    )
    graphql = ZhengjiaoGraphQL(
        runtime,
        schema=schema,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=False,  # variables (ID numbers) never travel in URLs or access logs
        multipart_uploads_enabled=True,  # safe: tokens travel only in the Authorization header
    )

    async def healthz(request: Request) -> JSONResponse:
        async with runtime.services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/templates/subsidy-list.xlsx", subsidy_list_template_endpoint),
            Route("/templates/payment-file.xlsx", payment_file_template_endpoint),
            *download_routes(),
            *row_report_routes(),
        ],
        lifespan=runtime.lifespan,
        middleware=[
            Middleware(CorrelationId),
            Middleware(
                BodyLimit, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes,
                locale=settings.locale,
            ),
        ],
    )
    app.state.runtime = runtime
    return app
