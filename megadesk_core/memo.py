"""The per-render memo: how data found by one hook reaches the next hook of the same render.

The host renders a panel as two hook calls, ``resolve_customer`` then ``sidebar_panel`` (an
action: ``resolve_customer`` then ``run_action``). A plugin that fetched the customer to resolve
it should not fetch it again to draw it, and a plugin that already knows what the panel will
need (the ticket names the customer) should ask for all of it at once, on one round trip::

    @hookimpl
    async def resolve_customer(context, ticket):
        customer_id = ticket.custom_data["customerId"]
        if context.purpose == "panel":  # sidebar_panel comes next: start its reads now
            context.memo.start(f"orders:{customer_id}", lambda: api.orders(customer_id))
        customer = await context.memo.get(f"customer:{customer_id}", lambda: api.customer(customer_id))
        return ResolvedCustomer(id=customer.id, verified=True)

    @hookimpl
    async def sidebar_panel(context, customer):
        customer_record, orders = await asyncio.gather(
            context.memo.get(f"customer:{customer.id}", lambda: api.customer(customer.id)),
            context.memo.get(f"orders:{customer.id}", lambda: api.orders(customer.id)),
        )

``get`` starts a load the first time a key is asked for and hands every later caller the same
result (or the same exception); ``start`` begins one without waiting. Plain (sync) hooks, which
the host runs in a worker thread, use ``put`` and ``value`` instead: ``resolve_customer`` puts
the record it found, ``sidebar_panel`` takes it (and fetches it itself when it is not there, as
after an action, when the host renders the panel with the customer it already resolved).

One memo lives for one render or one action of one integration for one ticket, so nothing in it
is ever stale or seen by another tenant. The host closes it when the render ends: loads nobody
waited for are cancelled, and their errors are dropped (a prefetch that turned out not to be
needed is not a failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class RenderMemo:
    """Loads shared by the hook calls of one render (see the module docstring)."""

    def __init__(self) -> None:
        self._loads: dict[str, asyncio.Future[Any]] = {}
        self._values: dict[str, Any] = {}

    def start(self, key: str, load: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Begin ``load()`` under ``key`` unless it already began; return its future."""
        future = self._loads.get(key)
        if future is None:
            if key in self._values:
                future = asyncio.get_running_loop().create_future()
                future.set_result(self._values[key])
            else:
                future = asyncio.ensure_future(load())
            self._loads[key] = future
        return cast("asyncio.Future[T]", future)

    async def get(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """The result of ``load()`` under ``key``, loading it only the first time.

        A caller that gives up (its deadline passed) does not cancel the load for the others.
        """
        return await asyncio.shield(self.start(key, load))

    def put(self, key: str, value: object) -> None:
        """Remember a value found on the way (e.g. the customer a search returned)."""
        self._values[key] = value

    def value(self, key: str) -> Any:
        """What ``put`` remembered under ``key``, or ``None``."""
        return self._values.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._loads or key in self._values

    async def aclose(self) -> None:
        """Cancel what nobody waited for and drop errors nobody read."""
        loads, self._loads, self._values = list(self._loads.values()), {}, {}
        pending = [future for future in loads if not future.done()]
        for future in pending:
            future.cancel()
        if pending:
            await asyncio.wait(pending)
        for future in loads:
            if not future.cancelled():
                future.exception()  # marks it retrieved: no "exception was never retrieved"
