"""Stripe failing: rate limits, server errors, timeouts and dropped connections (the emulator's
fault injection). Each panel and each action says what happened and what to do; a failed write
is retried only with the same idempotency key, so Stripe never applies it twice."""

from __future__ import annotations

from typing import Any

import pytest
from megadesk_stripe.gateway import StripeGateway
from stripe_emulator.server import EmulatorHandle

pytestmark = pytest.mark.faults

TIMEOUT_SECONDS = 1.0

RATE_LIMITED = "Stripe is rate limiting this account's requests; try again in a few seconds."
UNREACHABLE = "Could not reach Stripe (network error or timeout); try again in a moment."

FAULTS: dict[str, tuple[dict[str, Any], int, str, str]] = {
    # name: (fault, action status, action code, what the message says)
    "429": ({"status": 429}, 429, "rate_limited", RATE_LIMITED),
    "500": ({"status": 500}, 502, "upstream_unavailable", "Stripe returned an error (500); try again in a moment."),
    "timeout": ({"delay_ms": 3000}, 502, "upstream_unavailable", UNREACHABLE),
    "dropped": ({"drop": True}, 502, "upstream_unavailable", UNREACHABLE),
}


@pytest.fixture
def megadesk_plugin_options(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    # One retry, as in production (stripe-python resends with the same idempotency key), and a
    # short timeout so a hung Stripe fails well inside the panel deadline.
    return {"stripe": {"api_base": emulator.base_url, "max_network_retries": 1, "timeout_seconds": TIMEOUT_SECONDS}}


@pytest.fixture(autouse=True)
def _clear_faults(emulator: EmulatorHandle):
    yield
    emulator.clear_faults()


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_failing_stripe_gives_each_panel_a_clear_error(acme, emulator, fault):
    spec, _status, _code, message = FAULTS[fault]
    emulator.add_fault("/v1/customers", times=None, **spec)
    panel = await acme.panel("T-1001", "stripe")
    assert panel["status"] == "error", panel
    assert panel["error"]["message"].startswith(message)
    emulator.clear_faults()
    assert (await acme.panel("T-1001", "stripe"))["status"] == "ok"  # and it recovers by itself


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_failing_refund_is_reported_and_retried_only_with_the_same_key(
    acme, world, emulator, stripe_admin, monkeypatch, fault
):
    spec, status, code, message = FAULTS[fault]
    keys: list[str] = []
    real = StripeGateway.refund_payment_intent

    async def spy(self, payment_intent_id, idempotency_key, *args, **kwargs):
        keys.append(idempotency_key)
        return await real(self, payment_intent_id, idempotency_key, *args, **kwargs)

    monkeypatch.setattr(StripeGateway, "refund_payment_intent", spy)
    target = world.ada_payments.succeeded
    emulator.add_fault("/v1/refunds", method="POST", times=None, **spec)
    failed = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="k1")
    assert failed.status_code == status, failed.text
    assert failed.headers["content-type"].startswith("application/problem+json")
    body = failed.json()
    assert body["code"] == code
    assert body["detail"].startswith(message)  # then what Stripe said, if anything
    if status == 429:
        assert int(failed.headers["retry-after"]) >= 1

    emulator.clear_faults()
    retried = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="k1")
    assert retried.status_code == 200, retried.text
    refunds = stripe_admin.v1.refunds.list(params={"payment_intent": target}).data
    assert len(refunds) == 1  # a timed-out or dropped refund that Stripe made is not made twice
    assert retried.json()["result"]["reference"] == refunds[0].id
    # The retry sent the same key, or (a refund Stripe made before the answer was lost) found
    # the refund by its tag and sent nothing.
    assert len(keys) in (1, 2) and len(set(keys)) == 1, keys

    audit = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    outcomes = [e["outcome"] for e in audit if e["action"] == "stripe.refund_payment"]
    # A 429 was certainly not acted on; after a 5xx, a stall or a dropped connection nobody
    # knew, until the retry looked.
    assert outcomes == ["succeeded", "failed" if fault == "429" else "unknown"]


@pytest.mark.parametrize("at_period_end", [False, True])
async def test_a_cancel_that_loses_a_race_says_already_canceled(acme, world, stripe_admin, monkeypatch, at_period_end):
    sub = world.jpy_subscription_id
    name = "cancel_subscription_at_period_end" if at_period_end else "cancel_subscription_now"
    real = getattr(StripeGateway, name)

    async def someone_else_first(self, subscription_id, idempotency_key, request_tag=None):
        stripe_admin.v1.subscriptions.cancel(subscription_id)  # another agent, or the dashboard
        return await real(self, subscription_id, idempotency_key, request_tag)

    monkeypatch.setattr(StripeGateway, name, someone_else_first)
    payload = {"target": sub, "at_period_end": at_period_end}
    response = await acme.run_action("T-1005", "stripe", "cancel_subscription", payload)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert f"Subscription {sub} is already canceled" in detail
    assert "no such" not in detail.lower()
