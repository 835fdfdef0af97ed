"""What the app factory adds for observability, from the settings, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar.middleware import DefineMiddleware

from megadesk_core.observability import metrics, tracing
from megadesk_core.observability.logs import log_output
from megadesk_core.observability.middleware import RequestContextMiddleware
from megadesk_core.outbound import OutboundHTTP

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from megadesk_core.settings import Settings


@dataclass(frozen=True)
class Instrumentation:
    route_handlers: list[Any] = field(default_factory=list)
    middleware: list[Any] = field(default_factory=list)
    plugins: list[Any] = field(default_factory=list)
    logging: dict[str, Any] = field(default_factory=dict)
    """``formatters``, ``filters`` and ``handlers`` for Litestar's ``LoggingConfig``."""


def instrument(
    settings: Settings, outbound: OutboundHTTP, *, tracer_provider: TracerProvider | None = None
) -> Instrumentation:
    """Count every upstream call (always: a counter is cheap), serve ``/metrics`` when a token is
    set, bind each request's id and context, and trace when configured."""
    metrics.configure(tenant_labels=settings.metrics_tenant_labels)
    outbound.add_observer(metrics.UpstreamMetrics())
    middleware: list[Any] = [
        DefineMiddleware(RequestContextMiddleware, log_access=settings.log_format == "json"),
    ]
    route_handlers: list[Any] = []
    if settings.metrics_token is not None:
        from megadesk_core.observability.endpoint import MetricsController, http_metrics_config

        route_handlers.append(MetricsController)
        middleware.insert(0, http_metrics_config().middleware)
    plugins: list[Any] = []
    provider = tracing.configure(settings, tracer_provider)
    if provider is not None:
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

        plugins.append(
            OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider, exclude=tracing.UNTRACED_PATHS))
        )
        observer = tracing.outbound_observer()
        if observer is not None:
            outbound.add_observer(observer)
    return Instrumentation(route_handlers, middleware, plugins, log_output(settings.log_format))
