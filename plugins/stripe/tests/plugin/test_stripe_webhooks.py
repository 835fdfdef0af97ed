"""Stripe's webhook events: the signature checked with the stripe library, the ids read from
the event itself (no Stripe call)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe
from megadesk_stripe.webhooks import SUBSCRIBED_EVENTS, changed_ids, read_event

from megadesk_core.errors import WebhookRejectedError

SECRET = "whsec_test_123"


def _delivery(event: dict[str, Any], *, secret: str = SECRET, at: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(event)
    return body.encode(), stripe.WebhookSignature.generate_signature_header(body, secret, at or int(time.time()))


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": "evt_1", "object": "event", "type": event_type, "created": 1, "data": {"object": obj}}


def test_a_refund_names_itself_its_charge_payment_and_customer() -> None:
    refund = {"id": "re_1", "object": "refund", "charge": "ch_1", "payment_intent": "pi_1", "status": "succeeded"}
    body, signature = _delivery(_event("refund.updated", refund))
    result = read_event(body, signature, SECRET)
    assert result is not None and result.event_id == "evt_1"
    assert result.changed == ["re_1", "pi_1", "ch_1"]
    assert result.occurred_at is not None and abs(result.occurred_at.timestamp() - time.time()) < 5


def test_linked_ids_expanded_or_not_and_customer_events() -> None:
    subscription = {"id": "sub_1", "customer": {"id": "cus_1"}, "latest_invoice": "in_1"}
    assert changed_ids(subscription) == ["sub_1", "cus_1", "in_1"]
    body, signature = _delivery(_event("customer.deleted", {"id": "cus_1", "object": "customer"}))
    result = read_event(body, signature, SECRET)
    assert result is not None and result.changed == ["cus_1"]
    assert "charge.dispute.created" in SUBSCRIBED_EVENTS and "invoice.payment_failed" in SUBSCRIBED_EVENTS


def test_events_the_panel_does_not_show_are_ignored() -> None:
    body, signature = _delivery(_event("product.updated", {"id": "prod_1"}))
    assert read_event(body, signature, SECRET) is None


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "no header", "too old", "tampered", "no secret configured"],
)
def test_forged_old_or_unsigned_deliveries_are_refused(case: str) -> None:
    event = _event("customer.updated", {"id": "cus_1"})
    body, signature = _delivery(event)
    secret: str | None = SECRET
    header: str | None = signature
    if case == "wrong secret":
        body, header = _delivery(event, secret="whsec_other")
    elif case == "no header":
        header = None
    elif case == "too old":
        body, header = _delivery(event, at=int(time.time()) - 3600)
    elif case == "tampered":
        body = body.replace(b"cus_1", b"cus_2")
    else:
        secret = None
    with pytest.raises(WebhookRejectedError) as refused:
        read_event(body, header, secret)
    assert "cus_" not in refused.value.message and refused.value.__cause__ is None
