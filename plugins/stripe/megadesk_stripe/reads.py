"""What a render reads from Stripe, kept in the host's per-render memo.

``resolve_customer`` and ``sidebar_panel`` are two hook calls of one render. Every read goes
through :class:`StripeReads`, keyed in the render's memo (``context.memo``), so:

* the customer is fetched once per render, whichever hook asks first;
* when the ticket names the customer, ``resolve_customer`` starts the panel's reads (customer,
  subscriptions, payment intents, product names if not kept) at once, and ``sidebar_panel``
  awaits them: one round trip for the whole panel;
* matched by email, the customers the search returned are remembered, and the panel's reads
  start as soon as the match is chosen (the ranking of several matches reads the same
  subscriptions and payments the panel shows);
* refunds (with Refunds: Read), receipts and decline reasons come with the payment intents
  (expanded), the latest invoices' links with the subscriptions: no request of their own. Only
  a disputed payment costs more: its dispute is read once the payments arrive (a second round
  trip, only then).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import stripe

from megadesk_core.errors import MissingPermissionError
from megadesk_core.memo import RenderMemo
from megadesk_stripe.catalog import ProductNames
from megadesk_stripe.disputes import DisputeRecord
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.permissions import INVOICES_READ, REFUNDS_READ
from megadesk_stripe.records import PaymentPage, PaymentRecord, SubscriptionFields, UnreadableSubscription


@dataclass(frozen=True)
class PanelPlan:
    """What the panel will show: how many payments, and the sections the key cannot read (from
    the settings check), which are never requested."""

    payment_history_limit: int
    unavailable: Mapping[str, str] = field(default_factory=dict)
    payments_after: str | None = None
    """The agent asked for the payments older than this payment intent ("show more")."""

    @property
    def first_page(self) -> PanelPlan:
        """This plan for the newest payments (what ranking several matches reads)."""
        return dataclasses.replace(self, payments_after=None)

    def reads(self, section: str) -> bool:
        return section not in self.unavailable

    @property
    def invoice_links(self) -> bool:
        """Expand the subscriptions' latest invoices (for their links) on the same request."""
        return self.reads("subscriptions") and self.reads("invoice_links")

    @property
    def refund_details(self) -> bool:
        """Expand the payments' refunds (pending, failed...) on the same request."""
        return self.reads("payments") and self.reads("refund_details")


class StripeReads:
    """One tenant's Stripe reads for one render, shared through the render's memo."""

    def __init__(self, gateway: StripeGateway, memo: RenderMemo, names: ProductNames, account: str) -> None:
        self.gateway = gateway
        self._memo = memo
        self._names = names
        self._account = account

    def start_panel(self, customer_id: str, plan: PanelPlan) -> None:
        """Start every read the panel of ``customer_id`` needs, without waiting for any."""
        gateway, memo = self.gateway, self._memo
        memo.start(_customer_key(customer_id), lambda: gateway.retrieve_customer(customer_id))
        self.start_product_names(plan)
        if plan.reads("subscriptions"):
            memo.start(_subscriptions_key(customer_id), lambda: self._subscriptions(customer_id, plan.invoice_links))
        if plan.reads("payments"):
            memo.start(_payments_key(customer_id, plan), lambda: self._payments(customer_id, plan))

    def start_product_names(self, plan: PanelPlan) -> None:
        """List the products now if the panel will need names that are not kept (before the
        customer is even known: e.g. alongside the search by email)."""
        wanted = plan.reads("subscriptions") and plan.reads("product_names")
        if wanted and self._names.names(self._account) is None:
            self._memo.start("stripe:products", self._list_product_names)

    async def customer(self, customer_id: str) -> stripe.Customer:
        return await self._memo.get(_customer_key(customer_id), lambda: self.gateway.retrieve_customer(customer_id))

    def remember_customer(self, customer: stripe.Customer) -> None:
        """A customer found by a search is the customer: the panel need not fetch it again."""
        self._memo.put(_customer_key(customer.id), customer)

    async def subscriptions(
        self, customer_id: str, plan: PanelPlan | None = None
    ) -> list[SubscriptionFields | UnreadableSubscription]:
        with_invoices = plan is not None and plan.invoice_links
        return await self._memo.get(
            _subscriptions_key(customer_id), lambda: self._subscriptions(customer_id, with_invoices)
        )

    async def _subscriptions(
        self, customer_id: str, with_invoices: bool
    ) -> list[SubscriptionFields | UnreadableSubscription]:
        if not with_invoices:
            return await self.gateway.subscriptions(customer_id)
        try:
            return await self.gateway.subscriptions(customer_id, with_invoices=True)
        except MissingPermissionError as exc:
            if INVOICES_READ.code not in exc.message:
                raise
            # The key may not read invoices (no settings check said so): the subscriptions
            # without their invoice links, rather than no subscriptions.
            return await self.gateway.subscriptions(customer_id)

    async def disputes(self, payment_intent_id: str) -> list[DisputeRecord]:
        return await self._memo.get(
            f"stripe:disputes:{payment_intent_id}", lambda: self.gateway.disputes_for_payment(payment_intent_id)
        )

    async def payments(self, customer_id: str, plan: PanelPlan) -> list[PaymentRecord]:
        return (await self.payment_page(customer_id, plan)).payments

    async def payment_page(self, customer_id: str, plan: PanelPlan) -> PaymentPage:
        return await self._memo.get(_payments_key(customer_id, plan), lambda: self._payments(customer_id, plan))

    async def _payments(self, customer_id: str, plan: PanelPlan) -> PaymentPage:
        limit, after = plan.payment_history_limit, plan.payments_after
        if not plan.refund_details:
            return await self.gateway.payment_intents(customer_id, limit, with_refunds=False, starting_after=after)
        try:
            return await self.gateway.payment_intents(customer_id, limit, starting_after=after)
        except MissingPermissionError as exc:
            if REFUNDS_READ.code not in exc.message:
                raise
            # The key may not read refunds (no settings check said so): the payments with the
            # refund totals their charges carry, rather than no payments.
            return await self.gateway.payment_intents(customer_id, limit, with_refunds=False, starting_after=after)

    async def product_names(self) -> Mapping[str, str]:
        kept = self._names.names(self._account)
        if kept is not None:
            return kept
        return await self._memo.get("stripe:products", self._list_product_names)

    def missing_products(self, product_ids: set[str]) -> None:
        """Products the kept names lack: list them again on the next render."""
        if product_ids:
            self._names.mark_stale(self._account)

    async def _list_product_names(self) -> Mapping[str, str]:
        names = await self.gateway.product_names()
        self._names.store(self._account, names)
        return names


def _customer_key(customer_id: str) -> str:
    return f"stripe:customer:{customer_id}"


def _subscriptions_key(customer_id: str) -> str:
    return f"stripe:subscriptions:{customer_id}"


def _payments_key(customer_id: str, plan: PanelPlan) -> str:
    return f"stripe:payments:{customer_id}:{plan.payment_history_limit}:{plan.payments_after or ''}"
