"""Disputes: read-only over the API; created through ``/_emulator`` (a customer's bank opens them)."""

from __future__ import annotations

from typing import Any

from stripe_emulator import objects
from stripe_emulator.context import Call
from stripe_emulator.errors import invalid_request
from stripe_emulator.pagination import list_object
from stripe_emulator.params import LIST_PARAMS, STR, Obj
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

RETRIEVE = Obj()
LIST = Obj({**LIST_PARAMS, "charge": STR, "payment_intent": STR})

STATUSES = (
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "needs_response",
    "under_review",
    "won",
    "lost",
    "prevented",
)
REASONS = (
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)
EVIDENCE_DAYS = 7


def retrieve(call: Call) -> JsonDict:
    return call.store.require("dispute", call.arg("id"))


def list_all(call: Call) -> JsonDict:
    items = call.store.all("dispute")
    for key in ("charge", "payment_intent"):
        wanted = call.params.get(key)
        if wanted is not None:
            items = [d for d in items if d.get(key) == wanted]
    return list_object(call.store, "dispute", items, call.params, "/v1/disputes")


def open_dispute(
    store: Store,
    payment_intent_id: str,
    *,
    at: int,
    status: str = "needs_response",
    reason: str = "fraudulent",
    amount: int | None = None,
) -> JsonDict:
    """The customer's bank disputes the payment's charge (shared by control and seeding)."""
    if status not in STATUSES:
        raise invalid_request(f"Unknown dispute status {status!r}; one of {', '.join(STATUSES)}.")
    if reason not in REASONS:
        raise invalid_request(f"Unknown dispute reason {reason!r}; one of {', '.join(REASONS)}.")
    intent = store.require("payment_intent", payment_intent_id, "payment_intent")
    if intent["status"] != "succeeded" or not intent.get("latest_charge"):
        raise invalid_request(f"PaymentIntent {payment_intent_id} has no successful charge to dispute.")
    charge = store.require("charge", intent["latest_charge"])
    disputed_amount = int(charge["amount"]) if amount is None else amount
    created = store.add(
        objects.dispute(
            created=at,
            charge=charge,
            amount=disputed_amount,
            status=status,
            reason=reason,
            evidence_due_by=at + EVIDENCE_DAYS * 86400,
        )
    )
    charge["disputed"] = True
    return created


def set_status(store: Store, dispute_id: str, status: str) -> JsonDict:
    if status not in STATUSES:
        raise invalid_request(f"Unknown dispute status {status!r}; one of {', '.join(STATUSES)}.")
    found = store.require("dispute", dispute_id)
    found["status"] = status
    return found
