"""Stripe objects as the current API (2026-10-28.endive) sends them, as plain dicts.

Shapes follow Stripe's published fixtures (stripe/openapi ``fixtures3.json``): PaymentIntent
has ``latest_charge`` and no ``charges`` list; subscription periods are on the items.
"""

from __future__ import annotations

from typing import Any

import stripe

JAN_2_2024 = 1704153600  # 2024-01-02T00:00:00Z
FEB_1_2024 = 1706745600
MAR_1_2024 = 1709251200


def customer(
    id: str = "cus_A",
    *,
    email: str | None = "dana@example.test",
    name: str | None = "Dana Scully",
    created: int = JAN_2_2024,
    balance: int = 0,
    currency: str | None = "usd",
    delinquent: bool = False,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "customer",
        "address": None,
        "balance": balance,
        "created": created,
        "currency": currency,
        "default_source": None,
        "delinquent": delinquent,
        "description": None,
        "email": email,
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
        "livemode": False,
        "metadata": {},
        "name": name,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def deleted_customer(id: str = "cus_gone") -> dict[str, Any]:
    return {"id": id, "object": "customer", "deleted": True}


def refund(
    id: str = "re_A",
    *,
    amount: int = 2900,
    status: str = "succeeded",
    failure_reason: str | None = None,
    request_tag: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": id,
        "object": "refund",
        "amount": amount,
        "currency": "usd",
        "metadata": {"megadesk_request": request_tag} if request_tag else {},
        "reason": "requested_by_customer",
        "status": status,
    }
    if failure_reason:
        values["failure_reason"] = failure_reason
    return values


def charge(
    id: str = "ch_A",
    *,
    amount: int = 2900,
    currency: str = "usd",
    amount_refunded: int = 0,
    refunded: bool = False,
    amount_captured: int | None = None,
    refunds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``refunds``: the charge's refunds (expanded, as the gateway asks); by default one succeeded
    refund of ``amount_refunded``, if any."""
    if refunds is None:
        refunds = [refund("re_" + id[3:], amount=amount_refunded)] if amount_refunded else []
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if amount_captured is None else amount_captured,
        "amount_refunded": amount_refunded,
        "captured": True,
        "currency": currency,
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "outcome": {"reason": None, "seller_message": "Payment complete.", "type": "authorized"},
        "paid": True,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{id}",
        "refunded": refunded,
        "refunds": {"object": "list", "data": refunds, "has_more": False, "url": f"/v1/charges/{id}/refunds"},
        "status": "succeeded",
    }


def declined_charge(id: str, *, code: str, decline_code: str | None, message: str) -> dict[str, Any]:
    values = charge(id)
    values.update(
        amount_captured=0,
        captured=False,
        paid=False,
        receipt_url=None,
        status="failed",
        failure_code=code,
        failure_message=message,
        outcome={"reason": decline_code, "seller_message": "The bank declined it.", "type": "issuer_declined"},
    )
    return values


def payment_intent(
    id: str = "pi_A",
    *,
    amount: int = 2900,
    currency: str = "usd",
    status: str = "succeeded",
    created: int = FEB_1_2024,
    customer: str | None = "cus_A",
    description: str | None = "Pro plan",
    amount_refunded: int = 0,
    refunded: bool = False,
    amount_captured: int | None = None,
    with_charge: bool = True,
    refunds: list[dict[str, Any]] | None = None,
    decline: tuple[str, str | None, str] | None = None,
) -> dict[str, Any]:
    """``amount_captured`` below ``amount``: a partial capture. ``with_charge=False``: the latest
    charge is not expanded (its id only). ``decline``: ``(code, decline_code, message)`` of a
    failed attempt (the intent then waits for a new payment method)."""
    captured = amount if amount_captured is None else amount_captured
    latest_charge: dict[str, Any] | str | None = None
    if status == "succeeded":
        latest_charge = (
            charge(
                "ch_" + id[3:],
                amount=amount,
                currency=currency,
                amount_refunded=amount_refunded,
                refunded=refunded,
                amount_captured=captured,
                refunds=refunds,
            )
            if with_charge
            else "ch_" + id[3:]
        )
    last_payment_error = None
    if decline is not None:
        status = "requires_payment_method"
        code, decline_code, message = decline
        latest_charge = declined_charge("ch_" + id[3:], code=code, decline_code=decline_code, message=message)
        last_payment_error = {"type": "card_error", "code": code, "decline_code": decline_code, "message": message}
    return {
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": captured if status == "succeeded" else 0,
        "canceled_at": None,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "last_payment_error": last_payment_error,
        "latest_charge": latest_charge,
        "livemode": False,
        "metadata": {},
        "payment_method": "pm_A",
        "status": status,
    }


def price(
    id: str = "price_A",
    *,
    unit_amount: int = 2900,
    currency: str = "usd",
    interval: str = "month",
    interval_count: int = 1,
    product: str | dict[str, Any] = "prod_A",
    nickname: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "price",
        "active": True,
        "currency": currency,
        "nickname": nickname,
        "product": product,
        "recurring": {"interval": interval, "interval_count": interval_count, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": unit_amount,
    }


def product(id: str = "prod_A", name: str = "Pro plan") -> dict[str, Any]:
    return {"id": id, "object": "product", "active": True, "name": name}


def subscription(
    id: str = "sub_A",
    *,
    customer: str = "cus_A",
    status: str = "active",
    item_price: dict[str, Any] | None = None,
    quantity: int = 1,
    current_period_end: int = MAR_1_2024,
    cancel_at_period_end: bool = False,
    trial_end: int | None = None,
    latest_invoice: str | None = "in_A",
) -> dict[str, Any]:
    item = {
        "id": "si_" + id[4:],
        "object": "subscription_item",
        "current_period_end": current_period_end,
        "current_period_start": current_period_end - 29 * 86400,
        "price": item_price or price(),
        "quantity": quantity,
        "subscription": id,
    }
    return {
        "id": id,
        "object": "subscription",
        "cancel_at": current_period_end if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": None,
        "created": JAN_2_2024,
        "currency": "usd",
        "customer": customer,
        "ended_at": None,
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={id}",
        },
        "latest_invoice": latest_invoice,
        "livemode": False,
        "status": status,
        "trial_end": trial_end,
    }


def to_customer(values: dict[str, Any]) -> stripe.Customer:
    return stripe.Customer.construct_from(values, None)


def to_payment_intent(values: dict[str, Any]) -> stripe.PaymentIntent:
    return stripe.PaymentIntent.construct_from(values, None)


def to_subscription(values: dict[str, Any]) -> stripe.Subscription:
    return stripe.Subscription.construct_from(values, None)
