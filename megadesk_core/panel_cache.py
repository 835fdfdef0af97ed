"""A short-lived panel cache shared by every app process, in Redis (optional).

Opening the same ticket from several agents' screens, or reopening it, would otherwise call
the upstream API (e.g. Stripe, with its per-account rate limit) each time. With
``MEGADESK_REDIS_URL`` set, rendered panels are kept for ``MEGADESK_PANEL_CACHE_SECONDS``.
Correctness after a change made through Megadesk: every action bumps a per-tenant,
per-integration generation number, which is part of every cache key, so all processes stop
serving the old panels at once; a settings change or a ticket upsert changes the key by itself
(the rows' ``updated_at`` is part of it). The key is fixed before rendering starts, so a render
that began before an action can only store its result under the old generation, never over
the fresh one. Error panels are never cached; an entry that does not parse (written by another
release) is a miss. Without Redis there is no cache (a per-process cache would show different
states behind a load balancer).
"""

from __future__ import annotations

import logging
from typing import Protocol

from megadesk_core.panel import PANEL_SCHEMA_VERSION, SidebarPanel
from megadesk_core.redis_health import OutageLog

log = logging.getLogger(__name__)


CACHE_FORMAT = f"p{PANEL_SCHEMA_VERSION}"
"""Part of every key: another release's entries are never read."""


class PanelCache(Protocol):
    async def key(self, tenant_id: str, integration: str, fingerprint: str) -> str | None:
        """The cache key for a panel as of now (``None``: no cache); fix it before rendering."""
        ...

    async def get(self, key: str) -> SidebarPanel | None: ...
    async def put(self, key: str, panel: SidebarPanel) -> None: ...
    async def invalidate(self, tenant_id: str, integration: str) -> None: ...
    async def close(self) -> None: ...


class NoPanelCache:
    async def key(self, tenant_id: str, integration: str, fingerprint: str) -> str | None:
        return None

    async def get(self, key: str) -> SidebarPanel | None:
        return None

    async def put(self, key: str, panel: SidebarPanel) -> None:
        return None

    async def invalidate(self, tenant_id: str, integration: str) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisPanelCache:
    """Panels in Redis. A Redis failure degrades to "no cache" for that call, never to an error:
    an action that succeeded upstream must not look failed because Redis blinked."""

    def __init__(self, url: str, ttl_seconds: float, prefix: str = "megadesk") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._ttl_ms = int(ttl_seconds * 1000)
        self._prefix = f"{prefix}:{CACHE_FORMAT}"
        self._outage = OutageLog(
            log,
            "panel cache",
            f"panels render without the cache and may be stale for up to {self._ttl_ms} ms after actions",
        )

    def _generation_key(self, tenant_id: str, integration: str) -> str:
        return f"{self._prefix}:panel-gen:{tenant_id}:{integration}"

    async def key(self, tenant_id: str, integration: str, fingerprint: str) -> str | None:
        try:
            generation = await self._redis.get(self._generation_key(tenant_id, integration))
        except Exception as exc:
            self._outage.failed(exc)
            return None
        self._outage.succeeded()
        gen = generation.decode() if isinstance(generation, bytes) else "0"
        return f"{self._prefix}:panel:{tenant_id}:{integration}:{gen}:{fingerprint}"

    async def get(self, key: str) -> SidebarPanel | None:
        try:
            raw = await self._redis.get(key)
        except Exception as exc:
            self._outage.failed(exc)
            return None
        self._outage.succeeded()
        try:
            return SidebarPanel.model_validate_json(raw) if raw else None
        except ValueError:
            log.warning("panel cache entry %s does not parse; rendering instead", key)
            return None

    async def put(self, key: str, panel: SidebarPanel) -> None:
        if panel.status == "error":
            return
        try:
            await self._redis.set(key, panel.model_dump_json(), px=self._ttl_ms)
        except Exception as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()

    async def invalidate(self, tenant_id: str, integration: str) -> None:
        try:
            await self._redis.incr(self._generation_key(tenant_id, integration))
        except Exception as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()

    async def close(self) -> None:
        await self._redis.aclose()


def make_panel_cache(redis_url: str | None, ttl_seconds: float) -> PanelCache:
    if not redis_url or ttl_seconds <= 0:
        return NoPanelCache()
    return RedisPanelCache(redis_url, ttl_seconds)
