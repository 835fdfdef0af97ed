"""Subscription lifecycle: first invoice, renewals, failed renewals, cancellation.

Invoices are paid through a PaymentIntent linked by an InvoicePayment
(``payment: {"type": "payment_intent", ...}``): the current API has no
``invoice.payment_intent``/``invoice.charge``. Every function takes ``at`` so seeding can
lay out a believable history in the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stripe_emulator import objects
from stripe_emulator.cards import CARDS, Decline
from stripe_emulator.errors import invalid_request, no_such
from stripe_emulator.periods import add_interval
from stripe_emulator.services import payment_intents, payment_methods
from stripe_emulator.store import Store

JsonDict = dict[str, Any]
Outcome = Literal["auto", "paid", "failed"]

RETRY_DELAY = 3 * 24 * 60 * 60
_RENEWAL_DECLINE = CARDS["chargeDeclined"].decline


@dataclass(frozen=True)
class LineRequest:
    price: str
    quantity: int = 1


def _period_end(sub: JsonDict) -> int:
    return max(int(i["current_period_end"]) for i in sub["items"]["data"])


def _period_start(sub: JsonDict) -> int:
    return min(int(i["current_period_start"]) for i in sub["items"]["data"])


def _next_number(customer: JsonDict) -> str:
    sequence = int(customer.get("next_invoice_sequence") or 1)
    customer["next_invoice_sequence"] = sequence + 1
    return f"{customer['invoice_prefix']}-{sequence:04d}"


def _payment_method_for(store: Store, sub: JsonDict, customer: JsonDict, at: int) -> str:
    chosen = sub.get("default_payment_method") or (customer.get("invoice_settings") or {}).get("default_payment_method")
    if chosen:
        return str(chosen)
    attached = [m for m in store.all("payment_method") if m.get("customer") == customer["id"]]
    if attached:
        # Emulator leniency: Stripe wants a *default* method; the newest attached one pays.
        return str(attached[0]["id"])
    # Emulator convenience: real Stripe would refuse a charge_automatically subscription
    # for a customer without a payment method; here a fresh test visa pays.
    return str(payment_methods.new_from_card(store, CARDS["visa"], at)["id"])


def _open_invoice(
    store: Store,
    sub: JsonDict,
    customer: JsonDict,
    *,
    at: int,
    billing_reason: str,
    period_start: int,
    period_end: int,
    line_start: int,
    line_end: int,
) -> JsonDict:
    invoice = objects.invoice(
        created=at,
        customer=customer,
        currency=sub["currency"],
        billing_reason=billing_reason,
        period_start=period_start,
        period_end=period_end,
        number=_next_number(customer),
        subscription=sub,
    )
    total = 0
    for item in sub["items"]["data"]:
        product = store.get(item["price"]["product"]) or {}
        line = objects.invoice_line(
            invoice=invoice["id"],
            item=item,
            product_name=str(product.get("name", "Subscription")),
            period_start=line_start,
            period_end=line_end,
        )
        if billing_reason == "subscription_create" and sub["status"] == "trialing":
            line["amount"] = line["subtotal"] = 0
            line["description"] = f"Trial period for {product.get('name', 'Subscription')}"
        invoice["lines"]["data"].append(line)
        total += int(line["amount"])
    invoice.update(
        amount_due=total,
        amount_remaining=total,
        subtotal=total,
        subtotal_excluding_tax=total,
        total=total,
        total_excluding_tax=total,
    )
    sub["latest_invoice"] = invoice["id"]
    return store.add(invoice)


def _mark_paid(invoice: JsonDict, at: int) -> None:
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        attempted=True,
        attempt_count=max(1, int(invoice["attempt_count"])) if invoice["amount_due"] else 0,
        auto_advance=False,
        next_payment_attempt=None,
    )
    invoice["status_transitions"]["paid_at"] = at


def _request_payment(
    store: Store,
    invoice: JsonDict,
    customer: JsonDict,
    *,
    at: int,
    description: str,
    payment_method: str | None = None,
) -> tuple[JsonDict, JsonDict]:
    """An unconfirmed PaymentIntent for ``invoice`` and the open InvoicePayment linking them.

    Without ``payment_method`` the intent waits for the client to supply one.
    """
    amount, currency = int(invoice["amount_due"]), invoice["currency"]
    intent = payment_intents.create_intent(
        store,
        at=at,
        amount=amount,
        currency=currency,
        customer=customer["id"],
        description=description,
        payment_method=payment_method,
        automatic_payment_methods=None if payment_method else {"enabled": True, "allow_redirects": "always"},
    )
    payment = store.add(
        objects.invoice_payment(
            created=at, invoice=invoice["id"], payment_intent=intent["id"], amount=amount, currency=currency
        )
    )
    return intent, payment


def _collect(
    store: Store,
    invoice: JsonDict,
    sub: JsonDict,
    customer: JsonDict,
    *,
    at: int,
    force: Decline | None = None,
    description: str,
) -> Decline | None:
    """Pay ``invoice`` through a new PaymentIntent; the decline, if any, is returned."""
    if int(invoice["amount_due"]) == 0:
        _mark_paid(invoice, at)
        return None
    intent, payment = _request_payment(
        store,
        invoice,
        customer,
        at=at,
        description=description,
        payment_method=_payment_method_for(store, sub, customer, at),
    )
    decline = payment_intents.confirm(store, intent, at, force=force)
    invoice["attempted"] = True
    invoice["attempt_count"] = int(invoice["attempt_count"]) + 1
    if decline is None:
        _mark_paid(invoice, at)
        payment.update(status="paid", amount_paid=invoice["amount_paid"])
        payment["status_transitions"]["paid_at"] = at
    return decline


def refresh_delinquency(store: Store, customer_id: str) -> None:
    customer = store.get(customer_id)
    if customer is None or customer.get("deleted"):
        return
    customer["delinquent"] = any(
        i["customer"] == customer_id and i["status"] == "open" and i["attempted"] for i in store.all("invoice")
    )


def create_subscription(
    store: Store,
    *,
    at: int,
    customer_id: str,
    lines: list[LineRequest],
    trial_period_days: int | None = None,
    default_payment_method: str | None = None,
    cancel_at_period_end: bool = False,
    metadata: dict[str, str] | None = None,
    description: str | None = None,
    payment_behavior: str = "allow_incomplete",
) -> JsonDict:
    customer = store.require_live("customer", customer_id, "customer")
    if not lines:
        raise invalid_request("Missing required param: items.", code="parameter_missing", param="items")
    prices = []
    for index, line in enumerate(lines):
        param = f"items[{index}][price]"
        price = store.require("price", line.price, param)
        if price["type"] != "recurring":
            raise invalid_request(
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.",
                param=param,
            )
        if line.quantity < 0:
            raise invalid_request(
                "Invalid non-negative integer",
                code="parameter_invalid_integer",
                param=f"items[{index}][quantity]",
            )
        prices.append(price)
    first = prices[0]
    if any(
        (p["currency"], p["recurring"]["interval"], p["recurring"]["interval_count"])
        != (first["currency"], first["recurring"]["interval"], first["recurring"]["interval_count"])
        for p in prices
    ):
        raise invalid_request(
            "Currency and interval fields must match across all prices on this subscription.",
            param="items",
        )
    if default_payment_method is not None:
        method = payment_methods.resolve(store, default_payment_method, at, "default_payment_method")
        if method.get("customer") not in (None, customer_id):
            raise invalid_request(
                "The payment method must be attached to this subscription's customer.",
                param="default_payment_method",
            )
        if method.get("customer") is None:
            payment_methods.attach(store, method, customer_id)
        default_payment_method = method["id"]

    trial_end = at + trial_period_days * 86400 if trial_period_days else None
    recurring = first["recurring"]
    period_end = trial_end or add_interval(at, recurring["interval"], recurring["interval_count"])
    sub = objects.subscription(
        created=at,
        customer=customer_id,
        currency=first["currency"],
        status="trialing" if trial_end else "incomplete",
        default_payment_method=default_payment_method,
        description=description,
        metadata=metadata,
        trial_start=at if trial_end else None,
        trial_end=trial_end,
    )
    for price, line in zip(prices, lines, strict=True):
        sub["items"]["data"].append(
            objects.subscription_item(
                created=at,
                subscription=sub["id"],
                price_obj=price,
                quantity=line.quantity,
                period_start=at,
                period_end=period_end,
            )
        )
    store.add(sub)
    if customer.get("currency") is None:
        customer["currency"] = first["currency"]
    # Stripe's first invoice covers the instant of creation; its lines cover the period.
    invoice = _open_invoice(
        store,
        sub,
        customer,
        at=at,
        billing_reason="subscription_create",
        period_start=at,
        period_end=at,
        line_start=at,
        line_end=period_end,
    )
    if payment_behavior == "default_incomplete" and int(invoice["amount_due"]) > 0:
        # The first payment is left for the client to confirm (e.g. with Stripe.js).
        _request_payment(store, invoice, customer, at=at, description="Subscription creation")
    else:
        decline = _collect(store, invoice, sub, customer, at=at, description="Subscription creation")
        if sub["status"] == "incomplete" and decline is None:
            sub["status"] = "active"
    if cancel_at_period_end:
        set_cancel_at_period_end(sub, True)
    return sub


def set_cancel_at_period_end(sub: JsonDict, value: bool) -> None:
    sub["cancel_at_period_end"] = value
    sub["cancel_at"] = _period_end(sub) if value else None
    sub["cancellation_details"]["reason"] = "cancellation_requested" if value else None


def advance(store: Store, sub: JsonDict, *, at: int, outcome: Outcome = "auto") -> JsonDict:
    """Run the subscription's next renewal: a new period, an invoice and its payment.

    The renewal happens at the current period's end if that is already past, otherwise
    now (the period is cut short), so tests can force a renewal at any time. A
    subscription set to cancel at period end ends instead of renewing.
    """
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid_request(f"Subscription {sub['id']} has status {sub['status']} and cannot renew.")
    renewal = min(_period_end(sub), at)
    if sub.get("cancel_at") is not None and int(sub["cancel_at"]) <= _period_end(sub):
        _end(sub, renewal)
        return sub
    customer = store.require_live("customer", sub["customer"], "customer")
    previous_start = _period_start(sub)
    for item in sub["items"]["data"]:
        recurring = item["price"]["recurring"]
        item["current_period_start"] = renewal
        item["current_period_end"] = add_interval(renewal, recurring["interval"], recurring["interval_count"])
    invoice = _open_invoice(
        store,
        sub,
        customer,
        at=renewal,
        billing_reason="subscription_cycle",
        period_start=previous_start,
        period_end=renewal,
        line_start=renewal,
        line_end=_period_end(sub),
    )
    force = _RENEWAL_DECLINE if outcome == "failed" else None
    if outcome == "paid":
        method = _payment_method_for(store, sub, customer, renewal)
        if payment_methods.test_card(store, method).decline is not None:
            sub["default_payment_method"] = payment_methods.new_from_card(store, CARDS["visa"], renewal)["id"]
    decline = _collect(store, invoice, sub, customer, at=renewal, force=force, description="Subscription update")
    if decline is None:
        sub["status"] = "active"
    else:
        sub["status"] = "past_due"
        invoice["next_payment_attempt"] = renewal + RETRY_DELAY
    refresh_delinquency(store, customer["id"])
    return sub


def _end(sub: JsonDict, at: int) -> None:
    sub.update(status="canceled", canceled_at=sub.get("canceled_at") or at, ended_at=at)
    if sub["cancellation_details"].get("reason") is None:
        sub["cancellation_details"]["reason"] = "cancellation_requested"


def cancel(store: Store, sub: JsonDict, at: int) -> JsonDict:
    if sub["status"] == "canceled":
        # Real Stripe treats a canceled subscription as gone for cancellation purposes.
        raise no_such("subscription", sub["id"])
    sub["canceled_at"] = at
    _end(sub, at)
    return sub
