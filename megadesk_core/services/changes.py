"""Upstream changes, told to every open sidebar stream of the tenant, in every process.

A change (an integration's webhook said these objects changed) is applied once, where the
webhook arrived: the kept panels that show a changed object are dropped
(:meth:`~megadesk_core.panel_cache.PanelCache.invalidate_objects`). It is then published: to this
process's subscribers directly without Redis, or through a Redis pub/sub channel that every
process listens to, so an agent's stream sees it whichever process holds their connection. A
Redis failure degrades to this process's subscribers, never to an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from megadesk_core.redis_health import OutageLog

log = logging.getLogger(__name__)

CHANNEL = "megadesk:panel-changes"
QUEUE_SIZE = 1000
"""Changes one stream may have waiting; past that it misses some (its panels then refresh on
their own time) rather than hold memory for a reader that stopped reading."""
RECONNECT_SECONDS = 1.0


@dataclass(frozen=True)
class PanelChange:
    """These upstream objects of one tenant's integration changed."""

    tenant_id: str
    integration: str
    objects: tuple[str, ...]

    def encode(self) -> str:
        return json.dumps([self.tenant_id, self.integration, list(self.objects)])

    @classmethod
    def decode(cls, raw: bytes | str) -> PanelChange | None:
        try:
            tenant_id, integration, objects = json.loads(raw)
            if not isinstance(tenant_id, str) or not isinstance(integration, str) or not isinstance(objects, list):
                return None
            return cls(tenant_id, integration, tuple(o for o in objects if isinstance(o, str)))
        except (ValueError, TypeError):
            return None


class ChangeFeed:
    """Fan-out of :class:`PanelChange` to this process's subscribers (one per open stream),
    bridged across processes by Redis pub/sub when ``redis_url`` is set."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._redis_url = redis_url
        self._subscribers: dict[str, set[asyncio.Queue[PanelChange]]] = {}
        self._listeners: list[Callable[[PanelChange], None]] = []
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._outage = OutageLog(log, "change feed", "open sidebars hear of changes made through this process only")

    def on_change(self, listener: Callable[[PanelChange], None]) -> None:
        """Call ``listener`` for every change, whichever process it came from."""
        self._listeners.append(listener)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: str) -> AsyncIterator[asyncio.Queue[PanelChange]]:
        """A queue of the tenant's changes, for as long as the block runs."""
        queue: asyncio.Queue[PanelChange] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(tenant_id, set()).add(queue)
        try:
            await self.start()
            yield queue
        finally:
            subscribers = self._subscribers.get(tenant_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[tenant_id]

    async def publish(self, change: PanelChange) -> None:
        if self._redis_url:
            await self.start()
            try:
                await self._redis.publish(CHANNEL, change.encode())
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
                if self._listening.is_set():
                    return  # our own listener delivers it here, as everywhere else
        self._deliver(change)

    def _deliver(self, change: PanelChange) -> None:
        for listener in self._listeners:
            listener(change)
        for queue in self._subscribers.get(change.tenant_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(change)

    async def start(self) -> None:
        """Listen to the other processes' changes (once; only with Redis)."""
        if not self._redis_url or self._listener is not None:
            return
        from redis.asyncio import Redis

        self._redis = Redis.from_url(self._redis_url, socket_connect_timeout=0.5)
        self._listener = asyncio.create_task(self._listen(), name="megadesk-change-feed")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._listening.wait()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._listening.set()
                    self._outage.succeeded()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        change = PanelChange.decode(message["data"])
                        if change is not None:
                            self._deliver(change)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening.clear()
                self._outage.failed(exc)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
