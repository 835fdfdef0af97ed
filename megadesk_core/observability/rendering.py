"""A panel render, timed and traced: what :mod:`megadesk_core.services.sidebar` wraps each
render in, so that the rendering code says what it does and not how it is observed."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from megadesk_core.observability import metrics, tracing
from megadesk_core.observability.context import integration_scope
from megadesk_core.panel import SidebarPanel


async def observed_panel(integration: str, render: Callable[[], Awaitable[SidebarPanel]]) -> SidebarPanel:
    """Render one integration's panel as its own span, logged with its integration, timed by status."""
    with integration_scope(integration), tracing.span("megadesk.panel", {"megadesk.integration": integration}) as span:
        started = time.perf_counter()
        panel = await render()
        metrics.panel_rendered(integration, panel.status, time.perf_counter() - started)
        span.set_attribute("megadesk.panel.status", panel.status)
        return panel
