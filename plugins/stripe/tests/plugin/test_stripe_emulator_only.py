"""What only the emulator can set up: restricted keys, injected faults, a rejected key.

No cassettes: these talk to the local emulator directly, also when recording against Stripe.
"""

from __future__ import annotations

import socket
from typing import Any

import megadesk_stripe.plugin
import pytest
from megadesk_stripe.blocks import ENDED_SHOWN
from megadesk_stripe.checks import WRITE_WARNING
from megadesk_stripe.client import ClientCache
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.settings import StripeOptions, StripeSettings
from stripe_testing import StripeData, StripeHost, StripeTarget, panel_table, ticket

from megadesk_core.errors import (
    ActionRefusedError,
    AuthenticationFailedError,
    InvalidInputError,
    MissingPermissionError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from megadesk_core.panel import NoticeBlock, TableBlock
from megadesk_core.plugins import load_integrations

EVERYTHING = {
    "customers": "read",
    "payment_intents": "read",
    "charges": "read",
    "refunds": "write",
    "subscriptions": "write",
    "invoices": "read",
    "disputes": "read",
    "products": "read",
}


def _key(emulator: Any, **changes: str) -> str:
    key: str = emulator.create_restricted_key({**EVERYTHING, **changes})
    return key


async def _check(host: StripeHost, key: str) -> Any:
    return await host.call(
        "check_settings",
        settings=StripeSettings.model_validate({"restricted_key": key}),
        options=StripeOptions(api_base=host.target.api_base, max_network_retries=0),
    )


async def test_check_settings_with_a_complete_restricted_key(emulator: Any, emulator_host: StripeHost) -> None:
    check = await _check(emulator_host, _key(emulator))
    assert check.unavailable_features == []
    assert WRITE_WARNING.format("Refunds: Write, Subscriptions: Write") in check.warnings


async def test_check_settings_names_what_a_key_cannot_do(emulator: Any, emulator_host: StripeHost) -> None:
    check = await _check(emulator_host, _key(emulator, invoices="none", charges="none", products="none"))
    reasons = {u.feature: u.reason for u in check.unavailable_features}
    assert reasons == {
        "payments": "the key lacks Charges: Read (rak_charge_read)",
        "product_names": "the key lacks Products: Read (rak_product_read)",
        "refund_latest_invoice": "the key lacks Invoices: Read (rak_invoice_read)",
        "invoice_links": "the key lacks Invoices: Read (rak_invoice_read)",
        "refunds": "needs Payment history",
        "disputes": "needs Payment history",
        "refund_details": "needs Payment history",
    }


async def test_check_settings_rejects_a_key_stripe_does_not_know(emulator_host: StripeHost) -> None:
    unknown = "rk_test_" + "N0tAKeyStripeKnows" * 3
    with pytest.raises(AuthenticationFailedError) as caught:
        await _check(emulator_host, unknown)
    assert "Stripe rejected the API key" in caught.value.message
    assert unknown not in caught.value.message


async def test_check_settings_rejects_a_malformed_key_without_calling_stripe(emulator_host: StripeHost) -> None:
    with pytest.raises(InvalidInputError, match="rk_live_ or rk_test_"):
        await _check(emulator_host, "pk_test_thisIsAPublishableKey")


async def test_refund_without_refunds_write(
    emulator: Any, emulator_host: StripeHost, emulator_data: StripeData
) -> None:
    customer = await emulator_data.customer("no.refunds@example.com", "Nora")
    payment = await emulator_data.payment(customer.id)
    key = _key(emulator, refunds="read")
    the_ticket = ticket(custom_data={"customerId": customer.id})
    with pytest.raises(MissingPermissionError) as caught:
        await emulator_host.run(the_ticket, "refund_payment", {"target": payment.id}, "k-perm", key=key)
    assert "Refunds: Write (rak_refund_write)" in caught.value.message
    assert key not in caught.value.message
    refunds = await emulator_data.client.v1.refunds.list_async({"payment_intent": payment.id})
    assert refunds.data == []


async def test_cancel_with_refund_needs_invoices_read_before_anything_changes(
    emulator: Any, emulator_host: StripeHost, emulator_data: StripeData
) -> None:
    customer = await emulator_data.customer("no.invoices@example.com", "Ivo")
    price = await emulator_data.price()
    subscription = await emulator_data.subscription(customer.id, price.id)
    payload = {"target": subscription.id, "at_period_end": False, "refund_latest_invoice": True}
    the_ticket = ticket(custom_data={"customerId": customer.id})
    with pytest.raises(MissingPermissionError, match=r"rak_invoice_read"):
        await emulator_host.run(
            the_ticket, "cancel_subscription", payload, "k-inv", key=_key(emulator, invoices="none")
        )
    still = await emulator_data.client.v1.subscriptions.retrieve_async(subscription.id)
    assert still.status == "active"


async def test_cancel_done_but_refund_denied_says_so(
    emulator: Any, emulator_host: StripeHost, emulator_data: StripeData
) -> None:
    customer = await emulator_data.customer("half.done@example.com", "Hal")
    price = await emulator_data.price()
    subscription = await emulator_data.subscription(customer.id, price.id)
    payload = {"target": subscription.id, "at_period_end": False, "refund_latest_invoice": True}
    the_ticket = ticket(custom_data={"customerId": customer.id})
    # The cancellation is done: a refund Stripe refuses is reported in the result, not raised.
    result = await emulator_host.run(
        the_ticket, "cancel_subscription", payload, "k-half", key=_key(emulator, refunds="read")
    )
    assert result.message.startswith(f"Canceled {subscription.id} now")
    assert "but refunding the latest invoice's payment pi_" in result.message
    assert "rak_refund_write" in result.message
    assert "Refund the payment from the payment history" in result.message
    assert result.details["refund_failed"] is True
    assert result.details["refund_error"] == "missing_permission"
    assert result.reference is None
    still = await emulator_data.client.v1.subscriptions.retrieve_async(subscription.id)
    assert still.status == "canceled"


async def test_a_refund_retried_after_its_answer_was_lost_is_reported(
    emulator: Any, emulator_host: StripeHost, emulator_data: StripeData
) -> None:
    """The emulator applies injected faults before the request reaches it, so a lost answer is a
    first attempt whose result nobody sees; the retry carries the same key."""
    customer = await emulator_data.customer("lost.answer@example.com", "Lou")
    payment = await emulator_data.payment(customer.id, 4900)
    the_ticket = ticket(custom_data={"customerId": customer.id})
    payload = {"target": payment.id}
    lost = await emulator_host.run(the_ticket, "refund_payment", payload, "k-lost")  # the answer never arrives
    retry = await emulator_host.run(the_ticket, "refund_payment", payload, "k-lost")
    assert retry.message == f"Refunded $49.00 on {payment.id}"
    assert retry.reference == lost.reference
    refunds = await emulator_data.client.v1.refunds.list_async({"payment_intent": payment.id})
    assert [r.amount for r in refunds.data] == [4900]
    # Another request (another key) on the refunded payment: Stripe refuses, nothing moves.
    with pytest.raises(ActionRefusedError, match=r"already fully refunded\. Nothing was refunded\."):
        await emulator_host.run(the_ticket, "refund_payment", payload, "k-other")
    refunds = await emulator_data.client.v1.refunds.list_async({"payment_intent": payment.id})
    assert len(refunds.data) == 1


async def test_panel_without_settings_check_degrades_per_section(
    emulator: Any, emulator_host: StripeHost, emulator_data: StripeData
) -> None:
    customer = await emulator_data.customer("partial.key@example.com", "Pat")
    await emulator_data.payment(customer.id)
    key = _key(emulator, subscriptions="none")
    panel = await emulator_host.panel(ticket(custom_data={"customerId": customer.id}), key=key)
    notice = next(b for b in panel.blocks if isinstance(b, NoticeBlock) and b.title.startswith("Some Stripe"))
    assert "Subscriptions (subscriptions): The Stripe key lacks Subscriptions: Read" in (notice.text or "")
    titles = [b.title for b in panel.blocks if isinstance(b, TableBlock)]
    assert titles == ["Recent payments (last 10)"]


async def test_rate_limited(emulator: Any, emulator_host: StripeHost) -> None:
    emulator.add_fault("/v1/customers", status=429, times=None)
    with pytest.raises(RateLimitedError, match="Stripe is rate limiting"):
        await emulator_host.resolve(ticket(requester_email="busy@example.com"))


async def test_stripe_error_500(emulator: Any, emulator_host: StripeHost) -> None:
    emulator.add_fault("/v1/customers", status=500, times=None)
    with pytest.raises(UpstreamUnavailableError):
        await emulator_host.resolve(ticket(requester_email="broken@example.com"))


async def test_dropped_connection(emulator: Any, emulator_host: StripeHost) -> None:
    emulator.add_fault("/v1/customers", drop=True, times=None)
    with pytest.raises(UpstreamUnavailableError, match="Could not reach Stripe"):
        await emulator_host.resolve(ticket(requester_email="dropped@example.com"))


async def test_nothing_listening() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    registry = load_integrations(
        extra_plugins=[megadesk_stripe.plugin],
        load_entry_points=False,
        plugin_options={"stripe": {"api_base": base, "max_network_retries": 0, "timeout_seconds": 2}},
    )
    host = StripeHost(registry, StripeTarget("emulator", "sk_test_emulator", base))
    try:
        with pytest.raises(UpstreamUnavailableError):
            await host.resolve(ticket(requester_email="nobody@example.com"))
    finally:
        await registry.shutdown()


async def test_idempotency_key_reaches_stripe(emulator: Any, emulator_data: StripeData) -> None:
    """Two refunds with one key are one refund: what protects a retry that passes the checks."""
    customer = await emulator_data.customer("same.key@example.com", "Sam")
    payment = await emulator_data.payment(customer.id)
    clients = ClientCache()
    gateway = StripeGateway(clients.get(emulator.secret_key, StripeOptions(api_base=emulator.base_url)))
    try:
        first = await gateway.refund_payment_intent(payment.id, "same-key", "T-1", "tag")
        second = await gateway.refund_payment_intent(payment.id, "same-key", "T-1", "tag")
    finally:
        await clients.aclose()
    assert first.id == second.id


async def test_a_live_subscription_behind_a_hundred_canceled_ones_still_shows(
    emulator_host: StripeHost, emulator_data: StripeData
) -> None:
    customer = await emulator_data.customer("many.subs@example.com", "Many Subs")
    price = await emulator_data.price("Old plan")
    live = await emulator_data.subscription(customer.id, price.id)
    for _ in range(101):  # newer than the live one: the first page of 100 holds none but these
        ended = await emulator_data.subscription(customer.id, price.id)
        await emulator_data.client.v1.subscriptions.cancel_async(ended.id)
    panel = await emulator_host.panel(ticket(custom_data={"customerId": customer.id}))
    rows = panel_table(panel, "Subscriptions").rows
    assert live.id in [row.id for row in rows]
    # Every subscription that is not over, and only the newest few ended ones.
    assert len(rows) == 1 + ENDED_SHOWN
