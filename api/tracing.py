"""OpenTelemetry tracing, off unless the standard OTEL_* variables ask for it.

On with `OTEL_TRACES_EXPORTER` (otlp, console) or an OTLP endpoint
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); `OTEL_SERVICE_NAME`
and the other OTEL_* settings are read by the SDK itself. Three sources of spans: the
ASGI server span of each HTTP request, Strawberry's operation, parsing, validation and
resolver spans, and SQLAlchemy's statement spans. None carries an ID number: resolver
arguments are not recorded, the operation's document is recorded with whole ID numbers
masked (api/logs.py `redact`), and statements go without their parameters.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Generator
from typing import Any

from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.extensions.tracing.opentelemetry import LifecycleStep

from api.logs import redact
from tenants.session import DIRECT_TEXT

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_requested() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter) or any(os.environ.get(name) for name in _ENDPOINTS)


def configure_tracing() -> None:
    """A tracer provider exporting as the OTEL_* variables say, unless one is set already
    (an operator's own setup, or a test's in-memory exporter)."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "zhengjiao")}))
    exporter: SpanExporter
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def tracing_middleware(tracing: bool) -> list[Middleware]:
    """The ASGI server span of every request, outermost (when tracing)."""
    if not tracing:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [Middleware(OpenTelemetryMiddleware)]


def trace_statements(engine: AsyncEngine) -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # (its declared range stops below SQLAlchemy 2.1; the event hooks it uses are unchanged)
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False, skip_dep_check=True)
    # Its spans come from SQLAlchemy's execution: every statement goes that way here.
    engine.update_execution_options(**{DIRECT_TEXT: False})


def _no_arguments(args: dict[str, Any], info: Any) -> dict[str, Any]:
    return {}  # an argument may be an ID number, a name or a password


class GraphQLTracing(OpenTelemetryExtension):
    """Strawberry's spans, without resolver arguments and with the document masked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(arg_filter=_no_arguments, **kwargs)

    def on_operation(self) -> Generator[None, None, None]:
        steps = super().on_operation()
        next(steps)
        span = self._span_holder.get(LifecycleStep.OPERATION)
        if span is not None and self.execution_context.query:
            span.set_attribute("query", redact(self.execution_context.query))
        yield
        with contextlib.suppress(StopIteration):
            next(steps)
