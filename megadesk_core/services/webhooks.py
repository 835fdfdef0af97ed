"""Receiving an integration's webhook: limits, the plugin's verification, replays, invalidation.

One endpoint per installation (``/api/v1/webhooks/<installation id>``: the id is random, 128
bits, and no other API shows it, so the URL cannot be guessed). A delivery goes through:

1. a body-size limit (:data:`MAX_WEBHOOK_BYTES`) and the tenant's rate limit (per minute, all its
   integrations together; in Redis when configured, so every process counts together);
2. the plugin's ``webhook`` hook, with the raw bytes: it verifies the signature with the tenant's
   signing secret and says which upstream objects changed (no upstream call);
3. a replay check: an event older than ``webhook_tolerance_seconds`` is refused, an event id
   already received (in that time) is acknowledged and ignored;
4. invalidation: the kept panels that show a changed object are dropped everywhere and the
   tenant's open sidebar streams are told (:mod:`megadesk_core.services.changes`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cachetools import TTLCache
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from megadesk_core.db.engine import Database
from megadesk_core.db.models import IntegrationInstallation
from megadesk_core.errors import RequestError, WebhookRejectedError, not_found
from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.keyring import KeyRing
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.redis_health import OutageLog
from megadesk_core.services.changes import ChangeFeed, PanelChange
from megadesk_core.services.installations import integration_context
from megadesk_core.services.shared_renders import SharedRenders

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024
"""Stripe's events are a few KiB; a larger body is refused before any plugin reads it."""
WEBHOOK_HOOK_SECONDS = 5.0
WEBHOOK_PATH = "/api/v1/webhooks"


def webhook_path(installation_id: str) -> str:
    """Where the upstream sends this installation's events (after the host's public address)."""
    return f"{WEBHOOK_PATH}/{installation_id}"


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str | None
    duplicate: bool = False
    invalidated: int = 0

    def body(self) -> dict[str, Any]:
        return {"received": True, "event_id": self.event_id, "duplicate": self.duplicate}


class WebhookGate:
    """The per-tenant rate limit and the event ids seen, in Redis when configured (a Redis
    failure degrades to this process's own counting)."""

    def __init__(self, redis_url: str | None, per_minute: int, tolerance_seconds: int) -> None:
        self._redis_url = redis_url
        self._item = RateLimitItemPerMinute(per_minute)
        self._tolerance = tolerance_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._storage: RedisStorage | None = None
        self._redis: Any = None
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=100_000, ttl=tolerance_seconds, timer=time.time)
        self._outage = OutageLog(log, "webhook gate", "each process counts webhook deliveries on its own")

    def _limiters(self) -> tuple[MovingWindowRateLimiter, MovingWindowRateLimiter | None]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # their connections belong to the loop that made them
            self._loop = loop
            self._memory = MovingWindowRateLimiter(MemoryStorage())
            if self._redis_url:
                from redis.asyncio import Redis

                self._storage = RedisStorage(
                    f"async+{self._redis_url}", implementation="redispy", socket_timeout=0.5, socket_connect_timeout=0.5
                )
                self._shared = MovingWindowRateLimiter(self._storage)
                self._redis = Redis.from_url(self._redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return self._memory, self._shared

    async def admit(self, tenant_id: str) -> bool:
        memory, shared = self._limiters()
        if shared is not None:
            try:
                admitted = await shared.hit(self._item, "webhook", tenant_id)
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
                return admitted
        return await memory.hit(self._item, "webhook", tenant_id)

    async def first_delivery(self, tenant_id: str, integration: str, event_id: str) -> bool:
        """Whether ``event_id`` is new (and remember it for the tolerance)."""
        key = f"megadesk:webhook-event:{tenant_id}:{integration}:{event_id}"
        self._limiters()
        if self._redis is not None:
            try:
                fresh = await self._redis.set(key, b"1", nx=True, ex=self._tolerance)
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
                return bool(fresh)
        if key in self._seen:
            return False
        self._seen[key] = True
        return True

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
        # limits has no close(); its redis-py client is the bridge's ``storage``.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()


@dataclass(frozen=True)
class WebhookReceiver:
    """One app's webhook handling (see the module docstring)."""

    database: Database
    registry: IntegrationRegistry
    keyring: KeyRing
    renders: SharedRenders
    changes: ChangeFeed
    gate: WebhookGate
    tolerance_seconds: int

    async def receive(self, installation_id: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        if len(body) > MAX_WEBHOOK_BYTES:
            raise RequestError(
                413, "payload_too_large", f"A webhook delivery may be at most {MAX_WEBHOOK_BYTES} bytes."
            )
        async with self.database.session() as session:
            row = (
                await session.get(IntegrationInstallation, installation_id) if _looks_like_id(installation_id) else None
            )
        integration = self.registry.get(row.integration) if row is not None else None
        if (
            row is None
            or integration is None
            or not row.enabled
            or not self.registry.implements(row.integration, "webhook")
        ):
            raise not_found("Webhook endpoint")
        if not await self.gate.admit(row.tenant_id):
            raise RequestError(429, "rate_limited", "Too many webhook deliveries for this tenant; retry later.")
        hooks = IntegrationHooks(self.registry, integration)
        context = integration_context(row, self.keyring, integration.manifest, integration.options)
        try:
            async with asyncio.timeout(WEBHOOK_HOOK_SECONDS):
                result = await hooks.webhook(context, body, {k.lower(): v for k, v in headers.items()})
        except WebhookRejectedError as exc:
            # Never the body: it is the upstream's data about the tenant's customers.
            log.warning(
                "webhook of %s for tenant %s refused (%d bytes): %s", row.integration, row.tenant_id, len(body), exc
            )
            raise
        finally:
            await context.memo.aclose()
        if result is None:
            return WebhookOutcome(event_id=None)
        if result.occurred_at is not None:
            occurred = result.occurred_at if result.occurred_at.tzinfo else result.occurred_at.replace(tzinfo=UTC)
            age = (datetime.now(UTC) - occurred).total_seconds()
            if age > self.tolerance_seconds:
                log.warning("webhook event %s of %s is %ds old; refused", result.event_id, row.integration, age)
                raise RequestError(
                    400, "webhook_too_old", f"The event is older than {self.tolerance_seconds} seconds: a replay?"
                )
        if not await self.gate.first_delivery(row.tenant_id, row.integration, result.event_id):
            return WebhookOutcome(event_id=result.event_id, duplicate=True)
        invalidated = 0
        if result.changed:
            change = PanelChange(row.tenant_id, row.integration, tuple(dict.fromkeys(result.changed)))
            invalidated = await self.renders.cache.invalidate_objects(row.tenant_id, row.integration, change.objects)
            await self.changes.publish(change)
        log.info(
            "webhook event %s of %s: %d objects changed, %d kept panels dropped",
            result.event_id,
            row.integration,
            len(result.changed),
            invalidated,
        )
        return WebhookOutcome(event_id=result.event_id, invalidated=invalidated)


def _looks_like_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
