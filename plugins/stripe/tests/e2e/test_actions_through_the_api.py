"""Agents act on real money: refunds, cancellations both ways, and every refusal."""

from __future__ import annotations

import stripe
from megadesk_stripe.errors import translate
from megadesk_stripe.gateway import StripeGateway
from stripe_panels import buttons, row, status_of, table


def _refunds(stripe_admin, payment_intent):
    return stripe_admin.v1.refunds.list(params={"payment_intent": payment_intent}).data


async def test_refund_a_succeeded_payment_and_see_the_new_state(acme, world, stripe_admin):
    target = world.ada_payments.succeeded
    response = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="r1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["message"] == f"Refunded $49.00 on {target}"
    assert body["result"]["reference"].startswith("re_")
    assert status_of(body["panel"], "Recent payments", target) == "refunded"
    assert buttons(body["panel"], "Recent payments", target) == []
    assert status_of(await acme.panel("T-1001", "stripe"), "Recent payments", target) == "refunded"

    # A retry or a double click with the same key replays; Stripe refunded once.
    again = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="r1")
    assert again.status_code == 200
    assert again.json() == body
    assert len(_refunds(stripe_admin, target)) == 1
    # A new click (new key) on the refunded payment is refused, not refunded twice.
    twice = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target})
    assert twice.status_code == 409
    assert "already fully refunded" in twice.json()["detail"]
    assert len(_refunds(stripe_admin, target)) == 1


async def test_a_refund_whose_answer_was_lost_is_reported_when_retried(acme, world, stripe_admin, monkeypatch):
    # Stripe refunds, but the answer is lost (a timeout): the key's outcome is unknown, the agent
    # retries with it, and the retry (told so) finds the refund by its tag and sends nothing.
    target = world.ada_payments.succeeded
    real = StripeGateway.refund_payment_intent
    answers = []

    async def answer_lost_once(self, *args, **kwargs):
        refund = await real(self, *args, **kwargs)
        answers.append(refund.id)
        if len(answers) == 1:
            raise translate(stripe.APIConnectionError("Read timed out"))
        return refund

    monkeypatch.setattr(StripeGateway, "refund_payment_intent", answer_lost_once)
    lost = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="lost")
    assert lost.status_code == 502
    assert lost.json()["code"] == "upstream_unavailable"
    retried = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="lost")
    assert retried.status_code == 200, retried.text
    result = retried.json()["result"]
    assert result["message"] == f"Refunded $49.00 on {target}"
    assert result["reference"] == answers[0]
    assert len(answers) == 1  # the retry looked instead of writing again
    assert [r.id for r in _refunds(stripe_admin, target)] == [answers[0]]
    entries = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    audited = [(e["outcome"], e["detail"]) for e in entries if e["action"] == "stripe.refund_payment"]
    assert audited[0] == ("succeeded", f"Refunded $49.00 on {target}")  # newest first
    assert audited[1][0] == "unknown"
    assert entries[0]["reference"] == answers[0] and entries[0]["amount"] == 4900


async def test_refund_of_a_partly_refunded_payment_refunds_the_rest(acme, world):
    target = world.ada_payments.partially_refunded
    response = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target})
    assert response.status_code == 200, response.text
    assert response.json()["result"]["message"] == f"Refunded $50.00 on {target}"


async def test_refund_refusals(acme, world, stripe_admin):
    cases = [
        (world.ada_payments.refunded, 409, "already fully refunded"),
        (world.ada_payments.failed, 409, "not succeeded"),
        (world.grace.payment_intent_ids[0], 409, "does not belong to the Stripe customer shown on this ticket"),
        ("pi_doesnotexist", 404, "pi_doesnotexist"),
    ]
    for target, status, message in cases:
        response = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target})
        assert response.status_code == status, (target, response.text)
        assert message in response.json()["detail"], target
    assert _refunds(stripe_admin, world.grace.payment_intent_ids[0]) == []
    invalid = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": "sub_123"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "target"


async def test_unverified_customer_needs_identity_confirmation(acme, world, stripe_admin):
    target = world.grace.payment_intent_ids[0]
    refused = await acme.run_action("T-1002", "stripe", "refund_payment", {"target": target})
    assert refused.status_code == 409
    assert refused.json()["code"] == "identity_not_confirmed"
    assert _refunds(stripe_admin, target) == []
    confirmed = await acme.run_action(
        "T-1002", "stripe", "refund_payment", {"target": target, "identity_confirmed": True}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert len(_refunds(stripe_admin, target)) == 1


async def test_switched_customer_is_the_one_actions_check_against(acme, world):
    newer, older = world.shared_customers
    # The older customer (picked by default) owns the subscription; with the newer one selected
    # the same subscription is someone else's.
    payload = {"target": world.shared_subscription_id, "at_period_end": True, "identity_confirmed": True}
    refused = await acme.run_action("T-1003", "stripe", "cancel_subscription", payload, select=newer.id)
    assert refused.status_code == 409
    assert "does not belong" in refused.json()["detail"]
    done = await acme.run_action("T-1003", "stripe", "cancel_subscription", payload, select=older.id)
    assert done.status_code == 200, done.text


async def test_cancel_at_period_end_then_refused_twice(acme, world):
    sub = world.ada_subscription_id
    payload = {"target": sub, "at_period_end": True}
    response = await acme.run_action("T-1001", "stripe", "cancel_subscription", payload)
    assert response.status_code == 200, response.text
    assert "will cancel at the end of its current period" in response.json()["result"]["message"]
    sub_row = row(response.json()["panel"], "Subscriptions", sub)
    assert "cancels" in str(sub_row["cells"]).lower()
    again = await acme.run_action("T-1001", "stripe", "cancel_subscription", payload)
    assert again.status_code == 409
    assert "already set to cancel at the end of its period" in again.json()["detail"]
    already = await acme.run_action(
        "T-1006",
        "stripe",
        "cancel_subscription",
        {"target": world.cancel_at_period_end_subscription_id, "at_period_end": True},
    )
    assert already.status_code == 409
    assert "already set to cancel at the end of its period" in already.json()["detail"]


async def test_cancel_now_without_refund(acme, world, stripe_admin):
    sub = world.jpy_subscription_id
    response = await acme.run_action("T-1005", "stripe", "cancel_subscription", {"target": sub, "at_period_end": False})
    assert response.status_code == 200, response.text
    assert response.json()["result"]["reference"] is None
    assert stripe_admin.v1.subscriptions.retrieve(sub).status == "canceled"
    panel = response.json()["panel"]
    assert status_of(panel, "Subscriptions", sub) == "canceled"
    assert buttons(panel, "Subscriptions", sub) == []
    refused = await acme.run_action("T-1005", "stripe", "cancel_subscription", {"target": sub, "at_period_end": False})
    assert refused.status_code == 409
    assert "already canceled" in refused.json()["detail"]


async def test_cancel_now_with_a_refund_of_the_latest_invoice(acme, world, stripe_admin):
    sub = stripe_admin.v1.subscriptions.retrieve(world.ada_subscription_id)
    invoice_payment = stripe_admin.v1.invoice_payments.list(params={"invoice": sub.latest_invoice}).data[0]
    paid_by = invoice_payment.payment.payment_intent
    response = await acme.run_action(
        "T-1001",
        "stripe",
        "cancel_subscription",
        {"target": sub.id, "at_period_end": False, "refund_latest_invoice": True},
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["reference"].startswith("re_")
    assert f"refunded $29.00 on {paid_by}" in result["message"]
    assert stripe_admin.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert len(_refunds(stripe_admin, paid_by)) == 1
    assert status_of(response.json()["panel"], "Recent payments", paid_by) == "refunded"


async def test_cancel_done_but_the_refund_failed_is_a_success_that_says_so(acme, world, stripe_admin, emulator):
    sub = stripe_admin.v1.subscriptions.retrieve(world.ada_subscription_id)
    paid_by = (
        stripe_admin.v1.invoice_payments.list(params={"invoice": sub.latest_invoice}).data[0].payment.payment_intent
    )
    emulator.add_fault("/v1/refunds", method="POST", status=503, times=1)
    payload = {"target": sub.id, "at_period_end": False, "refund_latest_invoice": True}
    response = await acme.run_action("T-1001", "stripe", "cancel_subscription", payload, idempotency_key="half")
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["message"].startswith(
        f"Canceled {sub.id} now (status canceled), but refunding the latest invoice's payment {paid_by} failed: "
        "Stripe returned an error (503)"
    )
    assert result["message"].endswith(
        "Refund the payment from the payment history if it does not show as refunded there."
    )
    assert result["details"] == {
        "refund_failed": True,
        "refund_payment": paid_by,
        "refund_error": "upstream_unavailable",
    }
    assert result["reference"] is None
    assert stripe_admin.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert _refunds(stripe_admin, paid_by) == []
    panel = response.json()["panel"]
    assert status_of(panel, "Subscriptions", sub.id) == "canceled"
    assert buttons(panel, "Recent payments", paid_by) == ["refund_payment", "partial_refund"]

    # The same key replays the result (the host kept it): nothing is left half done and retried.
    again = await acme.run_action("T-1001", "stripe", "cancel_subscription", payload, idempotency_key="half")
    assert again.status_code == 200
    assert again.json()["result"] == result
    # The agent refunds the payment from the payment history, as told.
    refund = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": paid_by})
    assert refund.status_code == 200, refund.text
    assert len(_refunds(stripe_admin, paid_by)) == 1
    entries = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    cancel = [e for e in entries if e["action"] == "stripe.cancel_subscription"]
    assert [e["outcome"] for e in cancel] == ["replayed", "succeeded"]
    assert "refunding the latest invoice's payment" in cancel[1]["detail"]


async def test_cancel_at_period_end_with_a_refund_of_the_latest_invoice(acme, world, stripe_admin):
    sub = world.past_due_subscription_id  # its latest invoice is unpaid: nothing to refund
    refused = await acme.run_action(
        "T-1007", "stripe", "cancel_subscription", {"target": sub, "at_period_end": True, "refund_latest_invoice": True}
    )
    assert refused.status_code == 409
    assert "no payment left to refund" in refused.json()["detail"]
    assert stripe_admin.v1.subscriptions.retrieve(sub).cancel_at_period_end is False  # nothing changed

    jpy = world.jpy_subscription_id
    done = await acme.run_action(
        "T-1005", "stripe", "cancel_subscription", {"target": jpy, "at_period_end": True, "refund_latest_invoice": True}
    )
    assert done.status_code == 200, done.text
    assert "refunded ¥5,000" in done.json()["result"]["message"]
    assert stripe_admin.v1.subscriptions.retrieve(jpy).cancel_at_period_end is True


async def test_other_customers_subscription_is_refused(acme, world, stripe_admin):
    response = await acme.run_action(
        "T-1001", "stripe", "cancel_subscription", {"target": world.jpy_subscription_id, "at_period_end": False}
    )
    assert response.status_code == 409
    assert "does not belong" in response.json()["detail"]
    assert stripe_admin.v1.subscriptions.retrieve(world.jpy_subscription_id).status == "active"


async def test_missing_permission_is_named_and_features_are_hidden(make_stripe_tenant, world, stripe_admin):
    read_only = {
        "customers": "read",
        "payment_intents": "read",
        "charges": "read",
        "subscriptions": "read",
        "products": "read",
        "prices": "read",
    }
    tenant = await make_stripe_tenant("readonly", read_only)
    settings = (await tenant.client.get("/api/v1/integrations/stripe/settings", headers=tenant.admin_headers)).json()
    unavailable = {f["feature"] for f in settings["check"]["unavailable_features"]}
    assert "refund_latest_invoice" in unavailable  # Invoices read is missing
    response = await tenant.run_action("T-1001", "stripe", "refund_payment", {"target": world.ada_payments.succeeded})
    assert response.status_code == 424
    assert response.json()["code"] == "missing_permission"
    assert "Refunds: Write (rak_refund_write)" in response.json()["detail"]
    assert _refunds(stripe_admin, world.ada_payments.succeeded) == []
    cancel = await tenant.run_action(
        "T-1001",
        "stripe",
        "cancel_subscription",
        {"target": world.ada_subscription_id, "at_period_end": False, "refund_latest_invoice": True},
    )
    assert cancel.status_code == 424
    assert "Nothing was changed" in cancel.json()["detail"]
    assert "rak_invoice_read" in cancel.json()["detail"]
    assert stripe_admin.v1.subscriptions.retrieve(world.ada_subscription_id).status == "active"


async def test_rate_limit_asks_to_retry_and_the_same_key_then_works(acme, world, emulator):
    target = world.ada_payments.succeeded
    emulator.add_fault("/v1/refunds", method="POST", status=429, times=1)
    limited = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="rl")
    assert limited.status_code == 429
    assert limited.headers["retry-after"]
    assert "try again" in limited.json()["detail"].lower()
    retried = await acme.run_action("T-1001", "stripe", "refund_payment", {"target": target}, idempotency_key="rl")
    assert retried.status_code == 200, retried.text


async def test_every_attempt_is_audited_without_secrets(acme, world):
    await acme.run_action("T-1001", "stripe", "refund_payment", {"target": world.ada_payments.succeeded})
    await acme.run_action("T-1001", "stripe", "refund_payment", {"target": world.ada_payments.failed})
    await acme.run_action("T-1002", "stripe", "refund_payment", {"target": world.grace.payment_intent_ids[0]})
    entries = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    outcomes = [(e["ticket_id"], e["target"], e["outcome"]) for e in entries if e["action"] == "stripe.refund_payment"]
    assert outcomes == [
        ("T-1002", world.grace.payment_intent_ids[0], "refused"),
        ("T-1001", world.ada_payments.failed, "refused"),
        ("T-1001", world.ada_payments.succeeded, "succeeded"),
    ]
    assert "rk_test" not in str(entries)
    assert (await acme.panel("T-1002", "stripe"))["verified"] is False
    # Only the attempt audited as succeeded moved money.
    panel = await acme.panel("T-1001", "stripe")
    assert status_of(panel, "Recent payments", world.ada_payments.succeeded) == "refunded"
    assert status_of(panel, "Recent payments", world.ada_payments.failed) == "requires payment method"


async def test_partial_refund_within_the_agents_cap_and_above_it_only_an_admin(acme, world, stripe_admin):
    await acme.configure("stripe", {"agent_refund_caps": {"usd": 1000}})  # $10.00; the key is kept
    target = world.ada_payments.succeeded  # $49.00
    over = {"target": target, "amount": "25.00", "reason": "requested_by_customer"}
    refused = await acme.run_action("T-1001", "stripe", "partial_refund", over)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "refund_above_agent_cap"
    assert "acme agent acts as an agent" in refused.json()["detail"]
    assert _refunds(stripe_admin, target) == []

    within = await acme.run_action("T-1001", "stripe", "partial_refund", {**over, "amount": "10.00"})
    assert within.status_code == 200, within.text
    assert within.json()["result"]["message"] == f"Refunded $10.00 of {target}"

    as_admin = await acme.client.post(
        "/api/v1/tickets/T-1001/panels/stripe/actions/partial_refund",
        json=over,
        headers={**acme.admin_headers, "Idempotency-Key": "admin-part"},
    )
    assert as_admin.status_code == 200, as_admin.text
    assert status_of(as_admin.json()["panel"], "Recent payments", target) == "partly refunded"
    assert sorted(r.amount for r in _refunds(stripe_admin, target)) == [1000, 2500]
    audit = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    assert [(e["action"], e["outcome"], e["actor_role"]) for e in audit[:3]] == [
        ("stripe.partial_refund", "succeeded", "admin"),
        ("stripe.partial_refund", "succeeded", "agent"),
        ("stripe.partial_refund", "refused", "agent"),
    ]


async def test_resume_answers_the_changed_my_mind_ticket(acme, world):
    panel = await acme.panel("T-1006", "stripe")
    subscription = next(r["id"] for r in table(panel, "Subscriptions")["rows"])
    assert "resume_subscription" in buttons(panel, "Subscriptions", subscription)
    response = await acme.run_action("T-1006", "stripe", "resume_subscription", {"target": subscription})
    assert response.status_code == 200, response.text
    assert "will renew" in response.json()["result"]["message"]
    assert "resume_subscription" not in buttons(response.json()["panel"], "Subscriptions", subscription)
