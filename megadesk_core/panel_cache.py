"""Where rendered panels are kept: in this process (the default) or in Redis (shared).

Opening the same ticket from several agents' screens, or reopening it, would otherwise call the
upstream API (Stripe, with its per-account rate limit) each time. A panel is kept as the JSON
the API serves, with the time it was rendered: fresh for ``MEGADESK_PANEL_CACHE_SECONDS``, then
*stale* (served at once while one render refreshes it, or when the upstream fails) for
``MEGADESK_PANEL_STALE_SECONDS`` more, then gone. What to serve when is decided by the renderer
(:mod:`megadesk_core.services.sidebar`); this module only stores.

Correctness after a change made through Megadesk: every action bumps a per-tenant,
per-integration generation number, which is part of every cache key, so every process stops
serving the old panels at once, stale ones included; a settings change or a ticket upsert
changes the key by itself (the rows' ``updated_at`` is part of it). The key is fixed before
rendering starts, so a render that began before an action can only store its result under the
old generation, never over the fresh one. Error panels are never kept; an entry that does not
parse (another release's) is a miss.

Correctness after a change made outside Megadesk (a refund in the Stripe dashboard): a panel
names the upstream objects it shows (``Panel.objects``); the cache indexes kept panels by
tenant, integration and object id, and :meth:`PanelCache.invalidate_objects` (called when the
plugin's webhook reports a change) deletes exactly the panels that show a changed object, fresh
and stale alike, and remembers when: a render that started before that moment does not store
its (possibly older) result.

Without Redis the store is this process's memory (bounded, least recently used out first):
right for the embedded default, one process (``megadesk serve --workers N`` requires Redis).
With Redis, concurrent renders of one panel in several processes share one render through a
short lease (:meth:`RedisPanelCache.lease`); a Redis failure degrades that call to this
process alone, never to an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache

from megadesk_core.panel import PANEL_SCHEMA_VERSION, SidebarPanel
from megadesk_core.redis_health import OutageLog

log = logging.getLogger(__name__)


CACHE_FORMAT = f"p{PANEL_SCHEMA_VERSION}"
"""Part of every key: another release's entries are never read."""
MEMORY_ENTRIES = 10_000
"""Panels one process keeps without Redis (a few KiB each)."""
FLIGHT_RESULT_SECONDS = 10.0
"""How long a leader's result stays readable by the processes that waited for it."""
FOLLOWER_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class StoredPanel:
    """A rendered panel as kept: the JSON the API serves, and when it was rendered."""

    integration: str
    title: str
    body: str
    """:class:`SidebarPanel` JSON, without a stale notice."""
    rendered_at: float
    """Seconds since the epoch (comparable across processes)."""
    status: str = "ok"
    error_code: str | None = None
    objects: tuple[str, ...] = ()
    """The upstream object ids the panel shows (``Panel.objects``; not in ``body``)."""

    @classmethod
    def of(cls, panel: SidebarPanel, *, rendered_at: float | None = None, include_stale: bool = False) -> StoredPanel:
        return cls(
            integration=panel.integration,
            title=panel.title,
            body=panel.model_dump_json(exclude=None if include_stale else {"stale"}),
            rendered_at=time.time() if rendered_at is None else rendered_at,
            status=panel.status,
            error_code=panel.error.code if panel.error is not None else None,
            objects=tuple(dict.fromkeys(panel.objects)),
        )

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.rendered_at)

    def panel(self) -> SidebarPanel:
        return SidebarPanel.model_validate_json(self.body)

    def encode(self) -> bytes:
        # One header line (JSON, so a title's newline is escaped), then the body as served.
        header = json.dumps(
            [self.rendered_at, self.integration, self.title, self.status, self.error_code, list(self.objects)]
        )
        return f"{header}\n{self.body}".encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> StoredPanel | None:
        text = raw.decode() if isinstance(raw, bytes) else raw
        header, sep, body = text.partition("\n")
        try:
            rendered_at, integration, title, status, error_code, *rest = json.loads(header)
            if not sep or not all(isinstance(text, str) for text in (integration, title, status)):
                return None
            objects = rest[0] if rest and isinstance(rest[0], list) else []
            return cls(
                integration=integration,
                title=title,
                body=body,
                rendered_at=float(rendered_at),
                status=status,
                error_code=error_code if isinstance(error_code, str) else None,
                objects=tuple(item for item in objects if isinstance(item, str)),
            )
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Lease:
    """The right to render one panel for every process (``leader``), or the flight to wait for."""

    key: str
    flight: str
    leader: bool


class PanelCache(Protocol):
    fresh_seconds: float
    stale_seconds: float
    shared: bool
    """Whether other processes see this cache (Redis)."""

    async def key(self, tenant_id: str, integration: str, fingerprint: str) -> str | None:
        """The cache key for a panel as of now (``None``: no cache for this call); fix it before
        rendering."""
        ...

    async def get(self, key: str) -> StoredPanel | None: ...
    async def put(self, key: str, panel: StoredPanel, *, started_at: float | None = None) -> None:
        """Keep ``panel`` (never an error panel) for its fresh and stale time, unless one of its
        objects was invalidated at or after ``started_at`` (when its render began)."""
        ...

    async def invalidate(self, tenant_id: str, integration: str) -> None: ...
    async def invalidate_objects(self, tenant_id: str, integration: str, object_ids: Sequence[str]) -> int:
        """Delete the kept panels of ``integration`` that show one of ``object_ids``, in every
        process; returns how many were deleted."""
        ...

    async def lease(self, key: str, seconds: float) -> Lease:
        """Lead the render of ``key`` for every process, or learn which render to wait for."""
        ...

    async def finish(self, lease: Lease, body: StoredPanel) -> None:
        """The leader's result (an error panel too) for its followers; releases the lease."""
        ...

    async def wait(self, lease: Lease, seconds: float) -> StoredPanel | None:
        """A follower's wait for the leader's result; ``None`` if the leader vanished."""
        ...

    async def close(self) -> None: ...


class MemoryPanelCache:
    """This process's panels (the default without Redis)."""

    shared = False

    def __init__(self, fresh_seconds: float, stale_seconds: float, *, max_entries: int = MEMORY_ENTRIES) -> None:
        self.fresh_seconds = fresh_seconds
        self.stale_seconds = stale_seconds
        self._panels: TTLCache[str, StoredPanel] = TTLCache(
            maxsize=max_entries, ttl=max(fresh_seconds + stale_seconds, 0.001), timer=time.time
        )
        self._generations: dict[tuple[str, str], int] = {}
        keep = max(fresh_seconds + stale_seconds, 0.001)
        self._by_object: TTLCache[tuple[str, str, str], set[str]] = TTLCache(
            maxsize=max_entries * 4, ttl=keep, timer=time.time
        )
        self._invalidated_at: TTLCache[tuple[str, str, str], float] = TTLCache(
            maxsize=max_entries * 4, ttl=keep, timer=time.time
        )

    async def key(self, tenant_id: str, integration: str, fingerprint: str) -> str | None:
        generation = self._generations.get((tenant_id, integration), 0)
        return f"{CACHE_FORMAT}:panel:{tenant_id}:{integration}:{generation}:{fingerprint}"

    async def get(self, key: str) -> StoredPanel | None:
        return self._panels.get(key)

    async def put(self, key: str, panel: StoredPanel, *, started_at: float | None = None) -> None:
        if self.fresh_seconds <= 0 or _is_error(panel):
            return
        scope = _scope_of(key)
        objects = [(*scope, object_id) for object_id in panel.objects] if scope else []
        if started_at is not None and any(self._invalidated_at.get(o, -1.0) >= started_at for o in objects):
            return  # rendered from data older than a change already reported
        self._panels[key] = panel
        for entry in objects:
            keys = self._by_object.get(entry) or set()
            keys.add(key)
            self._by_object[entry] = keys  # (re)set: the index lives as long as its newest panel

    async def invalidate(self, tenant_id: str, integration: str) -> None:
        self._generations[(tenant_id, integration)] = self._generations.get((tenant_id, integration), 0) + 1

    async def invalidate_objects(self, tenant_id: str, integration: str, object_ids: Sequence[str]) -> int:
        deleted = 0
        now = time.time()
        for object_id in object_ids:
            entry = (tenant_id, integration, object_id)
            self._invalidated_at[entry] = now
            for key in self._by_object.pop(entry, set()):
                deleted += self._panels.pop(key, None) is not None
        return deleted

    async def lease(self, key: str, seconds: float) -> Lease:
        # One process: its single-flight already made this the only render of the key.
        return Lease(key=key, flight="", leader=True)

    async def finish(self, lease: Lease, body: StoredPanel) -> None:
        return None

    async def wait(self, lease: Lease, seconds: float) -> StoredPanel | None:
        return None

    async def close(self) -> None:
        self._panels.clear()


_PUT = """
local started = tonumber(ARGV[3])
if started then
  for i = 2, #KEYS, 2 do
    local at = redis.call('get', KEYS[i + 1])
    if at and tonumber(at) >= started then return 0 end
  end
end
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
for i = 2, #KEYS, 2 do
  redis.call('sadd', KEYS[i], KEYS[1])
  redis.call('pexpire', KEYS[i], ARGV[2])
end
return 1
"""

_INVALIDATE_OBJECTS = """
local deleted = 0
for i = 1, #KEYS, 2 do
  for _, key in ipairs(redis.call('smembers', KEYS[i])) do deleted = deleted + redis.call('del', key) end
  redis.call('del', KEYS[i])
  redis.call('set', KEYS[i + 1], ARGV[1], 'px', ARGV[2])
end
return deleted
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisPanelCache:
    """Panels in Redis, shared by every process. A Redis failure degrades to "no cache" for that
    call, never to an error: an action that succeeded upstream must not look failed because
    Redis blinked."""

    shared = True

    def __init__(self, url: str, fresh_seconds: float, stale_seconds: float = 0.0, prefix: str = "megadesk") -> None:
        from redis.asyncio import Redis

        self.fresh_seconds = fresh_seconds
        self.stale_seconds = stale_seconds
        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._keep_ms = max(1, int((fresh_seconds + stale_seconds) * 1000))
        self._prefix = f"{prefix}:{CACHE_FORMAT}"
        self._outage = OutageLog(
            log,
            "panel cache",
            "panels render without the cache, each process on its own, until it answers again",
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

    async def get(self, key: str) -> StoredPanel | None:
        try:
            raw = await self._redis.get(key)
        except Exception as exc:
            self._outage.failed(exc)
            return None
        self._outage.succeeded()
        if not raw:
            return None
        stored = StoredPanel.decode(raw)
        if stored is None:
            log.warning("panel cache entry %s does not parse; rendering instead", key)
        return stored

    def _object_keys(self, tenant_id: str, integration: str, object_id: str) -> list[str]:
        """The set of panel keys that show the object, and when it was last invalidated."""
        base = f"{tenant_id}:{integration}:{object_id}"
        return [f"{self._prefix}:panel-obj:{base}", f"{self._prefix}:panel-obj-changed:{base}"]

    async def put(self, key: str, panel: StoredPanel, *, started_at: float | None = None) -> None:
        if self.fresh_seconds <= 0 or _is_error(panel):
            return
        scope = _scope_of(key, self._prefix)
        if scope is None or not panel.objects:
            await self._call(self._redis.set(key, panel.encode(), px=self._keep_ms))
            return
        keys = [key] + [k for object_id in panel.objects for k in self._object_keys(*scope, object_id)]
        started = "" if started_at is None else repr(started_at)
        await self._call(self._redis.eval(_PUT, len(keys), *keys, panel.encode(), self._keep_ms, started))

    async def invalidate(self, tenant_id: str, integration: str) -> None:
        await self._call(self._redis.incr(self._generation_key(tenant_id, integration)))

    async def invalidate_objects(self, tenant_id: str, integration: str, object_ids: Sequence[str]) -> int:
        if not object_ids:
            return 0
        unique = dict.fromkeys(object_ids)
        keys = [k for object_id in unique for k in self._object_keys(tenant_id, integration, object_id)]
        try:
            deleted = await self._redis.eval(_INVALIDATE_OBJECTS, len(keys), *keys, repr(time.time()), self._keep_ms)
        except Exception as exc:
            self._outage.failed(exc)
            return 0
        self._outage.succeeded()
        return int(deleted)

    async def lease(self, key: str, seconds: float) -> Lease:
        flight = uuid.uuid4().hex
        lease_key = f"{key}:lease"
        try:
            if await self._redis.set(lease_key, flight, nx=True, px=max(1, int(seconds * 1000))):
                return Lease(key=key, flight=flight, leader=True)
            holder = await self._redis.get(lease_key)
        except Exception as exc:
            self._outage.failed(exc)
            return Lease(key=key, flight="", leader=True)  # this process alone
        self._outage.succeeded()
        if holder is None:  # released between the two calls: the result is in the cache now
            return Lease(key=key, flight="", leader=False)
        return Lease(key=key, flight=holder.decode() if isinstance(holder, bytes) else str(holder), leader=False)

    async def finish(self, lease: Lease, body: StoredPanel) -> None:
        if not lease.leader or not lease.flight:
            return
        result_key = f"{self._prefix}:flight:{lease.flight}"
        await self._call(self._redis.set(result_key, body.encode(), px=int(FLIGHT_RESULT_SECONDS * 1000)))
        await self._call(self._redis.eval(_RELEASE, 1, f"{lease.key}:lease", lease.flight))

    async def wait(self, lease: Lease, seconds: float) -> StoredPanel | None:
        if not lease.flight:
            return await self.get(lease.key)
        result_key = f"{self._prefix}:flight:{lease.flight}"
        lease_key = f"{lease.key}:lease"
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                raw, holder = await self._redis.mget(result_key, lease_key)
                if raw:
                    return StoredPanel.decode(raw)
                if holder is None or (holder.decode() if isinstance(holder, bytes) else holder) != lease.flight:
                    # The leader released (its result may have just landed) or died.
                    raw = await self._redis.get(result_key)
                    return StoredPanel.decode(raw) if raw else None
                await asyncio.sleep(FOLLOWER_POLL_SECONDS)
        except Exception as exc:
            self._outage.failed(exc)
        return None

    async def _call(self, command: object) -> None:
        try:
            await command  # type: ignore[misc]
        except Exception as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()

    async def close(self) -> None:
        await self._redis.aclose()


def _is_error(panel: StoredPanel) -> bool:
    return panel.status == "error"


def _scope_of(key: str, prefix: str = CACHE_FORMAT) -> tuple[str, str] | None:
    """The tenant and integration of a panel key this module made (ids and names have no ``:``)."""
    head = f"{prefix}:panel:"
    if not key.startswith(head):
        return None
    tenant_id, integration, *_rest = key[len(head) :].split(":", 2)
    return (tenant_id, integration) if _rest else None


def make_panel_cache(redis_url: str | None, fresh_seconds: float, stale_seconds: float) -> PanelCache:
    if redis_url:
        return RedisPanelCache(redis_url, fresh_seconds, stale_seconds)
    return MemoryPanelCache(fresh_seconds, stale_seconds)
