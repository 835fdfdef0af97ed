"""OpenTelemetry traces, when configured (``MEGADESK_OTEL_ENABLED=true``); off and costless
otherwise: nothing here imports OpenTelemetry until :func:`configure` is asked to trace.

What a trace holds: Litestar's server span per request (renamed to its route template, so no
ticket id is in a span name), a ``megadesk.panel`` span per integration rendered, and a client
span per upstream attempt made through the host's outbound layer
(:class:`~megadesk_core.outbound.OutboundObserver`), so one slow Stripe call shows under the
sidebar request that waited for it. Spans carry no header, query string or body.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from megadesk_core.outbound.observer import OutboundCall

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from megadesk_core.settings import Settings

TRACER_NAME = "megadesk_core"
UNTRACED_PATHS = ["/healthz", "/readyz", "/metrics"]
"""Probes and scrapes: frequent, and of no interest in a trace."""

_tracer: Tracer | None = None


class SpanLike(Protocol):
    def set_attribute(self, key: str, value: str | int | float | bool) -> None: ...


class _NoSpan:
    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        return None


_NO_SPAN = _NoSpan()


def configure(settings: Settings, tracer_provider: TracerProvider | None = None) -> TracerProvider | None:
    """Start tracing for the app being built, or stop it when the settings say off. Returns the
    provider the app's instrumentation uses (``None``: off).

    ``tracer_provider``: one the caller built (tests: an in-memory exporter). Otherwise the
    process's global provider if something set one (``opentelemetry-instrument``), else a new
    one exporting over OTLP/HTTP, configured by the standard ``OTEL_*`` environment
    (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``...), made global.
    """
    global _tracer
    if not settings.otel_enabled:
        _tracer = None
        return None
    provider = tracer_provider or _process_provider()
    _tracer = provider.get_tracer(TRACER_NAME)
    return provider


def _process_provider() -> TracerProvider:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        return current
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "megadesk"}))
    provider = SdkTracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def enabled() -> bool:
    return _tracer is not None


@contextmanager
def span(name: str, attributes: Mapping[str, str | int | float | bool]) -> Iterator[SpanLike]:
    """A child span of the current one while tracing; otherwise nothing at all."""
    if _tracer is None:
        yield _NO_SPAN
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def name_server_span(method: str, route: str, request_id: str) -> None:
    """Name the request's span after its route template (not its path, which holds ticket ids)."""
    if _tracer is None:
        return
    from opentelemetry import trace

    current = trace.get_current_span()
    if current.is_recording():
        current.update_name(f"{method} {route}")
        current.set_attribute("http.route", route)
        current.set_attribute("megadesk.request_id", request_id)


def current_trace_id() -> str | None:
    """The current trace's id (32 hex characters) for log lines, while tracing."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def outbound_observer() -> TracingObserver | None:
    """An observer making a client span of every upstream attempt, while tracing."""
    return TracingObserver(_tracer) if _tracer is not None else None


class TracingObserver:
    """A client span per upstream attempt, child of whatever span is current (the panel's)."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._spans: dict[int, Span] = {}  # by id(call): before() and after() get the same object

    def before(self, call: OutboundCall) -> None:
        from opentelemetry.trace import SpanKind

        attributes: dict[str, Any] = {
            "http.request.method": call.method,
            "server.address": call.host,
            "url.template": call.path,
            "megadesk.integration": call.integration,
            "megadesk.attempt": call.attempt,
        }
        self._spans[id(call)] = self._tracer.start_span(
            f"{call.method} {call.path}", kind=SpanKind.CLIENT, attributes=attributes
        )

    def after(self, call: OutboundCall, status: int | None, duration: float) -> None:
        from opentelemetry.trace import StatusCode

        current = self._spans.pop(id(call), None)
        if current is None:
            return
        if status is None:
            current.set_status(StatusCode.ERROR, "no response")
        else:
            current.set_attribute("http.response.status_code", status)
            if status >= 500:
                current.set_status(StatusCode.ERROR)
        current.end()
