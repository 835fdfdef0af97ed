"""Invoices and InvoicePayments (read-only: billing creates them)."""

from __future__ import annotations

from typing import Any

from stripe_emulator.context import Call
from stripe_emulator.pagination import list_object
from stripe_emulator.params import LIST_PARAMS, STR, Choice, Obj
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

RETRIEVE = Obj()
LIST = Obj(
    {
        **LIST_PARAMS,
        "customer": STR,
        "subscription": STR,
        "status": Choice(("draft", "open", "paid", "uncollectible", "void")),
    }
)
PAYMENTS_LIST = Obj(
    {
        **LIST_PARAMS,
        "invoice": STR,
        "status": Choice(("canceled", "open", "paid")),
        "payment": Obj({"type": Choice(("payment_intent", "payment_record")), "payment_intent": STR}),
    }
)


def subscription_of(invoice: JsonDict) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    found = details.get("subscription")
    return str(found) if found else None


def retrieve(call: Call) -> JsonDict:
    return call.store.require("invoice", call.arg("id"))


def list_all(call: Call) -> JsonDict:
    params = call.params
    items = call.store.all("invoice")
    if params.get("customer") is not None:
        items = [i for i in items if i["customer"] == params["customer"]]
    if params.get("subscription") is not None:
        items = [i for i in items if subscription_of(i) == params["subscription"]]
    if params.get("status") is not None:
        items = [i for i in items if i["status"] == params["status"]]
    return list_object(call.store, "invoice", items, params, "/v1/invoices")


def payments_for(store: Store, invoice_id: str) -> list[JsonDict]:
    return [p for p in store.all("invoice_payment") if p["invoice"] == invoice_id]


def include(store: Store, invoice: JsonDict, field: str) -> JsonDict | None:
    """``expand[]=payments`` on an invoice: its InvoicePayments (an includable list)."""
    if field != "payments":
        return None
    return {
        "object": "list",
        "data": payments_for(store, invoice["id"]),
        "has_more": False,
        "url": f"/v1/invoices/{invoice['id']}/payments",
    }


def payment_retrieve(call: Call) -> JsonDict:
    return call.store.require("invoice_payment", call.arg("id"))


def payment_list(call: Call) -> JsonDict:
    params = call.params
    items = call.store.all("invoice_payment")
    if params.get("invoice") is not None:
        items = [p for p in items if p["invoice"] == params["invoice"]]
    if params.get("status") is not None:
        items = [p for p in items if p["status"] == params["status"]]
    payment = params.get("payment") or {}
    for key in ("type", "payment_intent"):
        if payment.get(key) is not None:
            items = [p for p in items if p["payment"].get(key) == payment[key]]
    return list_object(call.store, "invoice_payment", items, params, "/v1/invoice_payments")
