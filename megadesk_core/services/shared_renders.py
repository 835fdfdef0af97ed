"""Which panel to serve: kept, stale, shared or new.

Every panel request goes through :meth:`SharedRenders.serve`:

* a kept panel younger than ``MEGADESK_PANEL_CACHE_SECONDS`` is served as it was stored;
* an older one (up to ``MEGADESK_PANEL_STALE_SECONDS`` more) is served at once, marked with its
  age, while one background render refreshes it;
* otherwise (or on the agent's Reload) the panel is rendered: concurrent requests for the same
  panel share one render, in this process (:class:`~megadesk_core.single_flight.SingleFlight`)
  and across processes (the Redis cache's lease);
* a render that fails because the upstream did (timeout, 429, 5xx) or because the host's request
  budget for it is spent gives way to the last good panel, marked, when there is one.

An action bumps the panel's generation (:mod:`megadesk_core.panel_cache`), so the panels it
changed are not found any more, stale or not: a refunded payment never shows its Refund button
again because Stripe failed right after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from cachetools import TTLCache

from megadesk_core.observability import metrics
from megadesk_core.panel import StaleNotice
from megadesk_core.panel_cache import Lease, PanelCache, StoredPanel
from megadesk_core.single_flight import SingleFlight

log = logging.getLogger(__name__)

StaleReason = Literal["refreshing", "upstream_unavailable", "busy"]
UPSTREAM_FAILURES = frozenset({"timeout", "rate_limited", "upstream_unavailable"})
"""Error codes that mean "the upstream failed now", not "this panel is wrong"."""
BUSY = "upstream_busy"
"""The error code of a panel whose render the request budget held back."""
RETRY_FAILED_REFRESH_SECONDS = 5.0
"""After a failed background refresh, stale serves wait this long before trying again."""


@dataclass
class SharedRenders:
    """One app's panel cache, its running renders and its background refreshes."""

    cache: PanelCache
    render_timeout: float
    flights: SingleFlight[StoredPanel] = field(default_factory=SingleFlight)
    background: set[asyncio.Task[StoredPanel]] = field(default_factory=set)
    failed_refreshes: TTLCache[str, StaleReason] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=RETRY_FAILED_REFRESH_SECONDS)
    )
    changes: dict[tuple[str, str], int] = field(default_factory=dict)
    """Upstream changes heard of, per tenant and integration: part of each flight's name, so a
    request after a change never joins a render that began before it."""

    def note_change(self, tenant_id: str, integration: str) -> None:
        self.changes[(tenant_id, integration)] = self.changes.get((tenant_id, integration), 0) + 1

    def flight(self, tenant_id: str, integration: str, key: str) -> str:
        """What names one panel's render among this process's running renders."""
        return f"{tenant_id}:{integration}:{self.changes.get((tenant_id, integration), 0)}:{key}"

    async def serve(
        self,
        key: str | None,
        flight: str,
        integration: str,
        title: str,
        render: Callable[[], Awaitable[StoredPanel]],
        *,
        fresh: bool = False,
    ) -> StoredPanel:
        """The panel to serve. ``key``: its cache key (``None``: the cache is unavailable now);
        ``flight``: what identifies the same render in this process; ``fresh``: the agent's
        Reload (never the kept panel, unless the upstream fails)."""
        kept = await self.cache.get(key) if key is not None else None
        if kept is not None and not fresh:
            age = self.age_of(kept)
            if age == "fresh":
                metrics.panel_cache_event(integration, "hit")
                return kept
            if age == "stale":
                reason = self.failed_refreshes.get(flight)
                if reason is None:
                    self._refresh(key, flight, render)
                metrics.panel_cache_event(integration, "stale")
                return with_stale_notice(kept, title, reason or "refreshing")
        result, joined = await self.flights.run(flight, lambda: self._render(key, render))
        metrics.panel_cache_event(integration, "join" if joined else "miss")
        reason = stale_reason(result)
        if reason is not None and kept is not None:
            metrics.panel_cache_event(integration, "stale")
            return with_stale_notice(kept, title, reason)
        return result

    def age_of(self, kept: StoredPanel) -> Literal["fresh", "stale", "expired"]:
        """Within the fresh time, within the stale time after it, or past both."""
        age = kept.age()
        if age <= self.cache.fresh_seconds:
            return "fresh"
        return "stale" if age <= self.cache.fresh_seconds + self.cache.stale_seconds else "expired"

    async def kept(self, key: str, flight: str, integration: str) -> StoredPanel | None:
        """The kept panel if it can be served without starting anything: fresh, or stale while
        its refresh already runs here (marked); ``None`` otherwise (:meth:`serve` decides)."""
        kept = await self.cache.get(key)
        if kept is None:
            return None
        age = self.age_of(kept)
        if age == "fresh":
            metrics.panel_cache_event(integration, "hit")
            return kept
        if age == "stale" and self.flights.running(flight):
            metrics.panel_cache_event(integration, "stale")
            return with_stale_notice(kept, kept.title, self.failed_refreshes.get(flight) or "refreshing")
        return None

    def _refresh(self, key: str | None, flight: str, render: Callable[[], Awaitable[StoredPanel]]) -> None:
        if self.flights.running(flight):
            return
        task, _joined = self.flights.start(flight, lambda: self._render(key, render))
        self.background.add(task)

        def done(finished: asyncio.Task[StoredPanel]) -> None:
            self.background.discard(finished)
            if finished.cancelled() or finished.exception() is not None:
                return
            reason = stale_reason(finished.result())
            if reason is not None:
                self.failed_refreshes[flight] = reason

        task.add_done_callback(done)

    async def _render(self, key: str | None, render: Callable[[], Awaitable[StoredPanel]]) -> StoredPanel:
        lease = Lease(key=key or "", flight="", leader=True)
        if key is not None and self.cache.shared:
            lease = await self.cache.lease(key, self.render_timeout + 1)
            if not lease.leader:
                result = await self.cache.wait(lease, self.render_timeout + 1)
                if result is not None:
                    return result
                # The leader vanished (its process died): render here.
        started_at = time.time()
        result = await render()
        if key is not None:
            await self.cache.put(key, result, started_at=started_at)
            await self.cache.finish(lease, result)
        return result

    async def close(self) -> None:
        """Stop the background refreshes (the app is stopping)."""
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)


def stale_reason(panel: StoredPanel) -> StaleReason | None:
    """Why a kept panel should be served instead of ``panel``, if it should."""
    if panel.status != "error":
        return None
    code = panel.error_code
    if code == BUSY:
        return "busy"
    return "upstream_unavailable" if code in UPSTREAM_FAILURES else None


def with_stale_notice(kept: StoredPanel, title: str, reason: StaleReason, *, now: float | None = None) -> StoredPanel:
    age = kept.age(now if now is not None else time.time())
    messages = {
        "refreshing": f"Updated {_ago(age)}; refreshing.",
        "upstream_unavailable": f"{title} did not answer; showing what it said {_ago(age)}.",
        "busy": f"{title} is busy; showing what it said {_ago(age)}.",
    }
    notice = StaleNotice(age_seconds=int(age), reason=reason, message=messages[reason])
    panel = kept.panel().model_copy(update={"stale": notice})
    return replace(StoredPanel.of(panel, rendered_at=kept.rendered_at, include_stale=True), objects=kept.objects)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} s ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    return f"{round(seconds / 3600)} h ago"
