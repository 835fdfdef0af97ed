"""Charges: read-mostly; one per confirmation attempt of a PaymentIntent."""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.context import Call
from stripe_emulator.pagination import list_object
from stripe_emulator.params import LIST_PARAMS, METADATA, STR, Obj
from stripe_emulator.services.common import apply_metadata, search_objects
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

RETRIEVE = Obj()
UPDATE = Obj({"description": STR, "metadata": METADATA})
LIST = Obj({**LIST_PARAMS, "customer": STR, "payment_intent": STR})
SEARCH_FIELDS = {
    "amount": "number",
    "currency": "string",
    "customer": "string",
    "status": "string",
    "refunded": "string",
    "metadata": "metadata",
    "created": "number",
}


def sync_refunds(store: Store, charge: JsonDict) -> None:
    """Keep the charge's embedded ``refunds`` list and totals in step with its refunds."""
    refunds = [r for r in store.all("refund") if r["charge"] == charge["id"]]
    total = sum(int(r["amount"]) for r in refunds if r["status"] in ("succeeded", "pending", "requires_action"))
    charge["amount_refunded"] = total
    charge["refunded"] = total >= int(charge["amount"])
    charge["refunds"]["data"] = copy.deepcopy(refunds)


def retrieve(call: Call) -> JsonDict:
    return call.store.require("charge", call.arg("id"))


def update(call: Call) -> JsonDict:
    charge = call.store.require("charge", call.arg("id"))
    if "description" in call.params:
        charge["description"] = call.params["description"]
    apply_metadata(charge, call.params.get("metadata"), "metadata" in call.params)
    return charge


def list_all(call: Call) -> JsonDict:
    items = call.store.all("charge")
    for key in ("customer", "payment_intent"):
        wanted = call.params.get(key)
        if wanted is not None:
            items = [c for c in items if c.get(key) == wanted]
    return list_object(call.store, "charge", items, call.params, "/v1/charges")


def search(call: Call) -> JsonDict:
    return search_objects(call, "charge", SEARCH_FIELDS)
