"""Idempotent requests: replay, parameter mismatch, per-key scope."""

from __future__ import annotations

import httpx
import pytest
import stripe
from emulator_helpers import CARD_ONLY, make_client
from stripe_emulator import FULL_SECRET_KEY
from stripe_emulator.server import EmulatorHandle

AUTH = {"Authorization": f"Bearer {FULL_SECRET_KEY}"}


def test_same_key_same_params_replays(client: stripe.StripeClient) -> None:
    first = client.v1.customers.create(params={"email": "once@example.com"}, options={"idempotency_key": "k-1"})
    second = client.v1.customers.create(params={"email": "once@example.com"}, options={"idempotency_key": "k-1"})
    assert second.id == first.id
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert first.last_response is not None
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(client.v1.customers.list(params={"email": "once@example.com"}).data) == 1


def test_replay_is_byte_identical_with_original_status(http: httpx.Client) -> None:
    headers = {**AUTH, "Idempotency-Key": "raw-1"}
    first = http.post("/v1/customers", headers=headers, data={"email": "raw@example.com"})
    second = http.post("/v1/customers", headers=headers, data={"email": "raw@example.com"})
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    assert second.headers["Request-Id"] != first.headers["Request-Id"]


def test_same_key_different_params_is_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k-2"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(params={"email": "b@example.com"}, options={"idempotency_key": "k-2"})
    assert caught.value.http_status == 400
    assert "can only be used with the same parameters" in str(caught.value.user_message)
    with pytest.raises(stripe.IdempotencyError) as endpoint:
        client.v1.products.create(params={"name": "x"}, options={"idempotency_key": "k-2"})
    assert "same endpoint" in str(endpoint.value.user_message)


def test_keys_are_scoped_per_api_key(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    first = client.v1.customers.create(params={"email": "s@example.com"}, options={"idempotency_key": "shared"})
    other_key = emulator.create_restricted_key({"customers": "write"})
    other, http_client = make_client(emulator, other_key)
    try:
        second = other.v1.customers.create(params={"email": "s@example.com"}, options={"idempotency_key": "shared"})
    finally:
        http_client.close()
    assert second.id != first.id


def test_errors_from_execution_are_replayed_too(client: stripe.StripeClient) -> None:
    params = {
        "amount": 700,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
        **CARD_ONLY,
    }
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "decline-1"})
    with pytest.raises(stripe.CardError) as second:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "decline-1"})
    assert first.value.error is not None and second.value.error is not None
    assert first.value.error.payment_intent.id == second.value.error.payment_intent.id
    assert second.value.headers is not None and second.value.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.payment_intents.list().data) == 1


def test_delete_is_idempotent_with_a_key(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    first = client.v1.customers.delete(customer.id, options={"idempotency_key": "del-1"})
    again = client.v1.customers.delete(customer.id, options={"idempotency_key": "del-1"})
    assert again.to_dict() == first.to_dict()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.delete(customer.id)


def test_stripe_python_sends_a_fresh_key_per_post(client: stripe.StripeClient) -> None:
    # Without an explicit key each call gets its own generated key: no accidental replays.
    one = client.v1.customers.create(params={"email": "same@example.com"})
    two = client.v1.customers.create(params={"email": "same@example.com"})
    assert one.id != two.id


def test_reset_forgets_idempotent_responses(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    first = client.v1.customers.create(options={"idempotency_key": "k-reset"})
    emulator.reset()
    second = client.v1.customers.create(options={"idempotency_key": "k-reset"})
    assert second.id != first.id
