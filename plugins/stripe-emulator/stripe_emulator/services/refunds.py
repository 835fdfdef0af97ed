"""Refunds, with Stripe's refusals: nothing left to refund, too much, not yet paid."""

from __future__ import annotations

from typing import Any

from stripe_emulator import money, objects
from stripe_emulator.context import Call
from stripe_emulator.errors import invalid_request
from stripe_emulator.ids import new_id
from stripe_emulator.pagination import list_object
from stripe_emulator.params import INT, LIST_PARAMS, METADATA, STR, Choice, Obj
from stripe_emulator.services.charges import sync_refunds
from stripe_emulator.services.common import apply_metadata
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
CREATE = Obj(
    {
        "payment_intent": STR,
        "charge": STR,
        "amount": INT,
        "reason": Choice(REASONS),
        "metadata": METADATA,
    }
)
UPDATE = Obj({"metadata": METADATA})
RETRIEVE = Obj()
LIST = Obj({**LIST_PARAMS, "payment_intent": STR, "charge": STR})


def _charge_to_refund(store: Store, params: dict[str, Any]) -> JsonDict:
    intent_id, charge_id = params.get("payment_intent"), params.get("charge")
    if intent_id is None and charge_id is None:
        raise invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    if intent_id is not None:
        intent = store.require("payment_intent", intent_id, "payment_intent")
        if intent["status"] != "succeeded" or not intent.get("latest_charge"):
            raise invalid_request(
                "This PaymentIntent does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = store.require("charge", intent["latest_charge"], "payment_intent")
        if charge_id is not None and charge_id != charge["id"]:
            raise invalid_request(
                f"The charge {charge_id} does not belong to PaymentIntent {intent_id}.",
                param="charge",
            )
        return charge
    assert charge_id is not None
    charge = store.require("charge", charge_id, "charge")
    if charge["status"] != "succeeded":
        raise invalid_request(
            f"Charge {charge_id} cannot be refunded because its status is {charge['status']}.",
            param="charge",
        )
    return charge


def create(call: Call) -> JsonDict:
    return refund(call.store, at=call.at, params=call.params)


def refund(store: Store, *, at: int, params: dict[str, Any]) -> JsonDict:
    """Refund (part of) a payment; shared by the HTTP handler and seeding."""
    charge = _charge_to_refund(store, params)
    currency = charge["currency"]
    if charge.get("disputed"):
        raise invalid_request(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
        )
    remaining = int(charge["amount"]) - int(charge["amount_refunded"])
    if remaining <= 0:
        raise invalid_request(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    amount = params.get("amount")
    if amount is None:
        amount = remaining
    if amount <= 0:
        raise invalid_request("Invalid positive integer", code="parameter_invalid_integer", param="amount")
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({money.format_amount(amount, currency)}) is greater than "
            f"unrefunded amount on charge ({money.format_amount(remaining, currency)})",
            code="amount_too_large",
            param="amount",
        )
    created = store.add(
        objects.refund(
            created=at,
            charge=charge,
            amount=amount,
            reason=params.get("reason"),
            metadata=params.get("metadata"),
        )
    )
    sync_refunds(store, charge)
    return created


FAILURE_REASONS = (
    "lost_or_stolen_card",
    "expired_or_canceled_card",
    "charge_for_pending_refund_disputed",
    "insufficient_funds",
    "declined",
    "merchant_request",
    "unknown",
)
SETTABLE_STATUSES = ("pending", "succeeded", "failed", "canceled", "requires_action")


def set_status(store: Store, refund_id: str, status: str, failure_reason: str | None = None) -> JsonDict:
    """Move a refund to ``status`` as the bank would (``/_emulator`` only). A failed or canceled
    refund's money is no longer counted as refunded on its charge, as in Stripe."""
    if status not in SETTABLE_STATUSES:
        raise invalid_request(f"Unknown refund status {status!r}; one of {', '.join(SETTABLE_STATUSES)}.")
    found = store.require("refund", refund_id)
    if status == "failed":
        reason = failure_reason or "declined"
        if reason not in FAILURE_REASONS:
            raise invalid_request(f"Unknown failure_reason {reason!r}; one of {', '.join(FAILURE_REASONS)}.")
        found["failure_reason"] = reason
        found["failure_balance_transaction"] = new_id("balance_transaction", 24)
    else:
        found.pop("failure_reason", None)
        found.pop("failure_balance_transaction", None)
    found["status"] = status
    charge = store.get(found["charge"])
    if charge is not None:
        sync_refunds(store, charge)
    return found


def retrieve(call: Call) -> JsonDict:
    return call.store.require("refund", call.arg("id"))


def update(call: Call) -> JsonDict:
    found = call.store.require("refund", call.arg("id"))
    apply_metadata(found, call.params.get("metadata"), "metadata" in call.params)
    charge = call.store.get(found["charge"])
    if charge is not None:
        sync_refunds(call.store, charge)
    return found


def list_all(call: Call) -> JsonDict:
    items = call.store.all("refund")
    for key in ("payment_intent", "charge"):
        wanted = call.params.get(key)
        if wanted is not None:
            items = [r for r in items if r.get(key) == wanted]
    return list_object(call.store, "refund", items, call.params, "/v1/refunds")
