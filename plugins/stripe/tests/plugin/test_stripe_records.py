"""The payment list is read as JSON: its field names must still be Stripe's."""

from __future__ import annotations

import pytest
import stripe
import stripe_dicts as d
from megadesk_stripe.records import (
    SubscriptionFields,
    _ChargeFields,
    _PaymentIntentFields,
    _PriceFields,
    _ProductFields,
    _RecurringFields,
    _SubscriptionItemFields,
    payment_record,
    subscription_fields,
    subscription_record,
)
from pydantic import BaseModel


@pytest.mark.parametrize(
    ("fields", "stripe_class"),
    [
        (_PaymentIntentFields, stripe.PaymentIntent),
        (_ChargeFields, stripe.Charge),
        (SubscriptionFields, stripe.Subscription),
        (_SubscriptionItemFields, stripe.SubscriptionItem),
        (_PriceFields, stripe.Price),
        (_RecurringFields, stripe.Price.Recurring),
        (_ProductFields, stripe.Product),
    ],
)
def test_every_field_read_from_json_is_a_field_of_the_pinned_api(
    fields: type[BaseModel], stripe_class: type[stripe.StripeObject]
) -> None:
    declared = {name for cls in stripe_class.__mro__ for name in getattr(cls, "__annotations__", {})}
    assert set(fields.model_fields) <= declared


def test_json_and_stripe_objects_give_the_same_record() -> None:
    values = d.payment_intent("pi_A", customer="cus_A")
    assert payment_record(d.to_payment_intent(values)) == payment_record(d.to_payment_intent(values).to_dict())


def test_json_and_stripe_objects_give_the_same_subscription() -> None:
    subscription = d.to_subscription(d.subscription("sub_A", customer="cus_A"))
    names = {"prod_A": "Pro plan"}
    assert subscription_record(subscription, names) == subscription_record(
        subscription_fields(subscription.to_dict()), names
    )
