"""Subscriptions endpoints; the lifecycle rules live in :mod:`.billing`."""

from __future__ import annotations

from typing import Any

from stripe_emulator.context import Call
from stripe_emulator.errors import invalid_request, missing_parameter
from stripe_emulator.pagination import list_object
from stripe_emulator.params import BOOL, INT, LIST_PARAMS, METADATA, STR, Choice, ListOf, Obj
from stripe_emulator.services import billing, payment_methods
from stripe_emulator.services.common import apply_metadata, search_objects

JsonDict = dict[str, Any]

_ITEM = Obj({"price": STR, "quantity": INT, "metadata": METADATA})
_CANCELLATION = Obj(
    {
        "comment": STR,
        "feedback": Choice(
            (
                "customer_service",
                "low_quality",
                "missing_features",
                "other",
                "switched_service",
                "too_complex",
                "too_expensive",
                "unused",
            )
        ),
    }
)
_PRORATION = Choice(("always_invoice", "create_prorations", "none"))
_BEHAVIOR = Choice(("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"))
CREATE = Obj(
    {
        "customer": STR,
        "items": ListOf(_ITEM),
        "trial_period_days": INT,
        "cancel_at_period_end": BOOL,
        "default_payment_method": STR,
        "metadata": METADATA,
        "description": STR,
        "payment_behavior": _BEHAVIOR,
        "off_session": BOOL,
        "proration_behavior": _PRORATION,
        "collection_method": Choice(("charge_automatically",)),
    }
)
UPDATE = Obj(
    {
        "cancel_at_period_end": BOOL,
        "cancel_at": INT,
        "metadata": METADATA,
        "description": STR,
        "default_payment_method": STR,
        "cancellation_details": _CANCELLATION,
        "proration_behavior": _PRORATION,
        "items": ListOf(_ITEM),
    }
)
CANCEL = Obj({"prorate": BOOL, "invoice_now": BOOL, "cancellation_details": _CANCELLATION})
RETRIEVE = Obj()
STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
LIST = Obj({**LIST_PARAMS, "customer": STR, "price": STR, "status": Choice(STATUSES)})
SEARCH_FIELDS = {"status": "string", "metadata": "metadata", "created": "number"}

_ENDED = ("canceled", "incomplete_expired")


def _apply_cancellation_details(sub: JsonDict, params: dict[str, Any]) -> None:
    details = params.get("cancellation_details") or {}
    for key in ("comment", "feedback"):
        if key in details:
            sub["cancellation_details"][key] = details[key]


def create(call: Call) -> JsonDict:
    params = call.params
    if params.get("customer") is None:
        raise missing_parameter("customer")
    items = params.get("items")
    if not items:
        raise missing_parameter("items")
    lines = []
    for index, item in enumerate(items):
        if item is None or item.get("price") is None:
            raise missing_parameter(f"items[{index}][price]")
        quantity = item.get("quantity")
        lines.append(billing.LineRequest(item["price"], 1 if quantity is None else quantity))
    if params.get("trial_period_days") is not None and not 1 <= params["trial_period_days"] <= 730:
        raise invalid_request("The trial period must be between 1 and 730 days.", param="trial_period_days")
    sub = billing.create_subscription(
        call.store,
        at=call.at,
        customer_id=params["customer"],
        lines=lines,
        trial_period_days=params.get("trial_period_days"),
        default_payment_method=params.get("default_payment_method"),
        cancel_at_period_end=bool(params.get("cancel_at_period_end")),
        metadata=params.get("metadata"),
        description=params.get("description"),
        payment_behavior=params.get("payment_behavior") or "allow_incomplete",
    )
    for item, requested in zip(sub["items"]["data"], items, strict=True):
        if requested.get("metadata"):
            item["metadata"] = dict(requested["metadata"])
    return sub


def retrieve(call: Call) -> JsonDict:
    return call.store.require("subscription", call.arg("id"))


def update(call: Call) -> JsonDict:
    store, params = call.store, call.params
    sub = store.require("subscription", call.arg("id"))
    if sub["status"] == "canceled" and set(params) - {"metadata", "cancellation_details"}:
        raise invalid_request("A canceled subscription can only update its cancellation_details and metadata.")
    if params.get("items"):
        raise invalid_request(
            "The Stripe emulator does not support changing a subscription's items; cancel it "
            "and create a new one instead.",
            param="items",
        )
    if params.get("cancel_at_period_end") is not None:
        billing.set_cancel_at_period_end(sub, params["cancel_at_period_end"])
    if "cancel_at" in params:
        sub["cancel_at"] = params["cancel_at"]
        sub["cancel_at_period_end"] = False
        sub["cancellation_details"]["reason"] = "cancellation_requested" if params["cancel_at"] is not None else None
    if "description" in params:
        sub["description"] = params["description"]
    if "default_payment_method" in params:
        method_id = params["default_payment_method"]
        if method_id is not None:
            method = payment_methods.resolve(store, method_id, call.at, "default_payment_method")
            payment_methods.attach(store, method, sub["customer"])
            method_id = method["id"]
        sub["default_payment_method"] = method_id
    _apply_cancellation_details(sub, params)
    apply_metadata(sub, params.get("metadata"), "metadata" in params)
    return sub


def cancel(call: Call) -> JsonDict:
    # ``prorate`` and ``invoice_now`` are accepted but produce no proration invoice here.
    sub = call.store.require("subscription", call.arg("id"))
    billing.cancel(call.store, sub, call.at)
    _apply_cancellation_details(sub, call.params)
    return sub


def list_all(call: Call) -> JsonDict:
    params = call.params
    items = call.store.all("subscription")
    status = params.get("status")
    if status is None:
        items = [s for s in items if s["status"] not in _ENDED]
    elif status == "ended":
        items = [s for s in items if s["status"] in _ENDED]
    elif status != "all":
        items = [s for s in items if s["status"] == status]
    if params.get("customer") is not None:
        items = [s for s in items if s["customer"] == params["customer"]]
    if params.get("price") is not None:
        items = [s for s in items if any(i["price"]["id"] == params["price"] for i in s["items"]["data"])]
    return list_object(call.store, "subscription", items, params, "/v1/subscriptions")


def search(call: Call) -> JsonDict:
    return search_objects(call, "subscription", SEARCH_FIELDS)
