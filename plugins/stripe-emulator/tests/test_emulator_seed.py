"""The demo seed: what a help-desk demo can rely on finding."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import stripe
from stripe_emulator.seed import DemoWorld, seed_demo
from stripe_emulator.server import EmulatorHandle
from stripe_emulator.store import Store


@pytest.fixture
def world(emulator: EmulatorHandle) -> DemoWorld:
    return emulator.seed()


def test_demo_world_is_json_serialisable(world: DemoWorld) -> None:
    data = json.loads(world.model_dump_json())
    assert data["ada"]["email"] == "ada@example.com"
    assert DemoWorld.model_validate(data) == world
    assert data["secret_key"] == "sk_test_emulator"


def test_ada_has_a_monthly_subscription_and_every_payment_outcome(
    client: stripe.StripeClient, world: DemoWorld
) -> None:
    ada = client.v1.customers.retrieve(world.ada.id)
    assert (ada.email, ada.name) == ("ada@example.com", "Ada Lovelace")
    assert ada.metadata.to_dict()["verified"] == "true"
    assert world.ada.subscription_ids == [world.ada_subscription_id]

    sub = client.v1.subscriptions.retrieve(world.ada_subscription_id, params={"expand": ["items.data.price.product"]})
    item = sub["items"].data[0]
    assert sub.status == "active"
    assert (item.price.unit_amount, item.price.currency) == (2900, "usd")
    assert item.price.recurring is not None and item.price.recurring.interval == "month"
    assert isinstance(item.price.product, stripe.Product) and item.price.product.name == "Pro plan"
    now = int(time.time())
    assert item.current_period_start <= now < item.current_period_end
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    assert [i.status for i in invoices.data] == ["paid", "paid", "paid"]

    payments = world.ada_payments
    succeeded = client.v1.payment_intents.retrieve(payments.succeeded, params={"expand": ["latest_charge"]})
    assert succeeded.status == "succeeded" and succeeded.amount == 4900
    failed = client.v1.payment_intents.retrieve(payments.failed, params={"expand": ["latest_charge"]})
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None and failed.last_payment_error.code == "card_declined"
    assert isinstance(failed.latest_charge, stripe.Charge) and failed.latest_charge.status == "failed"
    refunded = client.v1.payment_intents.retrieve(payments.refunded, params={"expand": ["latest_charge"]})
    assert isinstance(refunded.latest_charge, stripe.Charge)
    assert (refunded.latest_charge.refunded, refunded.latest_charge.amount_refunded) == (True, 1500)
    partial = client.v1.payment_intents.retrieve(payments.partially_refunded, params={"expand": ["latest_charge"]})
    assert isinstance(partial.latest_charge, stripe.Charge)
    assert (partial.latest_charge.refunded, partial.latest_charge.amount_refunded, partial.amount) == (
        False,
        3000,
        8000,
    )
    listed = client.v1.payment_intents.list(params={"customer": world.ada.id, "limit": 100})
    ids = [i.id for i in listed.data]
    assert {payments.succeeded, payments.failed, payments.refunded, payments.partially_refunded} <= set(ids)
    assert [i.created for i in listed.data] == sorted((i.created for i in listed.data), reverse=True)


def test_grace_is_only_findable_by_email(client: stripe.StripeClient, world: DemoWorld) -> None:
    found = client.v1.customers.list(params={"email": "grace@example.com"}).data
    assert [c.id for c in found] == [world.grace.id]
    assert found[0].name is None
    intents = client.v1.payment_intents.list(params={"customer": world.grace.id}).data
    assert [(i.status, i.amount) for i in intents] == [("succeeded", 1900)]
    assert client.v1.subscriptions.list(params={"customer": world.grace.id}).data == []


def test_shared_email_has_two_customers(client: stripe.StripeClient, world: DemoWorld) -> None:
    found = client.v1.customers.list(params={"email": world.shared_email}).data
    assert [c.id for c in found] == [c.id for c in world.shared_customers]
    newer, older = found
    assert newer.name != older.name
    assert newer.created > older.created
    with_sub = [c for c in found if client.v1.subscriptions.list(params={"customer": c.id}).data]
    assert [c.id for c in with_sub] == [older.id]
    assert client.v1.subscriptions.retrieve(world.shared_subscription_id).status == "active"


def test_jpy_customer_pays_zero_decimal_amounts(client: stripe.StripeClient, world: DemoWorld) -> None:
    sub = client.v1.subscriptions.retrieve(world.jpy_subscription_id)
    price = sub["items"].data[0].price
    assert (sub.currency, price.currency, price.unit_amount) == ("jpy", "jpy", 5000)
    invoices = client.v1.invoices.list(params={"customer": world.jpy_customer.id}).data
    assert invoices and all(i.amount_paid == 5000 and i.currency == "jpy" for i in invoices)
    assert client.v1.customers.retrieve(world.jpy_customer.id).currency == "jpy"


def test_cancel_at_period_end_and_past_due(client: stripe.StripeClient, world: DemoWorld) -> None:
    leaving = client.v1.subscriptions.retrieve(world.cancel_at_period_end_subscription_id)
    assert (leaving.status, leaving.cancel_at_period_end) == ("active", True)
    assert leaving.cancel_at == leaving["items"].data[0].current_period_end
    overdue = client.v1.subscriptions.retrieve(world.past_due_subscription_id)
    assert overdue.status == "past_due"
    assert overdue.latest_invoice == world.past_due_invoice_id
    invoice = client.v1.invoices.retrieve(world.past_due_invoice_id)
    assert (invoice.status, invoice.amount_remaining) == ("open", 2900)
    assert client.v1.customers.retrieve(world.past_due_customer.id).delinquent is True


def test_deleted_customer(client: stripe.StripeClient, world: DemoWorld) -> None:
    gone = client.v1.customers.retrieve(world.deleted_customer_id)
    assert gone.to_dict() == {"id": world.deleted_customer_id, "object": "customer", "deleted": True}
    assert client.v1.customers.list(params={"email": "charles@example.com"}).data == []


def _content(store: Store) -> list[Any]:
    """Everything about the seeded objects except ids and absolute times."""
    rows = []
    for kind in ("customer", "subscription", "payment_intent", "charge", "refund", "invoice", "invoice_payment"):
        for obj in store.all(kind):
            rows.append(
                (
                    kind,
                    obj.get("email"),
                    obj.get("name"),
                    obj.get("status"),
                    obj.get("amount") or obj.get("amount_due"),
                    obj.get("currency"),
                    obj.get("description"),
                    obj.get("amount_refunded"),
                    obj.get("cancel_at_period_end"),
                )
            )
    return sorted(rows, key=repr)


def test_seed_content_is_deterministic() -> None:
    first, second = Store(), Store()
    seed_demo(first)
    seed_demo(second)
    assert _content(first) == _content(second)
    assert first.counts() == second.counts()
    assert first.counts()["deleted_customer"] == 1


def test_seed_and_state_control_endpoints(emulator: EmulatorHandle, http: httpx.Client) -> None:
    seeded = http.post("/_emulator/seed", json={"scenario": "demo"})
    assert seeded.status_code == 200
    assert seeded.json()["grace"]["email"] == "grace@example.com"
    state = http.get("/_emulator/state").json()
    assert (state["objects"]["customer"], state["objects"]["deleted_customer"]) == (13, 1)
    assert state["latency_ms"] == 0
    assert http.post("/_emulator/seed", json={"scenario": "space"}).status_code == 400
    customer_id = seeded.json()["ada"]["id"]
    assert http.get(f"/_emulator/objects/{customer_id}").json()["email"] == "ada@example.com"
    assert http.post("/_emulator/reset").json() == {"reset": True}
    assert http.get("/_emulator/state").json()["objects"] == {}
    assert http.get("/_emulator/nope").status_code == 404


def test_the_demo_has_a_dispute_a_pending_and_a_failed_refund_and_a_specific_decline(
    client: stripe.StripeClient, world: DemoWorld
) -> None:
    (dispute,) = client.v1.disputes.list(params={"payment_intent": world.disputed_payment_id}).data
    assert (dispute.id, dispute.status, dispute.reason) == (world.dispute_id, "needs_response", "fraudulent")

    def refunds_of(pi: str) -> list[stripe.Refund]:
        return list(client.v1.refunds.list(params={"payment_intent": pi}).data)

    assert [r.status for r in refunds_of(world.pending_refund_payment_id)] == ["pending"]
    (failed,) = refunds_of(world.failed_refund_payment_id)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    declined = client.v1.payment_intents.retrieve(world.declined_payment_id)
    assert declined.last_payment_error is not None
    assert declined.last_payment_error.decline_code == "insufficient_funds"
