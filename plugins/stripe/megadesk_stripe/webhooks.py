"""Stripe's webhook events: verified with the stripe library, read into the ids that changed.

Every id comes from the event itself (the object and the ids it links to: customer, payment
intent, charge, invoice, subscription), so a delivery costs no Stripe call. The panel declares
the same ids (``megadesk_stripe.panel.shown_objects``), so the host drops exactly the panels an
event touches. Subscribe the endpoint to :data:`SUBSCRIBED_EVENTS` (the README lists them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from megadesk_core.errors import WebhookRejectedError
from megadesk_core.types import WebhookResult

SIGNATURE_TOLERANCE_SECONDS = 300
"""Stripe's own default: a signature older than this is refused (a replay)."""
SUBSCRIBED_EVENTS = (
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "charge.succeeded",
    "charge.failed",
    "charge.captured",
    "charge.updated",
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.updated",
)
"""The events that change what the panel shows."""
NO_SECRET_WARNING = (
    "No webhook signing secret: a change made outside Megadesk (a refund in the Stripe dashboard) shows "
    "only when the kept panel expires. Add a webhook endpoint in Stripe at the webhook URL shown here and "
    "save its signing secret (whsec_...)."
)
_LINKS = ("customer", "payment_intent", "charge", "invoice", "subscription", "latest_invoice", "latest_charge")


def read_event(body: bytes, signature: str | None, secret: str | None) -> WebhookResult | None:
    """The ids one delivery says changed, after checking its ``Stripe-Signature``; ``None`` for an
    event the panel does not show."""
    if not secret:
        raise WebhookRejectedError(
            "No webhook signing secret is configured for Stripe: an admin must save the endpoint's "
            "signing secret (whsec_...) in the Stripe settings."
        )
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        # Its text names what is wrong; the exception also holds the payload: never chained.
        raise WebhookRejectedError(f"The Stripe-Signature does not verify: {exc.user_message or exc}") from None
    signed_at = _signed_at(signature or "")
    try:
        event = json.loads(body)
        event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise WebhookRejectedError("The body is not a Stripe event.") from None
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, Mapping):
        raise WebhookRejectedError("The body is not a Stripe event.")
    if event_type not in SUBSCRIBED_EVENTS:
        return None
    return WebhookResult(event_id=event_id, changed=changed_ids(obj), occurred_at=signed_at)


def changed_ids(obj: Mapping[str, Any]) -> list[str]:
    """The object's id and the ids of the objects it links to."""
    ids = [obj.get("id")]
    for link in _LINKS:
        value = obj.get(link)
        ids.append(value.get("id") if isinstance(value, Mapping) else value)
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


def _signed_at(header: str) -> datetime | None:
    # verify_header already read it; the host refuses a delivery older than its own tolerance.
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name.strip() == "t" and value.strip().isdigit():
            return datetime.fromtimestamp(int(value), UTC)
    return None
