"""Liveness and readiness, for load balancers and orchestrators.

``GET /healthz``: the process answers; nothing else is checked, so a slow dependency never
gets a healthy process restarted. ``GET /readyz``: whether this process can serve agents now:
the database answers, a configured Redis answers (the processes share their panel cache
through it), and every plugin named in ``MEGADESK_PLUGINS_REQUIRED`` is loaded. ``unavailable``
(503) takes the host out of rotation. An optional plugin that was refused only makes the host
``degraded`` (200): a load balancer must not drain a host that still serves the other
integrations. Both are public and cheap (a ``SELECT 1`` and a ``PING``, each with a short
deadline, run together; no plugin is called), and say nothing secret: refusal reasons stay in
the log and in ``megadesk integrations list``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from megadesk_core.db.engine import Database
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.redis_health import OutageLog

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 1.0
"""Deadline of each check; probes usually time out after 2 to 5 seconds."""

ReadinessStatus = Literal["ready", "degraded", "unavailable"]
DatabaseCheck = Literal["ok", "unreachable"]
RedisCheck = Literal["ok", "unreachable", "not configured"]
PluginState = Literal["loaded", "refused", "missing"]


@dataclass(frozen=True)
class PluginReadiness:
    state: PluginState
    """``loaded``; ``refused`` (failed to import or failed the host's checks); ``missing``
    (required but not installed, or left out by MEGADESK_PLUGINS_ALLOW/BLOCK)."""
    required: bool


@dataclass(frozen=True)
class ReadinessChecks:
    database: DatabaseCheck
    redis: RedisCheck
    plugins: dict[str, PluginReadiness]


@dataclass(frozen=True)
class Readiness:
    status: ReadinessStatus
    checks: ReadinessChecks


def plugin_readiness(registry: IntegrationRegistry, required: Iterable[str]) -> dict[str, PluginReadiness]:
    """Every plugin the process loaded or refused, and every required one, by name."""
    wanted = set(required)
    states: dict[str, PluginReadiness] = {}
    covered: set[str] = set()
    for name, loaded in registry.integrations.items():
        # Operators name entry points; the contract check asks plugins to use the same word.
        names = {name, registry.plugin_manager.get_name(loaded.plugin) or name}
        states[name] = PluginReadiness("loaded", required=bool(names & wanted))
        covered |= names
    for name in registry.rejected:
        if name not in covered:
            states[name] = PluginReadiness("refused", required=name in wanted)
            covered.add(name)
    for name in wanted - covered:
        states[name] = PluginReadiness("missing", required=True)
    return dict(sorted(states.items()))


def overall_status(database: DatabaseCheck, redis: RedisCheck, plugins: dict[str, PluginReadiness]) -> ReadinessStatus:
    if database != "ok" or redis == "unreachable":
        return "unavailable"
    if any(p.required and p.state != "loaded" for p in plugins.values()):
        return "unavailable"
    if any(p.state != "loaded" for p in plugins.values()):
        return "degraded"
    return "ready"


class ReadinessProbe:
    """The checks behind ``/readyz``, with the process's own Redis connection for the PING."""

    def __init__(
        self,
        database: Database,
        registry: IntegrationRegistry,
        *,
        redis_url: str | None,
        required_plugins: Iterable[str],
        timeout_seconds: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        from redis.asyncio import Redis

        self._database = database
        self._registry = registry
        self._required = tuple(required_plugins)
        self._timeout = timeout_seconds
        self._redis_outage = OutageLog(log, "readiness", "/readyz reports unavailable")
        self._redis = (
            Redis.from_url(redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
            if redis_url
            else None
        )

    async def _database_check(self) -> DatabaseCheck:
        try:
            async with asyncio.timeout(self._timeout), self._database.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        except Exception as exc:
            log.warning("readiness: the database does not answer: %s", exc or type(exc).__name__)
            return "unreachable"
        return "ok"

    async def _redis_check(self) -> RedisCheck:
        if self._redis is None:
            return "not configured"
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except Exception as exc:
            self._redis_outage.failed(exc)
            return "unreachable"
        self._redis_outage.succeeded()
        return "ok"

    async def check(self) -> Readiness:
        database, redis = await asyncio.gather(self._database_check(), self._redis_check())
        plugins = plugin_readiness(self._registry, self._required)
        return Readiness(overall_status(database, redis, plugins), ReadinessChecks(database, redis, plugins))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


@get("/healthz", operation_id="health", tags=["meta"], sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    operation_id="readiness",
    tags=["meta"],
    summary="Whether this process can serve: database, Redis, required plugins",
    responses={503: ResponseSpec(Readiness, description="Unavailable: take this process out of rotation.")},
)
async def readiness(state: State) -> Response[Readiness]:
    probe: ReadinessProbe = state.readiness
    result = await probe.check()
    return Response(
        result,
        status_code=503 if result.status == "unavailable" else 200,
        headers={"Cache-Control": "no-store"},
    )
