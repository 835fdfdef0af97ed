"""Injected faults and latency: rate limits, server errors, dropped connections, delays."""

from __future__ import annotations

import time

import httpx
import pytest
import stripe
from emulator_helpers import make_client, pay
from stripe_emulator.server import EmulatorHandle


def test_rate_limit_for_a_number_of_requests(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    intent = pay(client, 1000)
    emulator.add_fault("/v1/refunds", method="POST", status=429, times=2)
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError) as caught:
            client.v1.refunds.create(params={"payment_intent": intent.id})
        assert caught.value.http_status == 429
        assert caught.value.error is not None and caught.value.error.code == "rate_limit"
    assert client.v1.refunds.list().data == [], "a refused request must not reach the API"
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert refund.amount == 1000


def test_fault_only_hits_matching_method_and_path(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    emulator.add_fault("/v1/refunds", method="POST", status=500, times=None)
    assert client.v1.refunds.list().data == []
    client.v1.customers.create()
    with pytest.raises(stripe.APIError) as caught:
        client.v1.refunds.create(params={"payment_intent": "pi_x"})
    assert caught.value.http_status == 500
    assert caught.value.error is not None and caught.value.error.type == "api_error"
    with pytest.raises(stripe.APIError):
        client.v1.refunds.create(params={"payment_intent": "pi_x"})
    emulator.clear_faults()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": "pi_x"})


def test_glob_match(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()
    emulator.add_fault("/v1/customers/*", status=503)
    assert [c.id for c in client.v1.customers.list().data] == [customer.id]
    with pytest.raises(stripe.APIError) as caught:
        client.v1.customers.retrieve(customer.id)
    assert caught.value.http_status == 503


def test_dropped_connection_is_api_connection_error(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    emulator.add_fault("/v1/customers", method="GET", drop=True)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.list()
    assert client.v1.customers.list().data == []


def test_fault_delay(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    emulator.add_fault("/v1/customers", delay_ms=200)
    started = time.perf_counter()
    client.v1.customers.list()
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    client.v1.customers.list()
    assert time.perf_counter() - started < 0.2


def test_global_latency(emulator: EmulatorHandle, client: stripe.StripeClient, http: httpx.Client) -> None:
    emulator.set_latency(100)
    started = time.perf_counter()
    client.v1.customers.list()
    assert time.perf_counter() - started >= 0.1
    started = time.perf_counter()
    http.get("/_emulator/state")
    assert time.perf_counter() - started < 0.1, "control endpoints are never delayed"
    assert http.post("/_emulator/latency", json={"latency_ms": 0}).json() == {"latency_ms": 0}
    started = time.perf_counter()
    client.v1.customers.list()
    assert time.perf_counter() - started < 0.1


def test_faults_through_control_endpoints(client: stripe.StripeClient, http: httpx.Client) -> None:
    added = http.post("/_emulator/faults", json={"match": "/v1/customers", "method": "POST", "status": 429, "times": 1})
    assert added.status_code == 200
    assert added.json()["status"] == 429
    assert len(http.get("/_emulator/faults").json()["faults"]) == 1
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create()
    assert http.get("/_emulator/faults").json()["faults"] == [], "used-up faults disappear"
    http.post("/_emulator/faults", json={"match": "/v1/customers", "drop": True, "times": None})
    assert http.delete("/_emulator/faults").json() == {"faults": []}
    client.v1.customers.create()
    assert http.post("/_emulator/faults", json={"match": "v1"}).status_code == 400
    assert http.post("/_emulator/faults", json={"match": "/v1/x", "status": 200}).status_code == 400
    assert http.post("/_emulator/faults", json={"match": "/v1/x", "colour": "red"}).status_code == 400


def test_injected_failures_are_not_replayed_by_idempotency(
    emulator: EmulatorHandle, client: stripe.StripeClient
) -> None:
    emulator.add_fault("/v1/customers", method="POST", status=500)
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(options={"idempotency_key": "retry-me"})
    created = client.v1.customers.create(options={"idempotency_key": "retry-me"})
    assert created.id.startswith("cus_")


def test_retries_recover_from_a_transient_error(emulator: EmulatorHandle) -> None:
    emulator.add_fault("/v1/customers", method="POST", status=500, times=1)
    retrying, http_client = make_client(emulator, max_network_retries=2)
    try:
        created = retrying.v1.customers.create(params={"email": "retry@example.com"})
    finally:
        http_client.close()
    assert created.email == "retry@example.com"
    assert [c["email"] for c in emulator.store.all("customer")] == ["retry@example.com"]
    assert emulator.store.faults.list() == []


@pytest.mark.asyncio
async def test_async_drop_and_rate_limit(emulator: EmulatorHandle, aclient: stripe.StripeClient) -> None:
    emulator.add_fault("/v1/payment_intents", drop=True)
    with pytest.raises(stripe.APIConnectionError):
        await aclient.v1.payment_intents.list_async()
    emulator.add_fault("/v1/payment_intents", status=429)
    with pytest.raises(stripe.RateLimitError):
        await aclient.v1.payment_intents.list_async()
    page = await aclient.v1.payment_intents.list_async()
    assert page.data == []
