"""A request budget per tenant and upstream account, kept below the upstream's own rate limit.

Stripe allows 100 requests a second per live account and 25 in test mode; a burst of agents
opening tickets must not spend that and get 429s (which also fail the tenant's other
integrations of that account, and its own back office). A plugin names the budget its upstream
account has when it makes its transport (``context.http.transport(budget=RequestBudget(...))``);
the outbound layer admits each attempt against it before sending. Over budget, nothing is sent:
the layer answers ``429`` itself, with ``Retry-After`` and ``Megadesk-Budget: exhausted``, which
plugins already treat as "rate limited", and it notes the refusal for the render that made it,
so the host serves the last good panel or a clear "busy" panel (:func:`budget_refusals`).

The counting is a moving one-second window from the ``limits`` library: in Redis when the host
has one (every process shares the budget), in this process otherwise, and in this process too
while Redis fails. Operators may lower or raise a plugin's figures with
``MEGADESK_OUTBOUND_BUDGETS`` (``{"stripe:live": 50}``; ``0`` turns one off).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from megadesk_core.observability import metrics
from megadesk_core.redis_health import OutageLog

log = logging.getLogger(__name__)

BUDGET_HEADER = "Megadesk-Budget"


@dataclass(frozen=True)
class RequestBudget:
    """What one upstream account may be sent: ``per_second`` requests (attempts) a second.

    ``name`` tells an account's budgets apart (Stripe: ``live`` or ``test``) and is how an
    operator overrides it (``"stripe:live"``); ``account`` tells accounts apart within a tenant
    (e.g. a fingerprint of the key, never the key)."""

    name: str
    per_second: float
    account: str = ""


@dataclass
class BudgetRefusals:
    """The budgets that refused a request during one render or action."""

    names: list[str] = field(default_factory=list)


_refusals: ContextVar[BudgetRefusals | None] = ContextVar("megadesk_budget_refusals", default=None)


@contextmanager
def budget_refusals() -> Iterator[BudgetRefusals]:
    """Collect the budget refusals of the code run inside (its tasks and threads included)."""
    seen = BudgetRefusals()
    token = _refusals.set(seen)
    try:
        yield seen
    finally:
        _refusals.reset(token)


def over_budget_response(request: httpx.Request, integration: str, budget: RequestBudget) -> httpx.Response:
    """What the layer answers instead of sending: a 429 the plugin treats as rate limiting."""
    seen = _refusals.get()
    if seen is not None:
        seen.names.append(f"{integration}:{budget.name}")
    return httpx.Response(
        429,
        headers={"Retry-After": "1", BUDGET_HEADER: "exhausted", "Content-Type": "application/json"},
        json={
            "error": {
                "type": "rate_limit_error",
                "message": f"Megadesk's request budget for this {integration} account ({budget.name}) "
                "is spent for this second; nothing was sent.",
            }
        },
        request=request,
    )


class RequestBudgets:
    """Admits upstream attempts against their budgets, per tenant, integration and account."""

    def __init__(self, redis_url: str | None = None, overrides: Mapping[str, float] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._redis_url = redis_url
        self._loop: asyncio.AbstractEventLoop | None = None
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._storage: RedisStorage | None = None
        self._outage = OutageLog(log, "request budget", "each process counts its own upstream requests")

    def _limiters(self) -> tuple[MovingWindowRateLimiter, MovingWindowRateLimiter | None]:
        # Their locks and connections belong to the loop that made them: the app runs one loop;
        # a script or a test suite may run several in turn.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._memory = MovingWindowRateLimiter(MemoryStorage())
            if self._redis_url:
                self._storage = RedisStorage(
                    f"async+{self._redis_url}",
                    implementation="redispy",
                    socket_timeout=0.5,
                    socket_connect_timeout=0.5,
                )
                self._shared = MovingWindowRateLimiter(self._storage)
        return self._memory, self._shared

    def limit(self, integration: str, budget: RequestBudget) -> RateLimitItem | None:
        """The window for ``budget`` after the operator's override; ``None``: not limited."""
        per_second = self._overrides.get(f"{integration}:{budget.name}", budget.per_second)
        if per_second <= 0:
            return None
        # A whole number of requests per whole seconds: 2.5/s is 5 per 2 s.
        seconds = 1 if per_second >= 1 else max(1, round(1 / per_second))
        return RateLimitItemPerSecond(max(1, round(per_second * seconds)), seconds)

    async def admit(self, tenant_id: str | None, integration: str, budget: RequestBudget) -> bool:
        """Spend one request of ``budget``; ``False`` when it is spent (send nothing)."""
        item = self.limit(integration, budget)
        if item is None:
            return True
        admitted = await self._hit(item, ("upstream", tenant_id or "-", integration, budget.account, budget.name))
        metrics.budget_use(integration, "allowed" if admitted else "refused")
        return admitted

    async def _hit(self, item: RateLimitItem, identity: tuple[str, ...]) -> bool:
        memory, shared = self._limiters()
        if shared is not None:
            try:
                admitted = await shared.hit(item, *identity)
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.succeeded()
                return admitted
        return await memory.hit(item, *identity)

    async def close(self) -> None:
        # limits has no close(); its redis-py client is the bridge's ``storage``.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()
