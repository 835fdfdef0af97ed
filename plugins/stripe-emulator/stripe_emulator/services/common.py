"""Small rules several resources share: metadata updates, card errors, emails."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from stripe_emulator.cards import Decline
from stripe_emulator.context import Call
from stripe_emulator.errors import StripeError, invalid_request, missing_parameter
from stripe_emulator.pagination import search_result
from stripe_emulator.params import INT, STR, Obj
from stripe_emulator.search import predicate

JsonDict = dict[str, Any]

MAX_METADATA_KEYS = 50

SEARCH = Obj({"query": STR, "limit": INT, "page": STR})
"""What every ``GET /v1/<kind>s/search`` endpoint accepts."""


def search_objects(call: Call, kind: str, fields: Mapping[str, str]) -> JsonDict:
    """``GET /v1/<kind>s/search``: Stripe's search query language over one kind of object."""
    query = call.params.get("query")
    if query is None:
        raise missing_parameter("query")
    matches = predicate(query, fields)
    items = [obj for obj in call.store.all(kind) if matches(obj)]
    return search_result(items, call.params, f"/v1/{kind}s/search")


def apply_metadata(obj: JsonDict, update: dict[str, str] | None, present: bool) -> None:
    """Stripe's metadata merge: ``""`` for a key removes it, ``metadata=""`` clears all."""
    if not present:
        return
    if update is None:
        obj["metadata"] = {}
        return
    merged = dict(obj.get("metadata") or {})
    for key, value in update.items():
        if len(key) > 40:
            raise invalid_request(
                f"Invalid metadata: key '{key}' is longer than 40 characters.",
                param=f"metadata[{key}]",
            )
        if len(value) > 500:
            raise invalid_request(
                f"Invalid metadata: the value for '{key}' is longer than 500 characters.",
                param=f"metadata[{key}]",
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_METADATA_KEYS:
        raise invalid_request(
            f"Invalid metadata: an object can have at most {MAX_METADATA_KEYS} keys.",
            param="metadata",
        )
    obj["metadata"] = merged


def check_email(email: str | None, param: str = "email") -> None:
    if email is None:
        return
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise invalid_request(f"Invalid email address: {email}", param=param)


def last_payment_error(decline: Decline, charge_id: str, method: JsonDict) -> JsonDict:
    return {
        "advice_code": "try_again_later",
        "charge": charge_id,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/" + decline.code.replace("_", "-"),
        "message": decline.message,
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_method": copy.deepcopy(method),
        "payment_method_type": "card",
        "type": "card_error",
    }


def card_error(
    decline: Decline,
    *,
    charge_id: str | None = None,
    intent: JsonDict | None = None,
    method: JsonDict | None = None,
    param: str | None = None,
) -> StripeError:
    """HTTP 402 ``card_error``, carrying the objects Stripe attaches to a decline."""
    extra: JsonDict = {"decline_code": decline.decline_code, "advice_code": "try_again_later"}
    if charge_id is not None:
        extra["charge"] = charge_id
    if intent is not None:
        extra["payment_intent"] = copy.deepcopy(intent)
    if method is not None:
        extra["payment_method"] = copy.deepcopy(method)
    return StripeError(402, "card_error", decline.message, code=decline.code, param=param, extra=extra)
