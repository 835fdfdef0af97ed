"""Disputes, pending/failed/canceled refunds, receipts and decline details in the emulator."""

from __future__ import annotations

import httpx
import pytest
import stripe
from emulator_helpers import make_client, pay
from stripe_emulator.server import EmulatorHandle


def _dispute(http: httpx.Client, pi: str, **body: object) -> dict[str, object]:
    response = http.post(f"/_emulator/payment_intents/{pi}/dispute", json=body)
    assert response.status_code == 200, response.text
    found: dict[str, object] = response.json()
    return found


def test_a_dispute_has_stripes_shape_and_marks_the_charge(client: stripe.StripeClient, http: httpx.Client) -> None:
    intent = pay(client, 2900)
    dispute = _dispute(http, intent.id, status="warning_needs_response", reason="product_not_received")
    assert str(dispute["id"]).startswith("dp_")
    listed = client.v1.disputes.list(params={"payment_intent": intent.id})
    assert [d.id for d in listed.data] == [dispute["id"]]
    found = listed.data[0]
    assert (found.amount, found.currency, found.status, found.reason) == (
        2900,
        "usd",
        "warning_needs_response",
        "product_not_received",
    )
    assert found.charge == intent.latest_charge
    assert found.evidence_details.due_by > found.created
    assert found.payment_method_details is not None
    assert found.payment_method_details.card is not None
    assert found.payment_method_details.card.case_type == "inquiry"
    assert client.v1.disputes.retrieve(str(dispute["id"])).id == dispute["id"]
    assert client.v1.disputes.list(params={"charge": str(intent.latest_charge)}).data[0].id == dispute["id"]
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.disputed is True


def test_a_disputed_charge_cannot_be_refunded(client: stripe.StripeClient, http: httpx.Client) -> None:
    intent = pay(client, 2900)
    _dispute(http, intent.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert caught.value.code == "charge_disputed"
    assert "has been charged back" in str(caught.value.user_message)


def test_dispute_control_refuses_nonsense(client: stripe.StripeClient, http: httpx.Client) -> None:
    intent = pay(client, 2900)
    assert http.post(f"/_emulator/payment_intents/{intent.id}/dispute", json={"status": "odd"}).status_code == 400
    assert http.post(f"/_emulator/payment_intents/{intent.id}/dispute", json={"colour": "red"}).status_code == 400
    assert http.post("/_emulator/payment_intents/pi_nope/dispute", json={}).status_code == 404
    dispute = _dispute(http, intent.id)
    moved = http.post(f"/_emulator/disputes/{dispute['id']}/status", json={"status": "won"}).json()
    assert moved["status"] == "won"


def test_reading_disputes_needs_the_disputes_permission(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    key = emulator.create_restricted_key({"payment_intents": "read"})
    restricted, http_client = make_client(emulator, key)
    try:
        with pytest.raises(stripe.PermissionError, match="rak_dispute_read"):
            restricted.v1.disputes.list()
    finally:
        http_client.close()


@pytest.mark.parametrize(
    ("status", "counted"),
    [("pending", 2900), ("requires_action", 2900), ("failed", 0), ("canceled", 0), ("succeeded", 2900)],
)
def test_refund_states_and_what_the_charge_counts(
    client: stripe.StripeClient, http: httpx.Client, status: str, counted: int
) -> None:
    intent = pay(client, 2900)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    body: dict[str, object] = {"status": status}
    if status == "failed":
        body["failure_reason"] = "expired_or_canceled_card"
    moved = http.post(f"/_emulator/refunds/{refund.id}/status", json=body)
    assert moved.status_code == 200, moved.text
    found = client.v1.refunds.retrieve(refund.id)
    assert found.status == status
    if status == "failed":
        assert found.failure_reason == "expired_or_canceled_card"
    charge = client.v1.charges.retrieve(str(intent.latest_charge), params={"expand": ["refunds"]})
    assert charge.amount_refunded == counted
    assert charge.refunded is (counted == 2900)
    assert charge.refunds is not None
    assert [r.status for r in charge.refunds.data] == [status]


def test_refund_status_control_refuses_nonsense(client: stripe.StripeClient, http: httpx.Client) -> None:
    intent = pay(client, 2900)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert http.post(f"/_emulator/refunds/{refund.id}/status", json={"status": "lost"}).status_code == 400
    bad_reason = {"status": "failed", "failure_reason": "moon"}
    assert http.post(f"/_emulator/refunds/{refund.id}/status", json=bad_reason).status_code == 400
    assert http.post("/_emulator/refunds/re_nope/status", json={"status": "failed"}).status_code == 404


def test_the_payment_list_expands_refunds_at_depth_three(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "r@example.com"})
    intent = pay(client, 5000, "jpy", customer=customer.id)
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    page = client.v1.payment_intents.list(params={"customer": customer.id, "expand": ["data.latest_charge.refunds"]})
    charge = page.data[0].latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.receipt_url is not None and charge.receipt_url.startswith("https://pay.stripe.com/receipts/")
    assert charge.refunds is not None
    assert [r.amount for r in charge.refunds.data] == [1000]


def test_expanding_a_charges_refunds_needs_refunds_read(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    intent = pay(client, 2900)
    key = emulator.create_restricted_key({"payment_intents": "read", "charges": "read"})
    restricted, http_client = make_client(emulator, key)
    try:
        assert restricted.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]}).id
        with pytest.raises(stripe.PermissionError, match="rak_refund_read"):
            restricted.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge.refunds"]})
    finally:
        http_client.close()


def test_a_declined_payment_carries_its_reason(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "d@example.com"})
    with pytest.raises(stripe.CardError):
        pay(client, 2900, customer=customer.id, card="pm_card_chargeDeclinedInsufficientFunds")
    intent = client.v1.payment_intents.list(params={"customer": customer.id, "expand": ["data.latest_charge"]}).data[0]
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None
    assert intent.last_payment_error.decline_code == "insufficient_funds"
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert (charge.status, charge.failure_code, charge.outcome and charge.outcome.reason) == (
        "failed",
        "card_declined",
        "insufficient_funds",
    )
    assert charge.receipt_url is None
