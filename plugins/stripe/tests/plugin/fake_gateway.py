"""An in-memory stand-in for ``StripeGateway``, for unit tests of the logic above it.

It holds Stripe-shaped dicts, answers the gateway's methods from them and records writes.
Integration tests use the real gateway against the emulator or cassettes instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import stripe
import stripe_dicts as d
from megadesk_stripe.catalog import ProductNames
from megadesk_stripe.disputes import DisputeRecord
from megadesk_stripe.errors import AlreadyRefundedError
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.reads import StripeReads
from megadesk_stripe.records import (
    PaymentPage,
    RefundRecord,
    SubscriptionFields,
    UnreadableSubscription,
    cancel_comment,
    payment_record,
    readable_subscription,
    refund_record,
)

from megadesk_core.errors import IntegrationError, InvalidInputError, MissingPermissionError, NotFoundError
from megadesk_core.memo import RenderMemo


def _without_refunds(intent: dict[str, Any]) -> dict[str, Any]:
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return intent
    return {**intent, "latest_charge": {k: v for k, v in charge.items() if k != "refunds"}}


@dataclass
class FakeGateway:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoice_payments: dict[str, list[str]] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)
    disputes_by_payment: dict[str, list[DisputeRecord]] = field(default_factory=dict)
    failing: dict[str, IntegrationError] = field(default_factory=dict)
    """Method names that raise the given error (e.g. NotFoundError, UpstreamUnavailableError)."""
    denied: set[str] = field(default_factory=set)
    """Method names that raise MissingPermissionError."""
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    refunds_by_key: dict[str, stripe.Refund] = field(default_factory=dict)
    """Refunds by idempotency key, replayed like Stripe does for a repeated key."""
    refund_errors: list[IntegrationError] = field(default_factory=list)
    """Raised, first one first, by the next refund requests (before any refund is made)."""

    @property
    def typed(self) -> StripeGateway:
        """This fake where the code under test expects the real gateway."""
        return cast(StripeGateway, self)

    def reads(self, names: ProductNames | None = None) -> StripeReads:
        """The reads of one render (a new memo) through this fake."""
        return StripeReads(self.typed, RenderMemo(), names or ProductNames(), "acct_fake")

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.denied:
            raise MissingPermissionError(f"The Stripe key lacks a permission for {name}")
        if name in self.failing:
            raise self.failing[name]

    def add_customer(self, values: dict[str, Any]) -> None:
        self.customers[values["id"]] = values

    def add_subscription(self, values: dict[str, Any]) -> None:
        self.subscriptions_by_id[values["id"]] = values

    def add_payment(self, values: dict[str, Any]) -> None:
        self.payment_intents_by_id[values["id"]] = values

    async def retrieve_customer(self, customer_id: str) -> stripe.Customer:
        self._call("retrieve_customer", customer_id)
        if customer_id not in self.customers:
            raise NotFoundError(f"No such customer: '{customer_id}'")
        return d.to_customer(self.customers[customer_id])

    async def customers_with_email(self, email: str) -> list[stripe.Customer]:
        self._call("customers_with_email", email)
        return [d.to_customer(c) for c in self.customers.values() if c.get("email") == email and not c.get("deleted")]

    async def search_customers_by_email(self, email: str) -> list[stripe.Customer]:
        """Stripe Search's ``email:`` clause: exact, case-insensitive."""
        self._call("search_customers_by_email", email)
        return [
            d.to_customer(c)
            for c in self.customers.values()
            if str(c.get("email") or "").lower() == email.lower() and not c.get("deleted")
        ]

    async def subscriptions(
        self, customer_id: str, *, with_invoices: bool = False
    ) -> list[SubscriptionFields | UnreadableSubscription]:
        self._call("subscriptions", customer_id)
        if with_invoices and "invoices" in self.denied:
            raise MissingPermissionError("The Stripe key lacks Invoices: Read (rak_invoice_read)")
        subs = [s for s in self.subscriptions_by_id.values() if s["customer"] == customer_id]
        return [readable_subscription(s) for s in subs]

    async def product_names(self) -> dict[str, str]:
        self._call("product_names")
        return dict(self.products)

    async def payment_intents(
        self, customer_id: str, limit: int, *, with_refunds: bool = True, starting_after: str | None = None
    ) -> PaymentPage:
        self._call("payment_intents", customer_id, limit)
        if with_refunds and "refunds" in self.denied:
            raise MissingPermissionError("The Stripe key lacks Refunds: Read (rak_refund_read)")
        pis = [p for p in self.payment_intents_by_id.values() if p["customer"] == customer_id]
        if starting_after is not None:
            ids = [p["id"] for p in pis]
            pis = pis[ids.index(starting_after) + 1 :] if starting_after in ids else []
        if not with_refunds:
            pis = [_without_refunds(p) for p in pis]
        records = [payment_record(d.to_payment_intent(p)) for p in pis[:limit]]
        return PaymentPage(records, has_more=len(pis) > limit)

    async def disputes_for_payment(self, payment_intent_id: str) -> list[DisputeRecord]:
        self._call("disputes_for_payment", payment_intent_id)
        return list(self.disputes_by_payment.get(payment_intent_id, []))

    async def retrieve_payment_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        self._call("retrieve_payment_intent", payment_intent_id)
        if payment_intent_id not in self.payment_intents_by_id:
            raise NotFoundError(f"No such payment_intent: '{payment_intent_id}'")
        return d.to_payment_intent(self.payment_intents_by_id[payment_intent_id])

    async def retrieve_subscription(self, subscription_id: str) -> stripe.Subscription:
        self._call("retrieve_subscription", subscription_id)
        if subscription_id not in self.subscriptions_by_id:
            raise NotFoundError(f"No such subscription: '{subscription_id}'")
        return d.to_subscription(self.subscriptions_by_id[subscription_id])

    async def invoice_payment_intent_ids(self, invoice_id: str) -> list[str]:
        self._call("invoice_payment_intent_ids", invoice_id)
        return self.invoice_payments.get(invoice_id, [])

    async def refund_payment_intent(
        self,
        payment_intent_id: str,
        idempotency_key: str,
        ticket_id: str,
        request_tag: str = "",
        *,
        amount: int | None = None,
        reason: str = "requested_by_customer",
        note: str | None = None,
    ) -> stripe.Refund:
        self._call("refund_payment_intent", payment_intent_id, amount, reason)
        self.writes.append(("refund", payment_intent_id, idempotency_key))
        if self.refund_errors:
            raise self.refund_errors.pop(0)
        if idempotency_key in self.refunds_by_key:
            return self.refunds_by_key[idempotency_key]
        pi = self.payment_intents_by_id[payment_intent_id]
        charge = pi["latest_charge"]
        left = charge["amount_captured"] - charge["amount_refunded"]
        if charge["refunded"] or left <= 0:
            raise AlreadyRefundedError(f"Stripe refused it: Charge {charge['id']} has already been refunded.")
        if amount is not None and amount > left:
            raise InvalidInputError(f"Stripe did not accept the request: Refund amount is greater than {left}.")
        amount = left if amount is None else amount
        refunded = charge["amount_refunded"] + amount
        charge.update(amount_refunded=refunded, refunded=refunded >= charge["amount_captured"])
        refund_id = f"re_{len(self.writes)}"
        if isinstance(charge.get("refunds"), dict):
            charge["refunds"]["data"].append(
                {
                    "id": refund_id,
                    "object": "refund",
                    "amount": amount,
                    "status": "succeeded",
                    "metadata": {"megadesk_request": request_tag},
                }
            )
        refund = stripe.Refund.construct_from(
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "currency": pi["currency"],
                "payment_intent": payment_intent_id,
                "status": "succeeded",
            },
            None,
        )
        self.refunds_by_key[idempotency_key] = refund
        return refund

    async def cancel_subscription_now(
        self, subscription_id: str, idempotency_key: str, request_tag: str | None = None
    ) -> stripe.Subscription:
        self._call("cancel_subscription_now", subscription_id)
        self.writes.append(("cancel", subscription_id, idempotency_key))
        sub = self.subscriptions_by_id[subscription_id]
        sub["status"] = "canceled"
        if request_tag is not None:
            sub["cancellation_details"] = {"comment": cancel_comment(request_tag)}
        return d.to_subscription(sub)

    async def cancel_subscription_at_period_end(
        self, subscription_id: str, idempotency_key: str, request_tag: str | None = None
    ) -> stripe.Subscription:
        self._call("cancel_subscription_at_period_end", subscription_id)
        self.writes.append(("cancel_at_period_end", subscription_id, idempotency_key))
        sub = self.subscriptions_by_id[subscription_id]
        sub["cancel_at_period_end"] = True
        if request_tag is not None:
            sub["metadata"] = {**(sub.get("metadata") or {}), "megadesk_request": request_tag}
        return d.to_subscription(sub)

    async def keep_subscription_renewing(self, subscription_id: str, idempotency_key: str) -> stripe.Subscription:
        self._call("keep_subscription_renewing", subscription_id)
        self.writes.append(("resume", subscription_id, idempotency_key))
        self.subscriptions_by_id[subscription_id]["cancel_at_period_end"] = False
        return d.to_subscription(self.subscriptions_by_id[subscription_id])

    async def refunds_of_payment(self, payment_intent_id: str, max_pages: int = 20) -> list[RefundRecord]:
        self._call("refunds_of_payment", payment_intent_id)
        charge = self.payment_intents_by_id[payment_intent_id]["latest_charge"]
        refunds = charge.get("refunds") if isinstance(charge, dict) else None
        return [refund_record(r) for r in (refunds or {}).get("data", [])]
