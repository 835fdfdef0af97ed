"""``GET /metrics``: Prometheus text, behind its own bearer token (``MEGADESK_METRICS_TOKEN``).

The metrics cover every tenant, so no tenant's admin token opens them: the scraper gets a token
of its own from the operator. Unset, there is no endpoint (404) and no HTTP middleware.
With several worker processes each has its own counters: set ``PROMETHEUS_MULTIPROC_DIR``
(prometheus_client's multiprocess mode, which Litestar's controller reads) to scrape them all.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from megadesk_core.errors import RequestError

METRICS_PATH = "/metrics"


def require_metrics_token(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    expected = connection.app.state["host"].settings.metrics_token
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode())
    ):
        raise RequestError(
            401,
            "unauthenticated",
            "The metrics token is required: send 'Authorization: Bearer <MEGADESK_METRICS_TOKEN>'.",
            headers={"WWW-Authenticate": 'Bearer realm="megadesk-metrics"'},
        )


class MetricsController(PrometheusController):
    path = METRICS_PATH
    guards = [require_metrics_token]
    include_in_schema = False


def http_metrics_config() -> PrometheusConfig:
    """Litestar's request metrics (``megadesk_http_*``), labelled by route template (never the
    raw path, which holds ticket ids); requests no route matched are left out."""
    return PrometheusConfig(
        app_name="megadesk",
        prefix="megadesk_http",
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=[METRICS_PATH],
    )
