"""How many Stripe round trips and requests one render costs, counted without timing.

Every gateway call goes over a pretend network that answers in rounds: each round answers
every request waiting at that moment. A render whose reads all start together needs one
round; one that waits for a read before starting the next needs more.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from typing import Any, cast

import stripe_dicts as d
from fake_gateway import FakeGateway
from megadesk_stripe.catalog import ProductNames
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.panel import load_panel
from megadesk_stripe.reads import PanelPlan, StripeReads
from megadesk_stripe.resolution import resolve_customer

from megadesk_core.memo import RenderMemo
from megadesk_core.panel import Panel
from megadesk_core.types import TicketContext

PLAN = PanelPlan(payment_history_limit=10)


class RoundNetwork:
    """Answers waiting requests one round at a time and counts the rounds."""

    def __init__(self) -> None:
        self.rounds = 0
        self._waiting: list[asyncio.Future[None]] = []

    async def trip(self) -> None:
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(answered)
        await answered

    async def run(self, work: Any) -> Any:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(50):  # let every coroutine run until it waits on the network
                await asyncio.sleep(0)
            if self._waiting:
                self.rounds += 1
                waiting, self._waiting = self._waiting, []
                for answered in waiting:
                    answered.set_result(None)
        return task.result()


class OverNetwork:
    """The fake gateway, each of its calls one request over ``network``."""

    def __init__(self, inner: FakeGateway, network: RoundNetwork) -> None:
        self._inner = inner
        self._network = network

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(method):
            return method

        async def request(*args: Any, **kwargs: Any) -> Any:
            await self._network.trip()
            return await method(*args, **kwargs)

        return request


def _stripe() -> FakeGateway:
    gateway = FakeGateway(products={"prod_A": "Pro plan"})
    gateway.add_customer(d.customer("cus_A", email="dana@example.test"))
    gateway.add_subscription(d.subscription("sub_A", customer="cus_A"))
    gateway.add_payment(d.payment_intent("pi_A", customer="cus_A"))
    return gateway


async def _render(
    gateway: FakeGateway, ticket: TicketContext, names: ProductNames | None = None
) -> tuple[Panel, int, Counter[str]]:
    """resolve_customer then sidebar_panel, as the host calls them for one render."""
    network = RoundNetwork()
    memo = RenderMemo()
    reads = StripeReads(cast(StripeGateway, OverNetwork(gateway, network)), memo, names or ProductNames(), "acct")

    async def render() -> Panel:
        customer = await resolve_customer(reads, ticket, PLAN, prefetch=True)
        assert customer is not None
        return await load_panel(reads, customer, check=None, test_mode=True, payment_history_limit=10)

    try:
        panel = await network.run(render())
    finally:
        await memo.aclose()
    return panel, network.rounds, Counter(name for name, _ in gateway.calls)


async def test_a_verified_ticket_costs_one_round_trip_and_fetches_the_customer_once() -> None:
    gateway = _stripe()
    panel, rounds, calls = await _render(gateway, TicketContext(ticket_id="T-1", custom_data={"customerId": "cus_A"}))
    assert panel.status == "ok"
    assert rounds == 1
    assert calls == Counter(retrieve_customer=1, subscriptions=1, payment_intents=1, product_names=1)


async def test_kept_product_names_save_the_fourth_request() -> None:
    names = ProductNames()
    names.store("acct", {"prod_A": "Pro plan"})
    ticket = TicketContext(ticket_id="T-1", custom_data={"customerId": "cus_A"})
    _, rounds, calls = await _render(_stripe(), ticket, names)
    assert rounds == 1
    assert calls == Counter(retrieve_customer=1, subscriptions=1, payment_intents=1)


async def test_a_product_the_kept_names_lack_is_never_fetched_after_the_others() -> None:
    names = ProductNames()
    names.store("acct", {"prod_other": "Other"})
    ticket = TicketContext(ticket_id="T-1", custom_data={"customerId": "cus_A"})
    _, rounds, calls = await _render(_stripe(), ticket, names)
    assert rounds == 1
    assert "product_names" not in calls
    # ...and the next render lists the products again, alongside its other reads.
    gateway = _stripe()
    _, rounds, calls = await _render(gateway, ticket, names)
    assert rounds == 1
    assert calls["product_names"] == 1
    assert names.names("acct") == {"prod_A": "Pro plan"}


async def test_a_ticket_matched_by_email_costs_two_round_trips() -> None:
    gateway = _stripe()
    panel, rounds, calls = await _render(gateway, TicketContext(ticket_id="T-1", requester_email="dana@example.test"))
    assert panel.verified is False
    assert rounds == 2
    # The customer came with the search: it is not fetched again.
    assert calls == Counter(
        customers_with_email=1, search_customers_by_email=1, subscriptions=1, payment_intents=1, product_names=1
    )


async def test_several_email_matches_are_ranked_on_the_panels_own_reads() -> None:
    gateway = _stripe()
    gateway.add_customer(d.customer("cus_B", email="dana@example.test"))
    panel, rounds, calls = await _render(gateway, TicketContext(ticket_id="T-1", requester_email="dana@example.test"))
    assert rounds == 2
    assert calls == Counter(
        customers_with_email=1, search_customers_by_email=1, subscriptions=2, payment_intents=2, product_names=1
    )
    assert panel.verified is False


async def test_an_action_resolves_without_reading_the_panel() -> None:
    gateway = _stripe()
    reads = gateway.reads()
    ticket = TicketContext(ticket_id="T-1", custom_data={"customerId": "cus_A"})
    customer = await resolve_customer(reads, ticket, PLAN, prefetch=False)
    assert customer is not None
    assert [name for name, _ in gateway.calls] == ["retrieve_customer"]


async def test_refunds_receipts_and_declines_cost_no_request_of_their_own() -> None:
    gateway = _stripe()
    gateway.add_payment(d.payment_intent("pi_refunding", refunds=[d.refund("re_p", status="pending")]))
    gateway.add_payment(d.payment_intent("pi_declined", decline=("card_declined", "insufficient_funds", "No funds.")))
    ticket = TicketContext(ticket_id="T-1", custom_data={"customerId": "cus_A"})
    _, rounds, calls = await _render(gateway, ticket)
    assert rounds == 1
    assert calls == Counter(retrieve_customer=1, subscriptions=1, payment_intents=1, product_names=1)


async def test_a_disputed_payment_costs_one_more_round_trip_for_its_dispute() -> None:
    gateway = _stripe()
    for pi in ("pi_D1", "pi_D2"):
        values = d.payment_intent(pi, customer="cus_A")
        values["latest_charge"]["disputed"] = True
        gateway.add_payment(values)
    ticket = TicketContext(ticket_id="T-1", custom_data={"customerId": "cus_A"})
    _, rounds, calls = await _render(gateway, ticket)
    assert rounds == 2  # the disputes of both payments together, after the payments
    assert calls["disputes_for_payment"] == 2
    assert sum(calls.values()) == 6
