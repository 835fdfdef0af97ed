"""The emulator's webhook events: the types Stripe sends for each change, signed as Stripe signs."""

from __future__ import annotations

import json

import pytest
import stripe
from stripe_emulator.webhooks import WebhookEndpoint, event_type, signature_header


@pytest.mark.parametrize(
    ("kind", "before", "after", "expected"),
    [
        ("customer", None, {"id": "cus_1"}, "customer.created"),
        ("customer", {"name": "a"}, {"name": "b"}, "customer.updated"),
        ("customer", {"deleted": False}, {"deleted": True}, "customer.deleted"),
        ("refund", None, {"status": "succeeded"}, "refund.created"),
        ("refund", {"status": "pending"}, {"status": "failed"}, "refund.failed"),
        ("charge", {"amount_refunded": 0}, {"amount_refunded": 500}, "charge.refunded"),
        ("dispute", None, {"status": "needs_response"}, "charge.dispute.created"),
        ("dispute", {"status": "under_review"}, {"status": "lost"}, "charge.dispute.closed"),
        ("subscription", {"status": "active"}, {"status": "canceled"}, "customer.subscription.deleted"),
        ("subscription", {"status": "active"}, {"status": "past_due"}, "customer.subscription.updated"),
        ("invoice", {"status": "open"}, {"status": "paid"}, "invoice.paid"),
        ("payment_intent", {"status": "requires_confirmation"}, {"status": "succeeded"}, "payment_intent.succeeded"),
        ("payment_method", None, {"id": "pm_1"}, None),
    ],
)
def test_event_types_follow_stripe(kind: str, before: dict | None, after: dict, expected: str | None) -> None:
    assert event_type(kind, before, after) == expected


def test_changed_objects_become_signed_events_with_previous_attributes() -> None:
    endpoint = WebhookEndpoint()
    assert endpoint.snapshot({"cus_1": {}}) is None  # not configured: nothing to compare
    endpoint.configure("http://127.0.0.1:9/hook", "whsec_x")
    before = {"cus_1": {"id": "cus_1", "object": "customer", "name": "Ada"}}
    after = {
        "cus_1": {"id": "cus_1", "object": "customer", "name": "Ada L."},
        "re_1": {"id": "re_1", "object": "refund", "status": "succeeded", "charge": "ch_1"},
    }
    events = endpoint.events(before, after)
    assert [e["type"] for e in events] == ["customer.updated", "refund.created"]
    assert events[0]["data"]["previous_attributes"] == {"name": "Ada"} and events[0]["id"].startswith("evt_")
    payload = json.dumps(events[0])
    stripe.WebhookSignature.verify_header(payload, signature_header(payload, "whsec_x"), "whsec_x", 300)
    with pytest.raises(ValueError, match="both"):
        endpoint.configure("http://127.0.0.1:9/hook", None)
