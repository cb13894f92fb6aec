"""OpenTelemetry tracing when asked for: an HTTP span, GraphQL spans and SQL spans per
request, none of them carrying an ID number; off by default."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.settings import load_settings
from tests.conftest import start_server
from tests.support import PASSWORD, GraphQLClient, new_id_number

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def traced_server(settings, urls):
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    server, thread, url = start_server(replace(settings, tracing=True), urls)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_a_request_is_traced_without_any_id_number(traced_server, county_a):
    client = GraphQLClient(traced_server)
    token = client.login(county_a.code, "admin", PASSWORD)
    number = new_id_number()
    EXPORTER.clear()
    body = client.gql(f'query Lookup {{ person(idNumber: "{number}") {{ name }} }}', {}, token)
    assert "errors" not in body or body["errors"]
    spans = EXPORTER.get_finished_spans()
    names = {s.name for s in spans}
    assert any(name.startswith("GraphQL Query") for name in names), names
    assert any(s.attributes.get("db.statement") for s in spans), names  # SQLAlchemy's statements
    assert any(s.kind == trace.SpanKind.SERVER and s.attributes.get("http.method") in ("POST", None) for s in spans)
    dumped = json.dumps([{"name": s.name, "attributes": dict(s.attributes)} for s in spans], ensure_ascii=False)
    assert number not in dumped and number[:6] + "********" in dumped


def test_off_unless_otel_variables_ask(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().tracing is False
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert load_settings().tracing is True
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert load_settings().tracing is False
