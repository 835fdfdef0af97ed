"""PaymentMethods: created from test tokens, attached to customers, used by intents."""

from __future__ import annotations

from typing import Any

from stripe_emulator import objects
from stripe_emulator.cards import CARDS, TestCard, card_for_payment_method_name, card_for_token
from stripe_emulator.context import Call
from stripe_emulator.errors import invalid_request, missing_parameter, no_such
from stripe_emulator.pagination import list_object
from stripe_emulator.params import LIST_PARAMS, METADATA, STR, Choice, Obj
from stripe_emulator.services.common import apply_metadata, card_error, check_email
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

_ADDRESS = Obj({k: STR for k in ("city", "country", "line1", "line2", "postal_code", "state")})
_BILLING = Obj({"name": STR, "email": STR, "phone": STR, "address": _ADDRESS})

CREATE = Obj(
    {
        "type": Choice(("card",)),
        "card": Obj({"token": STR, "number": STR, "exp_month": STR, "exp_year": STR, "cvc": STR}),
        "billing_details": _BILLING,
        "metadata": METADATA,
    }
)
UPDATE = Obj({"billing_details": _BILLING, "metadata": METADATA})
RETRIEVE = Obj()
ATTACH = Obj({"customer": STR})
DETACH = Obj()
LIST = Obj({**LIST_PARAMS, "customer": STR, "type": Choice(("card",))})
CUSTOMER_LIST = Obj({**LIST_PARAMS, "type": Choice(("card",))})


def test_card(store: Store, method_id: str) -> TestCard:
    return CARDS[store.card_of.get(method_id, "visa")]


def new_from_card(store: Store, card: TestCard, at: int) -> JsonDict:
    method = store.add(objects.payment_method(card, created=at))
    store.card_of[method["id"]] = card.name
    return method


def resolve(store: Store, value: str, at: int, param: str = "payment_method") -> JsonDict:
    """A stored PaymentMethod, or a fresh one for a test name such as ``pm_card_visa``."""
    card = card_for_payment_method_name(value)
    if card is not None:
        return new_from_card(store, card, at)
    return store.require("payment_method", value, param)


def attach(store: Store, method: JsonDict, customer_id: str) -> JsonDict:
    owner = method.get("customer")
    if owner == customer_id:
        return method
    if owner is not None:
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    card = test_card(store, method["id"])
    if card.decline is not None and card.declines_on_attach:
        raise card_error(card.decline, param="")
    method["customer"] = customer_id
    return method


def _billing_details(method: JsonDict, details: JsonDict | None) -> None:
    if not details:
        return
    check_email(details.get("email"), "billing_details[email]")
    target = method["billing_details"]
    for key in ("name", "email", "phone"):
        if key in details:
            target[key] = details[key]
    if details.get("address"):
        target["address"].update(details["address"])


def create(call: Call) -> JsonDict:
    params = call.params
    if not params.get("type"):
        raise missing_parameter("type")
    card_params = params.get("card")
    if not card_params:
        raise missing_parameter("card")
    if card_params.get("number") is not None:
        raise invalid_request(
            "Sending credit card numbers directly to the Stripe API is generally unsafe. "
            "The emulator, like a default test-mode account, only accepts test tokens such "
            "as card[token]=tok_visa.",
            param="card[number]",
        )
    token = card_params.get("token")
    if token is None:
        raise missing_parameter("card[token]")
    card = card_for_token(token)
    if card is None:
        raise no_such("token", token, "card[token]")
    method = new_from_card(call.store, card, call.at)
    _billing_details(method, params.get("billing_details"))
    apply_metadata(method, params.get("metadata"), "metadata" in params)
    return method


def retrieve(call: Call) -> JsonDict:
    return call.store.require("payment_method", call.arg("id"))


def retrieve_for_customer(call: Call) -> JsonDict:
    call.store.require_live("customer", call.arg("customer"), "customer")
    method = call.store.require("payment_method", call.arg("id"))
    if method.get("customer") != call.arg("customer"):
        raise no_such("PaymentMethod", call.arg("id"))
    return method


def update(call: Call) -> JsonDict:
    method = call.store.require("payment_method", call.arg("id"))
    _billing_details(method, call.params.get("billing_details"))
    apply_metadata(method, call.params.get("metadata"), "metadata" in call.params)
    return method


def attach_endpoint(call: Call) -> JsonDict:
    method = resolve(call.store, call.arg("id"), call.at, "payment_method")
    customer_id = call.params.get("customer")
    if customer_id is None:
        raise missing_parameter("customer")
    call.store.require_live("customer", customer_id, "customer")
    return attach(call.store, method, customer_id)


def detach(call: Call) -> JsonDict:
    method = call.store.require("payment_method", call.arg("id"))
    if method.get("customer") is None:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    method["customer"] = None
    return method


def list_all(call: Call) -> JsonDict:
    items = call.store.all("payment_method")
    customer = call.params.get("customer")
    if customer is not None:
        call.store.require("customer", customer, "customer")
        items = [m for m in items if m.get("customer") == customer]
    return list_object(call.store, "payment_method", items, call.params, "/v1/payment_methods")


def list_for_customer(call: Call) -> JsonDict:
    customer = call.arg("customer")
    call.store.require_live("customer", customer)
    items = [m for m in call.store.all("payment_method") if m.get("customer") == customer]
    return list_object(call.store, "payment_method", items, call.params, f"/v1/customers/{customer}/payment_methods")
