"""API keys, restricted-key permissions, request ids and unknown URLs."""

from __future__ import annotations

import httpx
import pytest
import stripe
from emulator_helpers import make_client, pay
from stripe_emulator import FULL_SECRET_KEY
from stripe_emulator.server import EmulatorHandle


def test_full_key_constant() -> None:
    assert FULL_SECRET_KEY == "sk_test_emulator"


def test_missing_key_is_401(http: httpx.Client) -> None:
    answer = http.get("/v1/customers")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication_error"
    assert answer.headers["Request-Id"].startswith("req_")


def test_wrong_key_is_authentication_error(emulator: EmulatorHandle) -> None:
    client, http_client = make_client(emulator, "sk_test_wrongwrongwrong1234")
    try:
        with pytest.raises(stripe.AuthenticationError) as caught:
            client.v1.customers.list()
    finally:
        http_client.close()
    assert caught.value.http_status == 401
    message = str(caught.value.user_message)
    assert "sk_test_***1234" in message and "wrongwrong" not in message


def test_live_keys_are_refused(emulator: EmulatorHandle) -> None:
    client, http_client = make_client(emulator, "sk_live_abcdefghijklmnop")
    try:
        with pytest.raises(stripe.AuthenticationError) as caught:
            client.v1.customers.list()
    finally:
        http_client.close()
    assert "test mode" in str(caught.value.user_message)


def test_basic_auth_like_curl(http: httpx.Client) -> None:
    assert http.get("/v1/customers", auth=(FULL_SECRET_KEY, "")).status_code == 200


def test_restricted_key_permissions(emulator: EmulatorHandle, client: stripe.StripeClient) -> None:
    intent = pay(client, 1000)
    key = emulator.create_restricted_key({"customers": "write", "payment_intents": "read", "refunds": "read"})
    assert key.startswith("rk_test_")
    restricted, http_client = make_client(emulator, key)
    try:
        restricted.v1.customers.create(params={"email": "ok@example.com"})
        assert restricted.v1.payment_intents.retrieve(intent.id).id == intent.id
        assert restricted.v1.refunds.list().data == []
        with pytest.raises(stripe.PermissionError) as denied:
            restricted.v1.refunds.create(params={"payment_intent": intent.id})
        with pytest.raises(stripe.PermissionError) as no_read:
            restricted.v1.charges.list()
        with pytest.raises(stripe.PermissionError) as expand_denied:
            restricted.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
    finally:
        http_client.close()
    error = denied.value
    assert error.http_status == 403
    assert error.error is not None and error.error.type == "invalid_request_error"
    message = str(error.user_message)
    assert "'rak_refund_write'" in message
    assert key not in message and f"rk_test_***{key[-4:]}" in message
    assert "'rak_charge_read'" in str(no_read.value.user_message)
    assert "'rak_charge_read'" in str(expand_denied.value.user_message)
    assert client.v1.charges.retrieve(str(intent.latest_charge)).amount_refunded == 0


def test_restricted_key_through_control_endpoint(emulator: EmulatorHandle, http: httpx.Client) -> None:
    created = http.post("/_emulator/keys", json={"permissions": {"customers": "read"}})
    assert created.status_code == 200
    key = created.json()["key"]
    read = http.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
    assert read.status_code == 200
    write = http.post("/v1/customers", headers={"Authorization": f"Bearer {key}"}, data={"email": "x@example.com"})
    assert write.status_code == 403
    assert "rak_customer_write" in write.json()["error"]["message"]
    bad = http.post("/_emulator/keys", json={"permissions": {"spaceships": "read"}})
    assert bad.status_code == 400
    listed = http.get("/_emulator/keys").json()["keys"]
    assert all("***" in entry["key"] for entry in listed)
    assert key not in str(listed)


def test_restricted_keys_go_away_on_reset(emulator: EmulatorHandle) -> None:
    key = emulator.create_restricted_key({"customers": "read"})
    emulator.reset()
    client, http_client = make_client(emulator, key)
    try:
        with pytest.raises(stripe.AuthenticationError):
            client.v1.customers.list()
    finally:
        http_client.close()


def test_every_response_has_request_id_and_stripe_shape(http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {FULL_SECRET_KEY}"}
    ok = http.get("/v1/customers", headers=auth)
    missing = http.get("/v1/customers/cus_nope", headers=auth)
    unknown = http.get("/v1/spaceships", headers=auth)
    for answer in (ok, missing, unknown):
        assert answer.headers["Request-Id"].startswith("req_")
        assert answer.headers["Content-Type"] == "application/json"
    assert ok.headers["Stripe-Version"] == "2026-10-28.endive"
    assert len({ok.headers["Request-Id"], missing.headers["Request-Id"], unknown.headers["Request-Id"]}) == 3
    error = missing.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert error["param"] == "id"
    assert error["message"] == "No such customer: 'cus_nope'"
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/resource-missing"
    assert error["request_log_url"].endswith(missing.headers["Request-Id"])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/spaceships)")


def test_form_posts_with_brackets_from_plain_http(http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {FULL_SECRET_KEY}"}
    created = http.post(
        "/v1/customers?expand[]=subscriptions",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"email=curl%40example.com&metadata[source]=curl",
    )
    assert created.status_code == 200
    body = created.json()
    assert body["metadata"] == {"source": "curl"}
    assert body["subscriptions"]["object"] == "list"
