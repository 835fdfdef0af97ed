"""``/_emulator/*``: test-only endpoints to reset, seed, inspect and misbehave.

They take and return JSON, need no API key and are never faulted or delayed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from stripe_emulator.asgi import Request, Response
from stripe_emulator.errors import StripeError, invalid_request, no_such
from stripe_emulator.ids import now
from stripe_emulator.services import billing, disputes, refunds
from stripe_emulator.store import Store

JsonDict = dict[str, Any]
Handler = Callable[[Store, JsonDict, dict[str, str]], Any]


def _body(request: Request) -> JsonDict:
    if not request.body.strip():
        return {}
    try:
        parsed = json.loads(request.body)
    except ValueError as error:
        raise invalid_request(f"Control endpoints take a JSON body: {error}") from None
    if not isinstance(parsed, dict):
        raise invalid_request("Control endpoints take a JSON object.")
    return parsed


def _set_webhook_endpoint(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    url, secret = body.get("url"), body.get("secret")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not isinstance(secret, str):
        raise invalid_request('Send {"url": "http(s)://...", "secret": "whsec_..."}.')
    store.webhooks.configure(url, secret)
    return {"url": url, "enabled": True}


def _webhook_endpoint(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    # Never the secret: it is the receiving side's to know.
    return {"url": store.webhooks.url, "enabled": store.webhooks.enabled, "delivered": len(store.webhooks.delivered)}


def _clear_webhook_endpoint(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    store.webhooks.clear()
    return {"enabled": False}


def _state(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    return store.summary()


def _reset(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    store.reset()
    return {"reset": True}


def _seed(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    from stripe_emulator.seed import seed_demo  # imported late: seeding pulls in everything

    scenario = body.get("scenario", "demo")
    if scenario != "demo":
        raise invalid_request(f"Unknown seed scenario {scenario!r}; only 'demo' exists.")
    return seed_demo(store).model_dump(mode="json")


def _create_key(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    permissions = body.get("permissions")
    if not isinstance(permissions, dict):
        raise invalid_request('Send {"permissions": {"customers": "read", ...}}.')
    try:
        return {"key": store.create_restricted_key(permissions)}
    except ValueError as error:
        raise invalid_request(str(error)) from None


def _list_keys(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    return {"keys": store.keys.describe()}


def _add_fault(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    known = {"match", "method", "status", "times", "delay_ms", "drop"}
    unknown = set(body) - known
    if unknown:
        raise invalid_request(f"Unknown fault field(s): {', '.join(sorted(unknown))}")
    if not isinstance(body.get("match"), str):
        raise invalid_request('A fault needs "match", a path such as "/v1/refunds".')
    try:
        fault = store.add_fault(
            body["match"],
            method=body.get("method"),
            status=body.get("status"),
            times=body.get("times", 1),
            delay_ms=int(body.get("delay_ms", 0)),
            drop=bool(body.get("drop", False)),
        )
    except (ValueError, TypeError) as error:
        raise invalid_request(str(error)) from None
    return fault.to_dict()


def _list_faults(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    return {"faults": [f.to_dict() for f in store.faults.list()]}


def _clear_faults(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    store.clear_faults()
    return {"faults": []}


def _latency(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    try:
        store.set_latency(int(body.get("latency_ms", 0)))
    except (ValueError, TypeError) as error:
        raise invalid_request(str(error)) from None
    return {"latency_ms": store.latency_ms}


def _requests(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    return {"total": store.requests.total, "by_endpoint": store.requests.by_endpoint()}


def _reset_requests(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    store.requests.reset()
    return {"total": 0, "by_endpoint": {}}


def _renew(store: Store, sub_id: str, outcome: billing.Outcome) -> JsonDict:
    with store.lock:
        sub = billing.advance(store, store.require("subscription", sub_id), at=now(), outcome=outcome)
        return {"subscription": sub, "invoice": store.get(sub["latest_invoice"])}


def _past_due(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    return _renew(store, args["id"], "failed")


def _advance(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    outcome = body.get("outcome", "auto")
    if outcome not in ("auto", "paid", "failed"):
        raise invalid_request('"outcome" must be auto, paid or failed.')
    return _renew(store, args["id"], outcome)


def _dispute(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    unknown = set(body) - {"status", "reason", "amount"}
    if unknown:
        raise invalid_request(f"Unknown dispute field(s): {', '.join(sorted(unknown))}")
    amount = body.get("amount")
    if amount is not None and (not isinstance(amount, int) or amount <= 0):
        raise invalid_request('"amount" must be a positive integer (the currency\'s minor unit).')
    with store.lock:
        return disputes.open_dispute(
            store,
            args["id"],
            at=now(),
            status=str(body.get("status", "needs_response")),
            reason=str(body.get("reason", "fraudulent")),
            amount=amount,
        )


def _dispute_status(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    with store.lock:
        return disputes.set_status(store, args["id"], str(body.get("status", "")))


def _refund_status(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    unknown = set(body) - {"status", "failure_reason"}
    if unknown:
        raise invalid_request(f"Unknown refund field(s): {', '.join(sorted(unknown))}")
    reason = body.get("failure_reason")
    with store.lock:
        return refunds.set_status(store, args["id"], str(body.get("status", "")), str(reason) if reason else None)


def _object(store: Store, body: JsonDict, args: dict[str, str]) -> Any:
    found = store.snapshot(args["id"])
    if found is None:
        raise no_such("object", args["id"])
    return found


_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"^/_emulator/state$"), _state),
    ("POST", re.compile(r"^/_emulator/reset$"), _reset),
    ("POST", re.compile(r"^/_emulator/seed$"), _seed),
    ("POST", re.compile(r"^/_emulator/keys$"), _create_key),
    ("GET", re.compile(r"^/_emulator/keys$"), _list_keys),
    ("POST", re.compile(r"^/_emulator/faults$"), _add_fault),
    ("GET", re.compile(r"^/_emulator/faults$"), _list_faults),
    ("DELETE", re.compile(r"^/_emulator/faults$"), _clear_faults),
    ("POST", re.compile(r"^/_emulator/latency$"), _latency),
    ("GET", re.compile(r"^/_emulator/requests$"), _requests),
    ("DELETE", re.compile(r"^/_emulator/requests$"), _reset_requests),
    ("POST", re.compile(r"^/_emulator/subscriptions/(?P<id>[^/]+)/past_due$"), _past_due),
    ("POST", re.compile(r"^/_emulator/subscriptions/(?P<id>[^/]+)/advance$"), _advance),
    ("POST", re.compile(r"^/_emulator/payment_intents/(?P<id>[^/]+)/dispute$"), _dispute),
    ("POST", re.compile(r"^/_emulator/disputes/(?P<id>[^/]+)/status$"), _dispute_status),
    ("POST", re.compile(r"^/_emulator/refunds/(?P<id>[^/]+)/status$"), _refund_status),
    ("GET", re.compile(r"^/_emulator/objects/(?P<id>[^/]+)$"), _object),
    ("POST", re.compile(r"^/_emulator/webhook_endpoint$"), _set_webhook_endpoint),
    ("GET", re.compile(r"^/_emulator/webhook_endpoint$"), _webhook_endpoint),
    ("DELETE", re.compile(r"^/_emulator/webhook_endpoint$"), _clear_webhook_endpoint),
]


def handle(store: Store, request: Request) -> Response:
    try:
        for method, pattern, handler in _ROUTES:
            found = pattern.match(request.path)
            if found is not None and method == request.method:
                body = _body(request)
                if method == "GET":
                    result = handler(store, body, found.groupdict())
                else:  # a change made "in the dashboard" is delivered like any other
                    with store.delivering():
                        result = handler(store, body, found.groupdict())
                with store.lock:
                    encoded = json.dumps(result, indent=2)
                return Response(200, encoded.encode("utf-8"))
        raise invalid_request(f"Unknown control endpoint {request.method} {request.path}", status=404)
    except StripeError as error:
        return Response(error.status, json.dumps(error.body()).encode("utf-8"))
