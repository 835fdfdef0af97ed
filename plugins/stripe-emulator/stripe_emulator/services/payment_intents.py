"""PaymentIntents: create/confirm against test cards, producing a Charge per attempt."""

from __future__ import annotations

from typing import Any

from stripe_emulator import money, objects
from stripe_emulator.cards import Decline
from stripe_emulator.context import Call
from stripe_emulator.errors import StripeError, invalid_request, missing_parameter
from stripe_emulator.pagination import list_object
from stripe_emulator.params import BOOL, INT, LIST_PARAMS, METADATA, STR, Choice, ListOf, Obj
from stripe_emulator.services import payment_methods
from stripe_emulator.services.common import apply_metadata, card_error, check_email, last_payment_error, search_objects
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

_APM = Obj({"enabled": BOOL, "allow_redirects": Choice(("always", "never"))})
_OFF_SESSION = Choice(("true", "false", "one_off", "recurring"))
CREATE = Obj(
    {
        "amount": INT,
        "currency": STR,
        "customer": STR,
        "description": STR,
        "metadata": METADATA,
        "payment_method": STR,
        "payment_method_types": ListOf(STR),
        "confirm": BOOL,
        "automatic_payment_methods": _APM,
        "off_session": _OFF_SESSION,
        "return_url": STR,
        "receipt_email": STR,
        "statement_descriptor": STR,
        "setup_future_usage": Choice(("on_session", "off_session")),
    }
)
UPDATE = Obj(
    {
        "amount": INT,
        "currency": STR,
        "customer": STR,
        "description": STR,
        "metadata": METADATA,
        "payment_method": STR,
        "receipt_email": STR,
    }
)
CONFIRM = Obj({"payment_method": STR, "return_url": STR, "off_session": _OFF_SESSION})
CANCEL = Obj({"cancellation_reason": Choice(("duplicate", "fraudulent", "requested_by_customer", "abandoned"))})
RETRIEVE = Obj({"client_secret": STR})
LIST = Obj({**LIST_PARAMS, "customer": STR})
SEARCH_FIELDS = {
    "amount": "number",
    "currency": "string",
    "customer": "string",
    "status": "string",
    "metadata": "metadata",
    "created": "number",
}

# Stripe's minimum charge amounts, in minor units (USD 0.50, GBP 0.30, JPY 50).
_MINIMUM = {"usd": 50, "eur": 50, "gbp": 30, "jpy": 50, "cad": 50, "aud": 50, "chf": 50}
_CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)


def check_amount(amount: int, currency: str) -> None:
    minimum = _MINIMUM.get(currency, 50)
    if amount < minimum:
        raise invalid_request(
            f"Amount must be at least {money.format_amount(minimum, currency)} {currency}",
            code="amount_too_small",
            param="amount",
        )
    if amount > 99_999_999:
        raise invalid_request("Amount must be no more than 999,999.99", code="amount_too_large", param="amount")


def check_currency(currency: str) -> str:
    currency = currency.lower()
    if not money.is_supported(currency):
        raise invalid_request(
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            + ", ".join(sorted(money.SUPPORTED)),
            param="currency",
        )
    return currency


def confirm(store: Store, intent: JsonDict, at: int, force: Decline | None = None) -> Decline | None:
    """Charge the intent's payment method; the decline, if any, is returned, not raised."""
    method = store.require("payment_method", intent["payment_method"], "payment_method")
    decline = force or payment_methods.test_card(store, method["id"]).decline
    charge = store.add(objects.charge(created=at, intent=intent, method=method, decline=decline))
    intent["latest_charge"] = charge["id"]
    if decline is None:
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        return None
    # A declined attempt leaves the intent waiting for a new payment method, as in Stripe.
    intent.update(
        status="requires_payment_method",
        last_payment_error=last_payment_error(decline, charge["id"], method),
        payment_method=None,
    )
    return decline


def _confirm_or_raise(store: Store, intent: JsonDict, at: int) -> None:
    decline = confirm(store, intent, at)
    if decline is not None:
        error = intent["last_payment_error"]
        raise card_error(
            decline,
            charge_id=intent["latest_charge"],
            intent=intent,
            method=error["payment_method"],
        )


def _missing_payment_method() -> StripeError:
    return invalid_request(
        "You cannot confirm this PaymentIntent because it's missing a payment method. "
        "Update the PaymentIntent with a payment method and then confirm it again.",
        code="payment_intent_unexpected_state",
    )


def _check_redirects(params: dict[str, Any], intent: JsonDict) -> None:
    apm = intent.get("automatic_payment_methods") or {}
    off_session = params.get("off_session") not in (None, "false")
    if (
        apm.get("enabled")
        and apm.get("allow_redirects") != "never"
        and not params.get("return_url")
        and not off_session
    ):
        raise invalid_request(
            "This PaymentIntent is configured to accept payment methods enabled in your "
            "Dashboard. Because some of these payment methods might redirect your customer "
            "off of your page, you must provide a `return_url`. If you don't want to accept "
            "redirect-based payment methods, set `automatic_payment_methods[enabled]` to "
            "`true` and `automatic_payment_methods[allow_redirects]` to `never` when creating "
            "Setup Intents and Payment Intents.",
            param="return_url",
        )


def _set_payment_method(store: Store, intent: JsonDict, value: str | None, at: int) -> None:
    if value is None:
        intent["payment_method"] = None
        return
    method = payment_methods.resolve(store, value, at)
    owner = method.get("customer")
    if owner is not None and owner != intent.get("customer"):
        raise invalid_request(
            f"The provided PaymentMethod {method['id']} belongs to a different Customer "
            "than the one on this PaymentIntent.",
            param="payment_method",
        )
    intent["payment_method"] = method["id"]
    if intent["status"] == "requires_payment_method":
        intent["status"] = "requires_confirmation"


def create_intent(
    store: Store,
    *,
    at: int,
    amount: int,
    currency: str,
    customer: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    payment_method: str | None = None,
    automatic_payment_methods: JsonDict | None = None,
) -> JsonDict:
    """The building block the HTTP handler, subscriptions and seeding all use."""
    if customer is not None:
        store.require_live("customer", customer, "customer")
    intent = objects.payment_intent(
        created=at,
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        metadata=metadata,
        automatic_payment_methods=automatic_payment_methods,
    )
    _set_payment_method(store, intent, payment_method, at)
    return store.add(intent)


def create(call: Call) -> JsonDict:
    params = call.params
    if params.get("amount") is None:
        raise missing_parameter("amount")
    if params.get("currency") is None:
        raise missing_parameter("currency")
    currency = check_currency(params["currency"])
    check_amount(params["amount"], currency)
    check_email(params.get("receipt_email"), "receipt_email")
    apm_params = params.get("automatic_payment_methods")
    apm: JsonDict | None
    if params.get("payment_method_types"):
        if apm_params:
            raise invalid_request(
                "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
                param="automatic_payment_methods",
            )
        if params["payment_method_types"] != ["card"]:
            raise invalid_request(
                "The emulator only supports the card payment method type.",
                param="payment_method_types",
            )
        apm = None
    else:
        # Stripe turns automatic payment methods on when no types are given.
        enabled = True if not apm_params or apm_params.get("enabled") is None else apm_params["enabled"]
        apm = (
            {"enabled": True, "allow_redirects": (apm_params or {}).get("allow_redirects") or "always"}
            if enabled
            else None
        )
    if params.get("confirm"):
        # Refused before anything is stored, as Stripe validates before creating.
        _check_redirects(params, {"automatic_payment_methods": apm})
        if params.get("payment_method") is None:
            raise _missing_payment_method()
    intent = create_intent(
        call.store,
        at=call.at,
        amount=params["amount"],
        currency=currency,
        customer=params.get("customer"),
        description=params.get("description"),
        metadata=params.get("metadata"),
        payment_method=params.get("payment_method"),
        automatic_payment_methods=apm,
    )
    for key in ("receipt_email", "statement_descriptor", "setup_future_usage"):
        if params.get(key) is not None:
            intent[key] = params[key]
    if params.get("confirm"):
        _confirm_or_raise(call.store, intent, call.at)
    return intent


def retrieve(call: Call) -> JsonDict:
    return call.store.require("payment_intent", call.arg("id"))


def _unexpected_state(intent: JsonDict, action: str) -> None:
    if intent["status"] in ("succeeded", "canceled", "processing"):
        raise invalid_request(
            f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}.",
            code="payment_intent_unexpected_state",
        )


def update(call: Call) -> JsonDict:
    store, params = call.store, call.params
    intent = store.require("payment_intent", call.arg("id"))
    if set(params) - {"metadata", "description", "receipt_email"}:
        _unexpected_state(intent, "update")
    if "customer" in params:
        if params["customer"] is not None:
            store.require_live("customer", params["customer"], "customer")
        intent["customer"] = params["customer"]
    if "currency" in params and params["currency"] is not None:
        intent["currency"] = check_currency(params["currency"])
    if "amount" in params and params["amount"] is not None:
        check_amount(params["amount"], intent["currency"])
        intent["amount"] = params["amount"]
    for key in ("description", "receipt_email"):
        if key in params:
            intent[key] = params[key]
    if "payment_method" in params:
        _set_payment_method(store, intent, params["payment_method"], call.at)
    apply_metadata(intent, params.get("metadata"), "metadata" in params)
    return intent


def confirm_endpoint(call: Call) -> JsonDict:
    store, params = call.store, call.params
    intent = store.require("payment_intent", call.arg("id"))
    if intent["status"] == "succeeded":
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
            code="payment_intent_unexpected_state",
        )
    _unexpected_state(intent, "confirm")
    if params.get("payment_method") is not None:
        _set_payment_method(store, intent, params["payment_method"], call.at)
    if intent["payment_method"] is None:
        raise _missing_payment_method()
    _check_redirects(params, intent)
    _confirm_or_raise(store, intent, call.at)
    return intent


def cancel(call: Call) -> JsonDict:
    intent = call.store.require("payment_intent", call.arg("id"))
    if intent["status"] not in _CANCELABLE:
        raise invalid_request(
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
            "be canceled: " + ", ".join(_CANCELABLE) + ".",
            code="payment_intent_unexpected_state",
        )
    intent.update(
        status="canceled",
        canceled_at=call.at,
        cancellation_reason=call.params.get("cancellation_reason"),
    )
    return intent


def list_all(call: Call) -> JsonDict:
    items = call.store.all("payment_intent")
    customer = call.params.get("customer")
    if customer is not None:
        items = [i for i in items if i.get("customer") == customer]
    return list_object(call.store, "payment_intent", items, call.params, "/v1/payment_intents")


def search(call: Call) -> JsonDict:
    return search_objects(call, "payment_intent", SEARCH_FIELDS)
