"""Customers: CRUD, list with Stripe's exact email filter, search, delete-as-stub."""

from __future__ import annotations

from typing import Any

from stripe_emulator import objects
from stripe_emulator.context import Call
from stripe_emulator.errors import invalid_request
from stripe_emulator.pagination import list_object
from stripe_emulator.params import INT, LIST_PARAMS, METADATA, STR, Obj
from stripe_emulator.services import billing, payment_methods
from stripe_emulator.services.common import apply_metadata, check_email, search_objects
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

_INVOICE_SETTINGS = Obj({"default_payment_method": STR})
_FIELDS: dict[str, Any] = {
    "email": STR,
    "name": STR,
    "description": STR,
    "phone": STR,
    "metadata": METADATA,
    "balance": INT,
    "invoice_settings": _INVOICE_SETTINGS,
}
CREATE = Obj({**_FIELDS, "payment_method": STR})
UPDATE = Obj(_FIELDS)
RETRIEVE = Obj()
DELETE = Obj()
LIST = Obj({**LIST_PARAMS, "email": STR})

SEARCH_FIELDS = {
    "email": "string",
    "name": "string",
    "phone": "string",
    "metadata": "metadata",
    "created": "number",
}


def _apply(store: Store, customer: JsonDict, params: dict[str, Any]) -> None:
    if "email" in params:
        check_email(params["email"])
        if params["email"] is not None and len(params["email"]) > 512:
            raise invalid_request("Invalid email address: too long", param="email")
    for key in ("email", "name", "description", "phone"):
        if key in params:
            customer[key] = params[key]
    if "balance" in params:
        customer["balance"] = params["balance"] or 0
    apply_metadata(customer, params.get("metadata"), "metadata" in params)
    settings = params.get("invoice_settings") or {}
    if "default_payment_method" in settings:
        method_id = settings["default_payment_method"]
        if method_id is not None:
            method = store.require("payment_method", method_id, "invoice_settings[default_payment_method]")
            if method.get("customer") != customer["id"]:
                raise invalid_request(
                    f"No such PaymentMethod: '{method_id}'; It's possible this PaymentMethod "
                    "exists on one of your connected accounts, in which case you should retry "
                    "this request on that connected account. This PaymentMethod must be "
                    "attached to the customer before it can be the default.",
                    code="resource_missing",
                    param="invoice_settings[default_payment_method]",
                )
        customer["invoice_settings"]["default_payment_method"] = method_id


def create(call: Call) -> JsonDict:
    store, params = call.store, call.params
    check_email(params.get("email"))
    customer = objects.customer(created=call.at)
    method_id = params.get("payment_method")
    if method_id is not None:
        method = payment_methods.resolve(store, method_id, call.at)
        payment_methods.attach(store, method, customer["id"])
    _apply(store, customer, params)
    # Stored last: a request refused half-way must not leave a customer behind.
    return store.add(customer)


def retrieve(call: Call) -> JsonDict:
    # A deleted customer still answers, as the ``{"deleted": true}`` stub (like Stripe).
    return call.store.require("customer", call.arg("id"))


def update(call: Call) -> JsonDict:
    customer = call.store.require_live("customer", call.arg("id"))
    _apply(call.store, customer, call.params)
    return customer


def delete(call: Call) -> JsonDict:
    store = call.store
    customer = store.require_live("customer", call.arg("id"))
    # Deleting a customer cancels its subscriptions immediately, as in Stripe.
    for sub in store.all("subscription"):
        if sub["customer"] == customer["id"] and sub["status"] != "canceled":
            billing.cancel(store, sub, call.at)
    return store.replace(objects.deleted_customer(customer["id"]))


def list_all(call: Call) -> JsonDict:
    items = call.store.all("customer")
    email = call.params.get("email")
    if email is not None:
        # Stripe's list filter is exact and case-sensitive (search is not).
        items = [c for c in items if c.get("email") == email]
    return list_object(call.store, "customer", items, call.params, "/v1/customers")


def search(call: Call) -> JsonDict:
    return search_objects(call, "customer", SEARCH_FIELDS)


def include(store: Store, customer: JsonDict, field: str) -> JsonDict | None:
    """``expand[]=subscriptions`` on a customer: its subscriptions, like Stripe's includable."""
    if field != "subscriptions" or customer.get("deleted"):
        return None
    subs = [
        s
        for s in store.all("subscription")
        if s["customer"] == customer["id"] and s["status"] not in ("canceled", "incomplete_expired")
    ]
    return {
        "object": "list",
        "data": subs,
        "has_more": False,
        "url": f"/v1/customers/{customer['id']}/subscriptions",
    }
