"""Every call this integration makes to Stripe, and nothing else.

Each method names the permission its call needs, so a Stripe permission error that does not
name one still tells the admin what to add. Writes take an idempotency key: Stripe returns the
first result for a repeated key instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import stripe
from stripe.params import (
    ProductListParams,
    RefundCreateParams,
    RefundListParams,
    SubscriptionCancelParams,
    SubscriptionUpdateParams,
)

from megadesk_stripe import permissions as perm
from megadesk_stripe.disputes import DisputeRecord, dispute_record
from megadesk_stripe.errors import stripe_errors, translate
from megadesk_stripe.permissions import Permission
from megadesk_stripe.records import (
    REQUEST_TAG_KEY,
    PaymentPage,
    RefundRecord,
    SubscriptionFields,
    UnreadableSubscription,
    cancel_comment,
    payment_record,
    readable_subscription,
    refund_record,
)

MATCH_LIMIT = 25
"""At most this many customers per email lookup: each match is ranked by its own reads, so more
would cost a render dozens of requests (a person rarely has more than a handful)."""
_PRODUCT_PAGES = 10
_SUBSCRIPTION_PAGES = 10


def search_string(value: str) -> str:
    """``value`` as a quoted string of Stripe's search query language (quotes and backslashes
    escaped with a backslash)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


RefundReason = Literal["duplicate", "fraudulent", "requested_by_customer"]
"""The reasons Stripe accepts for a refund."""


class StripeGateway:
    """Stripe calls made with one tenant's client."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client
        self._v1 = client.v1

    # Customers

    async def retrieve_customer(self, customer_id: str) -> stripe.Customer:
        """The customer; a deleted one comes back with ``deleted: true`` (see ``records.is_deleted``)."""
        with stripe_errors(perm.CUSTOMERS_READ):
            return await self._v1.customers.retrieve_async(customer_id)

    async def customers_with_email(self, email: str) -> list[stripe.Customer]:
        """Customers whose email is exactly ``email`` (Stripe's list filter compares
        case-sensitively, and sees a customer the moment it is created)."""
        with stripe_errors(perm.CUSTOMERS_READ):
            page = await self._v1.customers.list_async({"email": email, "limit": MATCH_LIMIT})
        return list(page.data)

    async def search_customers_by_email(self, email: str) -> list[stripe.Customer]:
        """Customers whose email is ``email`` in any letter case: Stripe Search's ``email:``
        clause is an exact, case-insensitive match. Search lags writes (under a minute, longer
        in an outage), has its own rate limit (20 reads/s) and is not offered in India: callers
        pair it with :meth:`customers_with_email` and fall back to it."""
        with stripe_errors(perm.CUSTOMERS_READ):
            page = await self._v1.customers.search_async(
                {"query": f"email:{search_string(email)}", "limit": MATCH_LIMIT}
            )
        return list(page.data)

    # Subscriptions

    async def subscriptions(
        self, customer_id: str, *, with_invoices: bool = False
    ) -> list[SubscriptionFields | UnreadableSubscription]:
        """The customer's subscriptions in any status, newest first, every page of 100 up to
        ``_SUBSCRIPTION_PAGES`` (a live subscription is never lost behind canceled ones; one
        request for nearly every customer); ``with_invoices``: each with its latest invoice's
        links (expanded on the same request; needs Invoices: Read).

        Read as JSON, like the payments, one subscription at a time: one of an unexpected shape
        comes back as :class:`UnreadableSubscription` and the others still show."""
        params: dict[str, object] = {"customer": customer_id, "status": "all", "limit": 100}
        if with_invoices:
            params["expand"] = ["data.latest_invoice"]
        subscriptions: list[SubscriptionFields | UnreadableSubscription] = []
        with stripe_errors(perm.SUBSCRIPTIONS_READ):
            for _ in range(_SUBSCRIPTION_PAGES):
                response = await self._client.raw_request_async("get", "/v1/subscriptions", **params)
                page = response.data["data"]
                subscriptions += [readable_subscription(subscription) for subscription in page]
                if not response.data.get("has_more") or not page:
                    break
                params["starting_after"] = page[-1]["id"]
        return subscriptions

    async def product_names(self) -> dict[str, str]:
        """Every product's name by id (active and archived), at most ``_PRODUCT_PAGES`` pages of
        100; the newest first, so a very large catalogue loses its oldest products' names."""
        names: dict[str, str] = {}
        params: ProductListParams = {"limit": 100}
        with stripe_errors(perm.PRODUCTS_READ):
            for _ in range(_PRODUCT_PAGES):
                page = await self._v1.products.list_async(params)
                names.update((product.id, product.name) for product in page.data)
                if not page.has_more or not page.data:
                    break
                params = {"limit": 100, "starting_after": page.data[-1].id}
        return names

    async def retrieve_subscription(self, subscription_id: str) -> stripe.Subscription:
        with stripe_errors(perm.SUBSCRIPTIONS_READ):
            return await self._v1.subscriptions.retrieve_async(subscription_id)

    async def cancel_subscription_now(
        self, subscription_id: str, idempotency_key: str, request_tag: str | None = None
    ) -> stripe.Subscription:
        """Cancel now; ``request_tag`` goes into the cancellation comment (the cancel request
        takes no metadata), so recovery can tell this request's cancel from anyone else's."""
        params: SubscriptionCancelParams = {}
        if request_tag is not None:
            params["cancellation_details"] = {"comment": cancel_comment(request_tag)}
        with stripe_errors(perm.SUBSCRIPTIONS_WRITE):
            return await self._v1.subscriptions.cancel_async(
                subscription_id, params, options={"idempotency_key": idempotency_key}
            )

    async def cancel_subscription_at_period_end(
        self, subscription_id: str, idempotency_key: str, request_tag: str | None = None
    ) -> stripe.Subscription:
        params: SubscriptionUpdateParams = {"cancel_at_period_end": True}
        if request_tag is not None:
            params["metadata"] = {REQUEST_TAG_KEY: request_tag}
        with stripe_errors(perm.SUBSCRIPTIONS_WRITE):
            return await self._v1.subscriptions.update_async(
                subscription_id, params, options={"idempotency_key": idempotency_key}
            )

    async def keep_subscription_renewing(self, subscription_id: str, idempotency_key: str) -> stripe.Subscription:
        """Undo a cancellation at period end (``cancel_at_period_end`` back to false)."""
        with stripe_errors(perm.SUBSCRIPTIONS_WRITE):
            return await self._v1.subscriptions.update_async(
                subscription_id, {"cancel_at_period_end": False}, options={"idempotency_key": idempotency_key}
            )

    # Payments

    async def payment_intents(
        self, customer_id: str, limit: int, *, with_refunds: bool = True, starting_after: str | None = None
    ) -> PaymentPage:
        """The customer's latest payments (older than ``starting_after``, a payment intent id,
        when given), each with its latest charge and that charge's refunds (refund, dispute flag,
        receipt and decline state), on one request. ``with_refunds=False``: without the refunds
        (a key without Refunds: Read), refund totals from the charge only.

        Read as JSON, not as stripe-python objects: see :func:`~megadesk_stripe.records.payment_record`.
        """
        params: dict[str, object] = {
            "customer": customer_id,
            "limit": limit,
            "expand": ["data.latest_charge.refunds" if with_refunds else "data.latest_charge"],
        }
        if starting_after is not None:
            params["starting_after"] = starting_after
        with stripe_errors(perm.PAYMENT_INTENTS_READ):
            response = await self._client.raw_request_async("get", "/v1/payment_intents", **params)
        payments = [payment_record(intent) for intent in response.data["data"]]
        return PaymentPage(payments, has_more=bool(response.data.get("has_more")))

    async def retrieve_payment_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        with stripe_errors(perm.PAYMENT_INTENTS_READ):
            return await self._v1.payment_intents.retrieve_async(
                payment_intent_id, {"expand": ["latest_charge.refunds"]}
            )

    async def disputes_for_payment(self, payment_intent_id: str) -> list[DisputeRecord]:
        """The disputes of one payment (a payment is rarely disputed more than once)."""
        with stripe_errors(perm.DISPUTES_READ):
            page = await self._v1.disputes.list_async({"payment_intent": payment_intent_id, "limit": 10})
        return [dispute_record(dispute) for dispute in page.data]

    async def invoice_payment_intent_ids(self, invoice_id: str) -> list[str]:
        """The payment intents that paid an invoice (Invoice has no ``payment_intent`` field any more)."""
        with stripe_errors(perm.INVOICES_READ):
            page = await self._v1.invoice_payments.list_async({"invoice": invoice_id, "limit": 10})
        ids: list[str] = []
        for invoice_payment in page.data:
            payment = invoice_payment.payment
            if invoice_payment.status != "paid":
                continue
            if payment.type == "payment_intent" and payment.payment_intent is not None:
                pi = payment.payment_intent
                ids.append(pi if isinstance(pi, str) else pi.id)
        return ids

    async def refunds_of_payment(self, payment_intent_id: str, max_pages: int = 20) -> list[RefundRecord]:
        """Every refund of a payment (up to ``max_pages`` of 100): recovery looks for a request's tag."""
        refunds: list[RefundRecord] = []
        params: RefundListParams = {"payment_intent": payment_intent_id, "limit": 100}
        with stripe_errors(perm.REFUNDS_READ):
            for _ in range(max_pages):
                page = await self._v1.refunds.list_async(params)
                refunds.extend(refund_record(refund) for refund in page.data)
                if not page.has_more or not page.data:
                    break
                params = {"payment_intent": payment_intent_id, "limit": 100, "starting_after": page.data[-1].id}
        return refunds

    async def refund_payment_intent(
        self,
        payment_intent_id: str,
        idempotency_key: str,
        ticket_id: str,
        request_tag: str,
        *,
        amount: int | None = None,
        reason: RefundReason = "requested_by_customer",
        note: str | None = None,
    ) -> stripe.Refund:
        """Refund a payment: ``amount`` (minor units) of it, or without one what is left (Stripe
        refunds the remainder). The request is built only from the action's payload and the
        idempotency key (``request_tag`` is derived from it), so it is identical on a retry, as
        idempotent replay requires. ``note``: the agent's words, kept in the refund's metadata."""
        metadata = {"megadesk_ticket": ticket_id, REQUEST_TAG_KEY: request_tag}
        if note:
            metadata["megadesk_note"] = note
        params: RefundCreateParams = {"payment_intent": payment_intent_id, "reason": reason, "metadata": metadata}
        if amount is not None:
            params["amount"] = amount
        with stripe_errors(perm.REFUNDS_WRITE):
            return await self._v1.refunds.create_async(params, options={"idempotency_key": idempotency_key})

    # Capability probes (read-only)

    async def can(self, permission: Permission) -> bool:
        """Whether the key has a read permission, by listing one object it guards."""
        probe = self._probes().get(permission.code)
        if probe is None:
            raise ValueError(f"{permission.code} cannot be checked with a read-only call")
        try:
            await probe()
        except stripe.PermissionError:
            return False
        except stripe.StripeError as exc:
            raise translate(exc, permission) from exc
        return True

    def _probes(self) -> dict[str, Callable[[], Awaitable[object]]]:
        v1 = self._v1
        return {
            perm.CUSTOMERS_READ.code: lambda: v1.customers.list_async({"limit": 1}),
            perm.PAYMENT_INTENTS_READ.code: lambda: v1.payment_intents.list_async({"limit": 1}),
            perm.CHARGES_READ.code: lambda: v1.charges.list_async({"limit": 1}),
            perm.SUBSCRIPTIONS_READ.code: lambda: v1.subscriptions.list_async({"limit": 1}),
            perm.INVOICES_READ.code: lambda: v1.invoices.list_async({"limit": 1}),
            perm.PRODUCTS_READ.code: lambda: v1.products.list_async({"limit": 1}),
            perm.DISPUTES_READ.code: lambda: v1.disputes.list_async({"limit": 1}),
            perm.REFUNDS_READ.code: lambda: v1.refunds.list_async({"limit": 1}),
        }
