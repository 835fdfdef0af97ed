"""The plugin inside the real host: the host's contract check, and the HTTP API an agent uses.

Emulator-only (no cassettes): the host's app and database run in-process, Stripe is the emulator.
"""

from __future__ import annotations

from typing import Any

import megadesk_stripe.plugin
import pytest
from stripe_testing import StripeData

from megadesk_core.contract import ContractAction, ContractScenario
from megadesk_core.errors import NotFoundError
from megadesk_core.types import TicketContext

FULL_ACCESS = {
    "customers": "read",
    "payment_intents": "read",
    "charges": "read",
    "refunds": "write",
    "subscriptions": "write",
    "invoices": "read",
    "products": "read",
    "disputes": "read",
}


@pytest.fixture
def megadesk_plugins() -> list[object]:
    return [megadesk_stripe.plugin]


@pytest.fixture
def megadesk_plugin_options(emulator: Any) -> dict[str, dict[str, Any]]:
    return {"stripe": {"api_base": emulator.base_url, "max_network_retries": 0}}


async def test_the_host_contract(emulator: Any, emulator_data: StripeData, megadesk_contract: Any) -> None:
    customer = await emulator_data.customer("contract.check@example.com", "Con Tract")
    payment = await emulator_data.payment(customer.id)
    price = await emulator_data.price()
    subscription = await emulator_data.subscription(customer.id, price.id)
    settings = {"restricted_key": emulator.create_restricted_key(FULL_ACCESS)}
    report = await megadesk_contract(
        scenarios=[
            ContractScenario(
                name="verified, with actions",
                settings=settings,
                ticket=TicketContext(ticket_id="T-1", custom_data={"customerId": customer.id}),
                expect_customer=True,
                actions=[
                    ContractAction("refund_payment", {"target": payment.id}),
                    ContractAction("cancel_subscription", {"target": subscription.id, "at_period_end": True}),
                ],
            ),
            ContractScenario(
                name="by email",
                settings=settings,
                ticket=TicketContext(ticket_id="T-2", requester_email="Contract.Check@example.com"),
                expect_customer=True,
            ),
            ContractScenario(
                name="nobody",
                settings=settings,
                ticket=TicketContext(ticket_id="T-3", requester_email="nobody.at.all@example.com"),
                expect_customer=False,
            ),
            ContractScenario(
                name="unknown id",
                settings=settings,
                ticket=TicketContext(ticket_id="T-4", custom_data={"customerId": "cus_NotThere0"}),
                expect_error=NotFoundError,
            ),
        ]
    )
    assert report.warnings == []
    await megadesk_stripe.plugin.shutdown()


async def test_an_agent_refunds_through_the_api(emulator: Any, emulator_data: StripeData, megadesk_tenant: Any) -> None:
    customer = await emulator_data.customer("through.api@example.com", "Api User")
    payment = await emulator_data.payment(customer.id)
    tenant = await megadesk_tenant("acme", integration="stripe")
    key = emulator.create_restricted_key({**FULL_ACCESS, "invoices": "none"})
    saved = await tenant.configure("stripe", {"restricted_key": key, "payment_history_limit": 5})
    assert key not in str(saved)

    unverified = await tenant.new_ticket(email="through.api@example.com")
    panel = await tenant.panel(unverified)
    assert panel["verified"] is False
    assert panel["verification_note"].startswith("Matched by the requester's email")
    notice = next(b for b in panel["blocks"] if b.get("title", "").startswith("Some Stripe features"))
    assert "rak_invoice_read" in notice["text"]
    refused = await tenant.run_action(unverified, "stripe", "refund_payment", {"target": payment.id})
    assert refused.status_code == 409, refused.text
    assert "identity_not_confirmed" in refused.text  # the host wants identity_confirmed first

    ticket_id = await tenant.new_ticket(data={"customerId": customer.id})
    panel = await tenant.panel(ticket_id)
    assert panel["verified"] is True
    payments = next(b for b in panel["blocks"] if b.get("title", "").startswith("Recent payments (last 5)"))
    assert payments["rows"][0]["actions"][0]["label"] == "Refund $29.00"

    done = await tenant.run_action(ticket_id, "stripe", "refund_payment", {"target": payment.id}, idempotency_key="k1")
    assert done.status_code == 200, done.text
    assert f"Refunded $29.00 on {payment.id}" in done.text
    again = await tenant.run_action(ticket_id, "stripe", "refund_payment", {"target": payment.id}, idempotency_key="k2")
    assert again.status_code == 409, again.text
    assert "already fully refunded" in again.text
    refunds = await emulator_data.client.v1.refunds.list_async({"payment_intent": payment.id})
    assert len(refunds.data) == 1
    await megadesk_stripe.plugin.shutdown()
