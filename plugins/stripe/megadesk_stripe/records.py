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
from pydantic import BaseModel, ConfigDict

LIVE_SUBSCRIPTION_STATUSES = frozenset({"active", "trialing", "past_due"})
FINAL_SUBSCRIPTION_STATUSES = frozenset({"canceled", "incomplete_expired"})


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


class SubscriptionFields(_Fields):
    """A subscription as read from Stripe, before product names are known."""

    id: str
    status: str
    customer: str | dict[str, Any] | None = None
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    trial_end: int | None = None
    latest_invoice: str | dict[str, Any] | None = None
    items: _SubscriptionItemList


def subscription_fields(subscription: stripe.Subscription | Mapping[str, Any]) -> SubscriptionFields:
    """From a ``stripe.Subscription`` or the JSON of one (the panel reads its list as JSON: see
    :func:`payment_record`)."""
    data = subscription.to_dict() if isinstance(subscription, stripe.StripeObject) else subscription
    return SubscriptionFields.model_validate(data)


def _json_id(value: str | dict[str, Any] | None) -> str | None:
    """The id of an expandable field in JSON, whether Stripe sent the id or the object."""
    return str(value["id"]) if isinstance(value, dict) else value


def _product_name(price: _PriceFields, product_names: Mapping[str, str]) -> str:
    product = price.product
    if isinstance(product, _ProductFields) and not product.deleted and product.name:
        return product.name
    if isinstance(product, str) and product in product_names:
        return product_names[product]
    return price.nickname or price.id


def product_ids(subscriptions: Iterable[SubscriptionFields]) -> set[str]:
    """The products named (not expanded) on the subscriptions' prices."""
    return {
        item.price.product
        for subscription in subscriptions
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
    return SubscriptionRecord(
        id=fields.id,
        status=fields.status,
        customer_id=_json_id(fields.customer),
        cancel_at_period_end=fields.cancel_at_period_end,
        cancel_at=fields.cancel_at,
        trial_end=fields.trial_end,
        latest_invoice_id=_json_id(fields.latest_invoice),
        items=items,
    )


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
    refunded: bool
    """Fully refunded."""
    amount_captured: int | None = None
    """What was actually charged (less than ``amount`` when only part was captured); ``None``:
    not known, taken as ``amount``."""

    @property
    def captured_amount(self) -> int:
        return self.amount if self.amount_captured is None else self.amount_captured

    @property
    def refundable_amount(self) -> int:
        """What a refund without an amount gives back: Stripe refunds what was captured and not
        refunded yet, not the intent's ``amount``."""
        return 0 if self.refunded else max(0, self.captured_amount - self.amount_refunded)

    @property
    def can_refund(self) -> bool:
        return self.status == "succeeded" and self.refundable_amount > 0

    @property
    def fully_refunded(self) -> bool:
        return self.refunded or (self.amount_refunded > 0 and self.amount_refunded >= self.captured_amount)

    @property
    def refund_state(self) -> str | None:
        if self.fully_refunded:
            return "refunded"
        return "partly refunded" if self.amount_refunded else None


class _ChargeFields(_Fields):
    """The fields of a Charge a payment's refund state needs."""

    id: str
    amount_captured: int | None = None
    amount_refunded: int = 0
    refunded: bool = False


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


def payment_record(intent: stripe.PaymentIntent | Mapping[str, Any]) -> PaymentRecord:
    """A payment from a PaymentIntent: a ``stripe.PaymentIntent`` or the JSON of one. The panel
    reads its list as JSON: building stripe-python objects for ten payment intents with their
    charges cost more CPU than the rest of a render together."""
    data = intent.to_dict() if isinstance(intent, stripe.StripeObject) else intent
    fields = _PaymentIntentFields.model_validate(data)
    # Refund state is only known when latest_charge was expanded; the gateway always expands it.
    # Without it, what was captured is the intent's amount_received (0 until it succeeds).
    charge = fields.latest_charge if isinstance(fields.latest_charge, _ChargeFields) else None
    customer = fields.customer
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
    )
