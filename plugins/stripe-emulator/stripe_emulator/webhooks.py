"""Webhook deliveries: each change the emulator makes, sent as a signed Stripe event.

Configured with one endpoint (``url``) and its signing secret (``whsec_...``), as a Stripe
webhook endpoint is: :meth:`WebhookEndpoint.configure`, ``POST /_emulator/webhook_endpoint`` or
``stripe-emulator --webhook-url ... --webhook-secret ...``. Every request that may change
objects (any ``POST``/``DELETE``, the control endpoints included, so a "dashboard" change made
behind Megadesk's back is delivered too) compares the objects before and after; each created or
changed object becomes an event of the type Stripe sends for that change (``customer.updated``,
``charge.refunded``, ``refund.created``, ``charge.dispute.created``, ...), with the object and
``previous_attributes``, signed the way Stripe signs (``Stripe-Signature: t=<unix time>,
v1=<HMAC-SHA256 of "<t>.<body>">``) and posted from a background thread, as Stripe delivers
asynchronously. Kinds Stripe sends no event for here (payment methods, prices) are skipped.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from stripe_emulator.ids import new_id, now

JsonDict = dict[str, Any]
logger = logging.getLogger("stripe_emulator.webhooks")
DELIVERY_TIMEOUT_SECONDS = 5.0

_PAYMENT_INTENT_EVENTS = {
    "succeeded": "payment_intent.succeeded",
    "canceled": "payment_intent.canceled",
    "processing": "payment_intent.processing",
    "requires_capture": "payment_intent.amount_capturable_updated",
}
_INVOICE_EVENTS = {
    "paid": "invoice.paid",
    "void": "invoice.voided",
    "uncollectible": "invoice.marked_uncollectible",
    "open": "invoice.finalized",
}


def event_type(kind: str, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str | None:
    """The type of the event Stripe sends when an object of ``kind`` goes from ``before``
    (``None``: new) to ``after``; ``None`` when Stripe sends none."""
    status = after.get("status")
    changed_status = before is None or before.get("status") != status
    if kind == "customer":
        if after.get("deleted"):
            return "customer.deleted"
        return "customer.created" if before is None else "customer.updated"
    if kind == "payment_intent":
        if before is None:
            return "payment_intent.created"
        if changed_status and isinstance(status, str) and status in _PAYMENT_INTENT_EVENTS:
            return _PAYMENT_INTENT_EVENTS[status]
        if after.get("last_payment_error") and after.get("last_payment_error") != before.get("last_payment_error"):
            return "payment_intent.payment_failed"
        return None
    if kind == "charge":
        if before is None:
            return {"succeeded": "charge.succeeded", "failed": "charge.failed"}.get(str(status), "charge.pending")
        if after.get("amount_refunded") != before.get("amount_refunded") or after.get("refunded") != before.get(
            "refunded"
        ):
            return "charge.refunded"
        if after.get("captured") and not before.get("captured"):
            return "charge.captured"
        return "charge.updated"
    if kind == "refund":
        if before is None:
            return "refund.created"
        return "refund.failed" if changed_status and status == "failed" else "refund.updated"
    if kind == "dispute":
        if before is None:
            return "charge.dispute.created"
        return "charge.dispute.closed" if changed_status and status in ("won", "lost") else "charge.dispute.updated"
    if kind == "subscription":
        if before is None:
            return "customer.subscription.created"
        return (
            "customer.subscription.deleted"
            if changed_status and status == "canceled"
            else "customer.subscription.updated"
        )
    if kind == "invoice":
        if before is None:
            return "invoice.created"
        if changed_status and isinstance(status, str) and status in _INVOICE_EVENTS:
            return _INVOICE_EVENTS[status]
        return "invoice.updated"
    return None


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe computes it (the v1 scheme)."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


class WebhookEndpoint:
    """The one endpoint the emulator delivers to, if configured."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.url: str | None = None
        self.secret: str | None = None
        self.delivered: list[JsonDict] = []
        """The events sent (for tests and ``GET /_emulator/webhook_endpoint``)."""

    def configure(self, url: str | None, secret: str | None) -> None:
        if (url is None) != (secret is None):
            raise ValueError("a webhook endpoint needs both a url and a signing secret (whsec_...)")
        with self._lock:
            self.url, self.secret = url, secret

    def clear(self) -> None:
        with self._lock:
            self.url = self.secret = None
            self.delivered = []

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def snapshot(self, objects: Mapping[str, JsonDict]) -> dict[str, JsonDict] | None:
        """A copy of the objects to compare with after a change; ``None`` when not delivering."""
        return copy.deepcopy(dict(objects)) if self.enabled else None

    def events(self, before: Mapping[str, JsonDict], after: Mapping[str, JsonDict]) -> list[JsonDict]:
        found = []
        for object_id, obj in after.items():
            previous = before.get(object_id)
            if previous == obj:
                continue
            kind = str(obj.get("object"))
            event = event_type(kind, previous, obj)
            if event is None:
                continue
            changed = {k: v for k, v in (previous or {}).items() if obj.get(k) != v}
            data: JsonDict = {"object": copy.deepcopy(obj)}
            if previous is not None:
                data["previous_attributes"] = changed
            found.append(
                {
                    "id": new_id("event"),
                    "object": "event",
                    "api_version": None,
                    "created": now(),
                    "data": data,
                    "livemode": False,
                    "pending_webhooks": 1,
                    "request": {"id": None, "idempotency_key": None},
                    "type": event,
                }
            )
        return found

    def deliver(self, events: list[JsonDict]) -> None:
        """Post ``events`` (in order) from a background thread."""
        url, secret = self.url, self.secret
        if not events or url is None or secret is None:
            return
        with self._lock:
            self.delivered.extend(events)
        thread = threading.Thread(target=_post_all, args=(url, secret, events), name="emulator-webhooks", daemon=True)
        thread.start()


def _post_all(url: str, secret: str, events: list[JsonDict]) -> None:
    with httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS) as client:
        for event in events:
            payload = json.dumps(event, indent=2)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(payload, secret),
            }
            try:
                response = client.post(url, content=payload.encode(), headers=headers)
            except httpx.HTTPError as error:
                logger.warning("webhook %s to %s failed: %s", event["type"], url, error)
                continue
            if response.status_code >= 300:
                logger.warning("webhook %s to %s answered %d", event["type"], url, response.status_code)
