"""OpenTelemetry: a Stripe call made while rendering a sidebar is a span under that sidebar's
request span (through the panel's span), and nothing is traced when tracing is off."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from litestar import Litestar
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from stripe_emulator.server import EmulatorHandle
from stripe_on_the_emulator import *  # noqa: F403 (its fixtures)

from megadesk_core.app import create_app
from megadesk_core.observability import tracing
from megadesk_core.observability.logs import JsonFormatter, RequestContextFilter
from megadesk_core.observability.tracing import TracingObserver
from megadesk_core.testing import TenantClient


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def megadesk_app(megadesk_settings, megadesk_registry, exporter: InMemorySpanExporter) -> Iterator[Litestar]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = megadesk_settings.model_copy(update={"otel_enabled": True})
    yield create_app(settings, registry=megadesk_registry, tracer_provider=provider)
    tracing.configure(megadesk_settings)  # off again for the tests that follow


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_a_stripe_call_is_a_span_under_the_sidebars_span(
    megadesk_configured_tenant: TenantClient, exporter: InMemorySpanExporter, emulator: EmulatorHandle
) -> None:
    assert emulator.demo is not None
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(data={"customerId": emulator.demo.ada.id})
    exporter.clear()  # the settings check and the ticket upsert are not this trace
    customer_calls = {"integration": "stripe", "endpoint": "GET /v1/customers/{id}", "status": "200", "tenant": ""}
    counted_before = REGISTRY.get_sample_value("megadesk_upstream_requests_total", customer_calls) or 0

    (panel,) = (await tenant.sidebar(ticket))["panels"]
    assert panel["status"] == "ok", panel

    # Counted on the outbound layer too, by endpoint template (no customer id in a label).
    assert (REGISTRY.get_sample_value("megadesk_upstream_requests_total", customer_calls) or 0) > counted_before

    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "GET /api/v1/tickets/{ticket_id}/sidebar"  # the route, not the ticket id
    stripe_calls = [
        s for s in spans if s.kind == SpanKind.CLIENT and s.attributes.get("megadesk.integration") == "stripe"
    ]
    assert stripe_calls, [s.name for s in spans]
    assert "GET /v1/customers/{id}" in {s.name for s in stripe_calls}
    exporter.clear()
    assert (await tenant.client.get("/healthz")).status_code == 200
    assert exporter.get_finished_spans() == ()  # probes are not traced

    for call in stripe_calls:
        chain = _ancestors(call, by_id)
        assert [s.name for s in chain] == ["megadesk.panel", server.name]
        assert chain[0].attributes["megadesk.integration"] == "stripe"
        assert call.context.trace_id == server.context.trace_id
        assert call.attributes["http.response.status_code"] == 200
        assert emulator.demo.ada.id not in call.name and "sk_" not in str(dict(call.attributes))


def test_tracing_is_off_by_default(megadesk_settings, megadesk_registry) -> None:
    app = create_app(megadesk_settings, registry=megadesk_registry)
    assert not tracing.enabled()
    assert not any(isinstance(o, TracingObserver) for o in app.state["host"].outbound.observers)
    assert "OpenTelemetryPlugin" not in {type(p).__name__ for p in app.plugins}
    assert "OpenTelemetryPlugin" in {
        type(p).__name__
        for p in create_app(
            megadesk_settings.model_copy(update={"otel_enabled": True}),
            registry=megadesk_registry,
            tracer_provider=TracerProvider(),
        ).plugins
    }
    tracing.configure(megadesk_settings)
    with tracing.span("megadesk.panel", {"megadesk.integration": "x"}) as span:
        span.set_attribute("ignored", True)  # a no-op span: nothing to export, nothing imported


def test_without_a_provider_the_host_sets_up_otlp_export_as_the_environment_says(tmp_path) -> None:
    """In a fresh interpreter: the global provider is set once, named by OTEL_SERVICE_NAME."""
    script = """
from opentelemetry import trace
from megadesk_core.observability import tracing
from megadesk_core.settings import Settings

settings = Settings(_env_file=None, otel_enabled=True)
provider = tracing.configure(settings)
assert provider is trace.get_tracer_provider(), provider
assert provider.resource.attributes["service.name"] == "megadesk-eu-1"
assert tracing.configure(settings) is provider  # a second app reuses it
print("ok")
"""
    env = {**os.environ, "OTEL_SERVICE_NAME": "megadesk-eu-1", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_log_lines_carry_the_trace_id_while_tracing(megadesk_settings) -> None:
    provider = TracerProvider()
    tracing.configure(megadesk_settings.model_copy(update={"otel_enabled": True}), provider)
    try:
        with tracing.span("megadesk.panel", {"megadesk.integration": "sample"}):
            record = logging.LogRecord("x", logging.INFO, __file__, 1, "inside", None, None)
            RequestContextFilter().filter(record)
            expected = f"{trace.get_current_span().get_span_context().trace_id:032x}"
        assert json.loads(JsonFormatter().format(record))["trace_id"] == expected
    finally:
        tracing.configure(megadesk_settings)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "after", None, None)
    RequestContextFilter().filter(outside)
    assert "trace_id" not in json.loads(JsonFormatter().format(outside))
