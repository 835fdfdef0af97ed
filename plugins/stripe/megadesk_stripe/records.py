"""Plain, frozen views of the Stripe objects the panel and the actions use.

Built from stripe-python's typed objects (so mypy checks every field name against the pinned
API version) and independent of stripe-python afterwards, which keeps the panel code and its
tests simple. The current API shapes matter here: a PaymentIntent's refund state is on its
``latest_charge``; a subscription's period is on its items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe
from pydantic import BaseModel, ConfigDict, ValidationError

LIVE_SUBSCRIPTION_STATUSES = frozenset({"active", "trialing", "past_due"})
FINAL_SUBSCRIPTION_STATUSES = frozenset({"canceled", "incomplete_expired"})


def expandable_id(value: str | stripe.StripeObject | None) -> str | None:
    """The id of an expandable field, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


def is_deleted(obj: stripe.StripeObject) -> bool:
    return "deleted" in obj and bool(obj["deleted"])


@dataclass(frozen=True)
class CustomerRecord:
    id: str
    name: str | None
    email: str | None
    created: int
    balance: int
    currency: str | None
    delinquent: bool | None


def customer_record(customer: stripe.Customer) -> CustomerRecord:
    return CustomerRecord(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        created=customer.created,
        balance=customer.balance or 0,
        currency=customer.currency,
        delinquent=customer.delinquent,
    )


@dataclass(frozen=True)
class SubscriptionItemRecord:
    product_name: str
    unit_amount: int | None
    currency: str
    interval: str | None
    interval_count: int
    quantity: int
    current_period_end: int | None


@dataclass(frozen=True)
class SubscriptionRecord:
    id: str
    status: str
    customer_id: str | None
    cancel_at_period_end: bool
    cancel_at: int | None
    trial_end: int | None
    latest_invoice_id: str | None
    items: tuple[SubscriptionItemRecord, ...]
    latest_invoice_url: str | None = None
    """The latest invoice's hosted page (only when the list came with the invoices expanded)."""
    latest_invoice_pdf: str | None = None

    @property
    def current_period_end(self) -> int | None:
        """When the current period ends: the earliest end among the items."""
        ends = [i.current_period_end for i in self.items if i.current_period_end is not None]
        return min(ends) if ends else None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_SUBSCRIPTION_STATUSES


class _Fields(BaseModel):
    """The fields of a Stripe object that a record needs, read from its JSON (names checked
    against stripe-python's classes by the tests); other fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _RecurringFields(_Fields):
    interval: str
    interval_count: int = 1


class _ProductFields(_Fields):
    id: str
    name: str | None = None
    deleted: bool = False


class _PriceFields(_Fields):
    id: str
    product: str | _ProductFields
    nickname: str | None = None
    unit_amount: int | None = None
    currency: str
    recurring: _RecurringFields | None = None


class _SubscriptionItemFields(_Fields):
    price: _PriceFields
    quantity: int | None = None
    current_period_end: int | None = None


class _SubscriptionItemList(_Fields):
    data: list[_SubscriptionItemFields]


class _InvoiceLinkFields(_Fields):
    """An expanded latest invoice, for its links only."""

    id: str
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None


class SubscriptionFields(_Fields):
    """A subscription as read from Stripe, before product names are known."""

    id: str
    status: str
    customer: str | dict[str, Any] | None = None
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    trial_end: int | None = None
    latest_invoice: str | _InvoiceLinkFields | None = None
    items: _SubscriptionItemList


@dataclass(frozen=True)
class UnreadableSubscription:
    """A subscription Stripe listed but the panel could not read (an unexpected shape): shown as
    unavailable in its row, so the other subscriptions still show."""

    id: str
    reason: str


def subscription_fields(subscription: stripe.Subscription | Mapping[str, Any]) -> SubscriptionFields:
    """From a ``stripe.Subscription`` or the JSON of one (the panel reads its list as JSON: see
    :func:`payment_record`)."""
    data = subscription.to_dict() if isinstance(subscription, stripe.StripeObject) else subscription
    return SubscriptionFields.model_validate(data)


def readable_subscription(data: Mapping[str, Any]) -> SubscriptionFields | UnreadableSubscription:
    """One listed subscription's JSON, or why it cannot be shown (its id, if it has one)."""
    try:
        return SubscriptionFields.model_validate(data)
    except ValidationError:
        subscription_id = data.get("id") if isinstance(data, Mapping) else None
        return UnreadableSubscription(
            str(subscription_id or "?"), "Stripe sent this subscription in a form the panel cannot read."
        )


def _json_id(value: str | _InvoiceLinkFields | dict[str, Any] | None) -> str | None:
    """The id of an expandable field in JSON, whether Stripe sent the id or the object."""
    if isinstance(value, _InvoiceLinkFields):
        return value.id
    return str(value["id"]) if isinstance(value, dict) else value


def _product_name(price: _PriceFields, product_names: Mapping[str, str]) -> str:
    product = price.product
    if isinstance(product, _ProductFields) and not product.deleted and product.name:
        return product.name
    if isinstance(product, str) and product in product_names:
        return product_names[product]
    return price.nickname or price.id


def product_ids(subscriptions: Iterable[SubscriptionFields | UnreadableSubscription]) -> set[str]:
    """The products named (not expanded) on the subscriptions' prices (an unreadable
    subscription names none)."""
    return {
        item.price.product
        for subscription in subscriptions
        if isinstance(subscription, SubscriptionFields)
        for item in subscription.items.data
        if isinstance(item.price.product, str)
    }


def subscription_record(
    subscription: SubscriptionFields | stripe.Subscription, product_names: Mapping[str, str] | None = None
) -> SubscriptionRecord:
    """``product_names`` maps product ids to names for prices whose product is not expanded."""
    fields = subscription if isinstance(subscription, SubscriptionFields) else subscription_fields(subscription)
    items = tuple(
        SubscriptionItemRecord(
            product_name=_product_name(item.price, product_names or {}),
            unit_amount=item.price.unit_amount,
            currency=item.price.currency,
            interval=item.price.recurring.interval if item.price.recurring else None,
            interval_count=item.price.recurring.interval_count if item.price.recurring else 1,
            quantity=item.quantity or 1,
            current_period_end=item.current_period_end,
        )
        for item in fields.items.data
    )
    invoice = fields.latest_invoice
    expanded_invoice = invoice if isinstance(invoice, _InvoiceLinkFields) else None
    return SubscriptionRecord(
        id=fields.id,
        status=fields.status,
        customer_id=_json_id(fields.customer),
        cancel_at_period_end=fields.cancel_at_period_end,
        cancel_at=fields.cancel_at,
        trial_end=fields.trial_end,
        latest_invoice_id=_json_id(fields.latest_invoice),
        items=items,
        latest_invoice_url=expanded_invoice.hosted_invoice_url if expanded_invoice else None,
        latest_invoice_pdf=expanded_invoice.invoice_pdf if expanded_invoice else None,
    )


PENDING_REFUND_STATUSES = frozenset({"pending", "requires_action"})


@dataclass(frozen=True)
class RefundRecord:
    """One refund of a payment, as listed on its charge (``latest_charge.refunds``)."""

    id: str
    amount: int
    status: str | None
    """``pending``, ``requires_action``, ``succeeded``, ``failed`` or ``canceled``."""
    failure_reason: str | None = None
    request_tag: str | None = None
    """The ``megadesk_request`` metadata tag of a refund this integration made (see ``refund_guard``)."""

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_REFUND_STATUSES


@dataclass(frozen=True)
class DeclineRecord:
    """Why a payment attempt failed, as Stripe reported it."""

    code: str | None
    decline_code: str | None
    message: str | None


@dataclass(frozen=True)
class PaymentRecord:
    id: str
    amount: int
    currency: str
    status: str
    created: int
    description: str | None
    customer_id: str | None
    amount_refunded: int
    """Stripe's ``charge.amount_refunded``: pending refunds included, failed ones not."""
    refunded: bool
    """Fully refunded (Stripe's ``charge.refunded``; a pending refund counts)."""
    amount_captured: int | None = None
    """What was actually charged (less than ``amount`` when only part was captured); ``None``:
    not known, taken as ``amount``."""
    charge_id: str | None = None
    disputed: bool = False
    receipt_url: str | None = None
    refunds: tuple[RefundRecord, ...] = ()
    refunds_complete: bool = False
    """Every refund of the charge is in ``refunds`` (the list came with the charge, no more pages)."""
    decline: DeclineRecord | None = None
    charge_failed: bool = False

    @property
    def captured_amount(self) -> int:
        return self.amount if self.amount_captured is None else self.amount_captured

    @property
    def refundable_amount(self) -> int:
        """What a refund without an amount gives back: Stripe refunds what was captured and not
        refunded yet (pending refunds count as refunded), not the intent's ``amount``."""
        return 0 if self.refunded else max(0, self.captured_amount - self.amount_refunded)

    @property
    def can_refund(self) -> bool:
        # Stripe refuses to refund a disputed charge (charge_disputed): the dispute decides.
        return self.status == "succeeded" and not self.disputed and self.refundable_amount > 0

    @property
    def fully_refunded(self) -> bool:
        """Nothing left to refund in Stripe's eyes (pending refunds included)."""
        return self.refunded or (self.amount_refunded > 0 and self.amount_refunded >= self.captured_amount)

    @property
    def pending_refund_amount(self) -> int:
        return sum(r.amount for r in self.refunds if r.is_pending)

    @property
    def settled_refund_amount(self) -> int:
        """Money actually back with the customer: Stripe's total less refunds still pending."""
        return max(0, self.amount_refunded - self.pending_refund_amount)

    @property
    def unsuccessful_refunds(self) -> tuple[RefundRecord, ...]:
        """Refunds that failed or were canceled: their money was not sent back."""
        return tuple(r for r in self.refunds if r.status in ("failed", "canceled"))

    @property
    def refund_state(self) -> str | None:
        settled = self.settled_refund_amount
        if self.pending_refund_amount:
            return "refund pending"
        if settled and settled >= self.captured_amount:
            return "refunded"
        if settled:
            return "partly refunded"
        if any(r.status == "failed" for r in self.refunds):
            return "refund failed"
        return None

    @property
    def has_failed_attempt(self) -> bool:
        """The payment did not go through (the intent waits for a new card, or the charge failed)."""
        return self.status == "requires_payment_method" or self.charge_failed

    def has_refund_tagged(self, tag: str) -> bool:
        return any(r.request_tag == tag for r in self.refunds)


REQUEST_TAG_KEY = "megadesk_request"
"""The refund (and subscription) metadata key that carries the tag of the request that made it."""


def cancel_comment(request_tag: str) -> str:
    """The cancellation comment of a subscription this integration canceled now (a cancel
    request takes no metadata): carries the request's tag."""
    return f"Canceled from Megadesk ({REQUEST_TAG_KEY} {request_tag})"


class _RefundFields(_Fields):
    """The fields of a Refund the panel and the refund action use (checked against ``stripe.Refund``)."""

    id: str
    amount: int
    status: str | None = None
    failure_reason: str | None = None
    metadata: dict[str, str] | None = None


class _RefundListFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: list[_RefundFields] = []
    has_more: bool = False


class _OutcomeFields(_Fields):
    """The fields of ``Charge.outcome`` a decline reason uses (checked against ``stripe.Charge.Outcome``)."""

    reason: str | None = None
    seller_message: str | None = None


class _ChargeFields(_Fields):
    """The fields of a Charge a payment's refund, dispute, receipt and decline state needs."""

    id: str
    amount_captured: int | None = None
    amount_refunded: int = 0
    refunded: bool = False
    disputed: bool = False
    receipt_url: str | None = None
    status: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    outcome: _OutcomeFields | None = None
    refunds: _RefundListFields | None = None


class _PaymentErrorFields(_Fields):
    """The fields of ``PaymentIntent.last_payment_error`` (checked against
    ``stripe.PaymentIntent.LastPaymentError``)."""

    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


class _PaymentIntentFields(_Fields):
    """The fields of a PaymentIntent the panel and the actions use."""

    id: str
    amount: int
    currency: str
    status: str
    created: int
    description: str | None = None
    customer: str | dict[str, Any] | None = None
    latest_charge: str | _ChargeFields | None = None
    amount_received: int | None = None
    last_payment_error: _PaymentErrorFields | None = None


def _refund_record(fields: _RefundFields) -> RefundRecord:
    return RefundRecord(
        id=fields.id,
        amount=fields.amount,
        status=fields.status,
        failure_reason=fields.failure_reason,
        request_tag=(fields.metadata or {}).get(REQUEST_TAG_KEY),
    )


def refund_record(refund: stripe.Refund | Mapping[str, Any]) -> RefundRecord:
    """A refund from a ``stripe.Refund`` or the JSON of one."""
    data = refund.to_dict() if isinstance(refund, stripe.StripeObject) else refund
    return _refund_record(_RefundFields.model_validate(data))


def _decline(error: _PaymentErrorFields | None, charge: _ChargeFields | None) -> DeclineRecord | None:
    """Why the last attempt failed: the intent's ``last_payment_error`` first (it is about the
    latest attempt), else the failed charge's codes and outcome."""
    if error is not None and (error.code or error.decline_code or error.message):
        return DeclineRecord(code=error.code, decline_code=error.decline_code, message=error.message)
    if charge is not None and charge.status == "failed":
        outcome = charge.outcome
        return DeclineRecord(
            code=charge.failure_code,
            decline_code=outcome.reason if outcome else None,
            message=charge.failure_message or (outcome.seller_message if outcome else None),
        )
    return None


def payment_record(intent: stripe.PaymentIntent | Mapping[str, Any]) -> PaymentRecord:
    """A payment from a PaymentIntent: a ``stripe.PaymentIntent`` or the JSON of one. The panel
    reads its list as JSON: building stripe-python objects for ten payment intents with their
    charges cost more CPU than the rest of a render together."""
    data = intent.to_dict() if isinstance(intent, stripe.StripeObject) else intent
    fields = _PaymentIntentFields.model_validate(data)
    # Refund state is only known when latest_charge was expanded; the gateway always expands it
    # (with its refunds). Without it, what was captured is the intent's amount_received.
    charge = fields.latest_charge if isinstance(fields.latest_charge, _ChargeFields) else None
    customer = fields.customer
    refunds = charge.refunds if charge else None
    return PaymentRecord(
        id=fields.id,
        amount=fields.amount,
        currency=fields.currency,
        status=fields.status,
        created=fields.created,
        description=fields.description,
        customer_id=_json_id(customer),
        amount_refunded=charge.amount_refunded if charge else 0,
        refunded=charge.refunded if charge else False,
        amount_captured=charge.amount_captured if charge else fields.amount_received,
        charge_id=charge.id if charge else (fields.latest_charge if isinstance(fields.latest_charge, str) else None),
        disputed=charge.disputed if charge else False,
        receipt_url=charge.receipt_url if charge else None,
        refunds=tuple(_refund_record(r) for r in refunds.data) if refunds else (),
        refunds_complete=refunds is not None and not refunds.has_more,
        decline=_decline(fields.last_payment_error, charge),
        charge_failed=charge is not None and charge.status == "failed",
    )


@dataclass(frozen=True)
class PaymentPage:
    """One page of a customer's payments, newest first; ``has_more``: older ones exist."""

    payments: list[PaymentRecord]
    has_more: bool = False
