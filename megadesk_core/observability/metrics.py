"""The host's Prometheus instruments, and the small typed API the host's code calls.

Served with Litestar's own HTTP metrics (``megadesk_http_*``) on ``GET /metrics``
(:mod:`~megadesk_core.observability.endpoint`). Labels are bounded and carry no secret, email
or ticket id: integration and action names come from the installed plugins, endpoints are
path templates (ids replaced by ``{id}``), statuses and outcomes are short fixed words. The
``tenant`` label is empty unless ``MEGADESK_METRICS_TENANT_LABELS`` allows some tenants their
own (the first ones seen, by slug; the others are ``other``).

Calls are cheap and never raise into the request: a counter increment under a lock.
"""

from __future__ import annotations

import threading
from typing import Literal

from prometheus_client import Counter, Histogram

from megadesk_core.observability.context import current_tenant
from megadesk_core.outbound.observer import OutboundCall

PanelCacheEvent = Literal["hit", "miss", "stale", "join"]
"""``hit``: a fresh cached panel; ``miss``: rendered because nothing usable was cached;
``stale``: an expired panel served while it is refreshed (stale-while-revalidate, or upstream
failing); ``join``: a render shared with one already in flight (single-flight)."""

BudgetOutcome = Literal["allowed", "refused"]
"""An upstream request that fits the tenant's request budget, or one refused for being over it."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OTHER_TENANTS = "other"

SIDEBAR_SECONDS = Histogram(
    "megadesk_sidebar_seconds",
    "Time to build one ticket's sidebar: every enabled integration's panel, cached or rendered.",
    ["tenant"],
    buckets=LATENCY_BUCKETS,
)
PANEL_SECONDS = Histogram(
    "megadesk_panel_seconds",
    "Time one integration took to render a panel (cache hits are not renders), by panel status.",
    ["integration", "status", "tenant"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_REQUESTS = Counter(
    "megadesk_upstream_requests",
    "Upstream request attempts through the host's outbound layer (a retry is another attempt), "
    "by integration, endpoint ('METHOD /path/{id}') and status ('none': no response).",
    ["integration", "endpoint", "status", "tenant"],
)
UPSTREAM_SECONDS = Histogram(
    "megadesk_upstream_request_seconds",
    "Time of one upstream request attempt, by integration.",
    ["integration", "tenant"],
    buckets=LATENCY_BUCKETS,
)
PANEL_CACHE_EVENTS = Counter(
    "megadesk_panel_cache_events",
    "Panel cache lookups by outcome: hit, miss, stale (served while refreshed), join (shared an in-flight render).",
    ["integration", "event", "tenant"],
)
ACTIONS = Counter(
    "megadesk_actions",
    "Action attempts by outcome, as audited (succeeded, refused, failed, error, invalid, replayed, ...).",
    ["integration", "action", "outcome", "tenant"],
)
REQUEST_BUDGET = Counter(
    "megadesk_request_budget",
    "Upstream requests checked against the tenant's request budget: allowed or refused.",
    ["integration", "outcome", "tenant"],
)


class TenantLabels:
    """At most ``limit`` tenants get their own label value (first seen, first served)."""

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit
        self._labelled: set[str] = set()
        self._lock = threading.Lock()

    def label(self, tenant: str | None) -> str:
        if self.limit == 0 or tenant is None:
            return ""
        if tenant in self._labelled:
            return tenant
        with self._lock:
            if len(self._labelled) < self.limit:
                self._labelled.add(tenant)
                return tenant
        return OTHER_TENANTS


_tenants = TenantLabels()


def configure(*, tenant_labels: int) -> None:
    """How many tenants get their own ``tenant`` label (``MEGADESK_METRICS_TENANT_LABELS``)."""
    global _tenants
    _tenants = TenantLabels(tenant_labels)


def _tenant() -> str:
    return _tenants.label(current_tenant())


def sidebar_built(seconds: float) -> None:
    SIDEBAR_SECONDS.labels(_tenant()).observe(seconds)


def panel_rendered(integration: str, status: str, seconds: float) -> None:
    PANEL_SECONDS.labels(integration, status, _tenant()).observe(seconds)


def panel_cache_event(integration: str, event: PanelCacheEvent) -> None:
    PANEL_CACHE_EVENTS.labels(integration, event, _tenant()).inc()


def action_outcome(integration: str, action: str, outcome: str) -> None:
    ACTIONS.labels(integration, action, outcome, _tenant()).inc()


def budget_use(integration: str, outcome: BudgetOutcome) -> None:
    REQUEST_BUDGET.labels(integration, outcome, _tenant()).inc()


class UpstreamMetrics:
    """The outbound layer's observer that counts every upstream attempt (all plugins' calls)."""

    def before(self, call: OutboundCall) -> None:
        pass

    def after(self, call: OutboundCall, status: int | None, duration: float) -> None:
        tenant = _tenant()
        endpoint = f"{call.method} {call.path}"
        UPSTREAM_REQUESTS.labels(
            call.integration, endpoint, str(status) if status is not None else "none", tenant
        ).inc()
        UPSTREAM_SECONDS.labels(call.integration, tenant).observe(duration)
