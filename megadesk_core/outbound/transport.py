"""One integration's upstream calls, labelled: user agent, deadline, retries, observers.

Wraps the guard (:class:`~megadesk_core.outbound.pinning.PinningTransport`); every attempt,
each retry included, goes through the guard and is reported to the observers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from megadesk_core.outbound import retries
from megadesk_core.outbound.budget import RequestBudget, RequestBudgets, over_budget_response
from megadesk_core.outbound.observer import OutboundCall, OutboundObserver, notify_after, notify_before, path_template

_TIMEOUT_KEYS = ("connect", "read", "write", "pool")


@dataclass(frozen=True)
class CallLabel:
    """Whose calls these are, and what they may spend."""

    integration: str
    tenant_id: str | None
    user_agent: str
    deadline_seconds: float
    """No request (all its attempts together) runs longer: the host's panel or action deadline."""
    max_retries: int
    budget: RequestBudget | None = None
    """The upstream account's request budget the plugin named, if any."""


class OutboundTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        guard: httpx.AsyncBaseTransport,
        label: CallLabel,
        observers: Callable[[], tuple[OutboundObserver, ...]],
        budgets: Callable[[], RequestBudgets | None] = lambda: None,
    ) -> None:
        # Callables: observers (and budgets) the host adds later see the calls of clients made before.
        self._guard = guard
        self._label = label
        self._observers = observers
        self._budgets = budgets

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        label = self._label
        request.headers["User-Agent"] = _user_agent(label.user_agent, request.headers.get("user-agent"))
        started = time.monotonic()
        retry = label.max_retries > 0 and retries.is_idempotent(request) and retries.can_resend(request)
        attempt = 1
        while True:
            remaining = label.deadline_seconds - (time.monotonic() - started)
            _clamp_timeouts(request, max(remaining, 0.001))
            if label.budget is not None and not await self._admitted(label.budget):
                # Nothing sent; not retried either: the budget is the reason to wait.
                return over_budget_response(request, label.integration, label.budget)
            try:
                response = await self._attempt(request, attempt)
            except Exception as exc:
                delay = retries.delay_for_error(exc, attempt) if retry else None
                if not self._may_retry(attempt, delay, started):
                    raise
            else:
                delay = retries.delay_for_response(response, attempt) if retry else None
                if not self._may_retry(attempt, delay, started):
                    return response
                await response.aclose()
            assert delay is not None
            await asyncio.sleep(delay)
            attempt += 1

    async def _admitted(self, budget: RequestBudget) -> bool:
        budgets = self._budgets()
        return budgets is None or await budgets.admit(self._label.tenant_id, self._label.integration, budget)

    def _may_retry(self, attempt: int, delay: float | None, started: float) -> bool:
        if delay is None or attempt > self._label.max_retries:
            return False
        # A retry that could not finish before the deadline only delays the error.
        return time.monotonic() - started + delay < self._label.deadline_seconds

    async def _attempt(self, request: httpx.Request, attempt: int) -> httpx.Response:
        url = request.url
        host = url.raw_host.decode("ascii", "replace").lower()
        if url.port is not None:
            host = f"{host}:{url.port}"
        call = OutboundCall(
            tenant_id=self._label.tenant_id,
            integration=self._label.integration,
            host=host,
            method=request.method.upper(),
            path=path_template(url.path),
            attempt=attempt,
        )
        observers = self._observers()
        notify_before(observers, call)
        started = time.monotonic()
        status: int | None = None
        try:
            response = await self._guard.handle_async_request(request)
            status = response.status_code
            return response
        finally:
            notify_after(observers, call, status, time.monotonic() - started)

    async def aclose(self) -> None:
        await self._guard.aclose()


def _user_agent(ours: str, theirs: str | None) -> str:
    # A library's own token (Stripe's bindings) stays after ours; httpx's default does not.
    if not theirs or theirs.startswith("python-httpx/") or theirs.startswith(ours):
        return ours
    return f"{ours} {theirs}"


def _clamp_timeouts(request: httpx.Request, limit: float) -> None:
    """No phase of the request may wait longer than what is left of the deadline (``None``,
    "no timeout", included): a plugin may ask for less, never for more."""
    asked = request.extensions.get("timeout") or {}
    request.extensions["timeout"] = {
        key: limit if asked.get(key) is None else min(float(asked[key]), limit) for key in _TIMEOUT_KEYS
    }
