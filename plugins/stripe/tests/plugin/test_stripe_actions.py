"""Refunds and cancellations, run through the host against Stripe's API, and the panel after them.

Replayed from cassettes by default; re-recorded against the emulator or Stripe test mode
(see plugins/stripe/tests/README.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe
from megadesk_stripe.refund_cap import RefundCapError
from stripe_testing import StripeData, StripeHost, panel_row, panel_table, ticket

from megadesk_core.errors import ActionRefusedError, IntegrationError
from megadesk_core.types import ActingPrincipal, TicketContext

pytestmark = pytest.mark.vcr


async def _customer_with_payment(
    data: StripeData, email: str, amount: int = 2900
) -> tuple[TicketContext, stripe.Customer, stripe.PaymentIntent]:
    customer = await data.customer(email, "Rae Fund")
    payment = await data.payment(customer.id, amount)
    return ticket(custom_data={"customerId": customer.id}), customer, payment


async def _refunds_of(data: StripeData, payment_intent_id: str) -> list[stripe.Refund]:
    return list((await data.client.v1.refunds.list_async({"payment_intent": payment_intent_id})).data)


async def test_refund_and_the_panel_after_it(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, _, payment = await _customer_with_payment(stripe_data, "refund.full@example.com")
    before = panel_row(await stripe_host.panel(the_ticket), "Recent payments", payment.id)
    assert [b.label for b in before.actions] == ["Refund $29.00", "Refund part…"]

    result = await stripe_host.run(the_ticket, "refund_payment", {"target": payment.id}, "req-refund-1")
    assert result.message == f"Refunded $29.00 on {payment.id}"
    assert result.target == payment.id
    assert result.reference is not None
    assert result.reference.startswith("re_")

    after = panel_row(await stripe_host.panel(the_ticket), "Recent payments", payment.id)
    assert after.cells["status"].text == "refunded"
    assert after.cells["status"].hint == "$29.00 of $29.00 refunded"
    assert after.actions == []

    # The same request again (its answer was lost, say): Stripe replays the refund it made.
    again = await stripe_host.run(the_ticket, "refund_payment", {"target": payment.id}, "req-refund-1")
    assert (again.message, again.reference) == (result.message, result.reference)
    # Another request on the refunded payment: Stripe refuses it, and nothing is refunded twice.
    with pytest.raises(ActionRefusedError, match=r"already fully refunded\. Nothing was refunded\."):
        await stripe_host.run(the_ticket, "refund_payment", {"target": payment.id}, "req-refund-2")
    assert [r.id for r in await _refunds_of(stripe_data, payment.id)] == [result.reference]


async def test_double_click_refunds_once(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, _, payment = await _customer_with_payment(stripe_data, "refund.twice@example.com")
    outcomes = await asyncio.gather(
        *(stripe_host.run(the_ticket, "refund_payment", {"target": payment.id}, "req-double") for _ in range(2)),
        return_exceptions=True,
    )
    references = {o.reference for o in outcomes if not isinstance(o, BaseException)}
    assert len(references) == 1, outcomes  # both clicks got the one refund Stripe made
    refunds = await _refunds_of(stripe_data, payment.id)
    assert [r.amount for r in refunds] == [2900]


async def test_refund_what_is_left_of_a_partly_refunded_payment(
    stripe_host: StripeHost, stripe_data: StripeData
) -> None:
    the_ticket, _, payment = await _customer_with_payment(stripe_data, "refund.rest@example.com")
    await stripe_data.refund(payment.id, 900)
    row = panel_row(await stripe_host.panel(the_ticket), "Recent payments", payment.id)
    assert row.cells["status"].text == "partly refunded"
    assert [b.label for b in row.actions] == ["Refund $20.00", "Refund part…"]

    result = await stripe_host.run(the_ticket, "refund_payment", {"target": payment.id}, "req-refund-rest")
    assert result.message == f"Refunded $20.00 on {payment.id}"
    assert sorted(r.amount for r in await _refunds_of(stripe_data, payment.id)) == [900, 2000]


async def test_refund_refusals(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, _, refunded = await _customer_with_payment(stripe_data, "refund.refused@example.com")
    await stripe_data.refund(refunded.id)
    customer_id = the_ticket.custom_data["customerId"]
    unpaid = await stripe_data.payment(customer_id, 4200, confirm=False)
    other = await stripe_data.customer("refund.other@example.com", "Someone Else")
    theirs = await stripe_data.payment(other.id, 1000)

    cases: list[tuple[str, str]] = [
        (theirs.id, "does not belong to the Stripe customer shown on this ticket"),
        (unpaid.id, "not succeeded"),
        (refunded.id, "already fully refunded"),
    ]
    for target, message in cases:
        with pytest.raises(ActionRefusedError, match=message):
            await stripe_host.run(the_ticket, "refund_payment", {"target": target}, f"req-{target}")
    assert await _refunds_of(stripe_data, theirs.id) == []
    assert len(await _refunds_of(stripe_data, refunded.id)) == 1


async def _subscribed(data: StripeData, email: str) -> tuple[TicketContext, stripe.Subscription]:
    customer = await data.customer(email, "Sub Scriber")
    price = await data.price("Pro plan", 2900)
    subscription = await data.subscription(customer.id, price.id)
    return ticket(custom_data={"customerId": customer.id}), subscription


async def test_cancel_now(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, subscription = await _subscribed(stripe_data, "cancel.now@example.com")
    result = await stripe_host.run(
        the_ticket, "cancel_subscription", {"target": subscription.id, "at_period_end": False}, "req-cancel-now"
    )
    assert result.message == f"Canceled {subscription.id} now (status canceled)"
    row = panel_row(await stripe_host.panel(the_ticket), "Subscriptions", subscription.id)
    assert row.cells["status"].text == "canceled"
    assert row.actions == []

    with pytest.raises(ActionRefusedError, match="already canceled"):
        await stripe_host.run(
            the_ticket, "cancel_subscription", {"target": subscription.id, "at_period_end": False}, "req-again"
        )


async def test_cancel_at_period_end(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, subscription = await _subscribed(stripe_data, "cancel.later@example.com")
    payload: dict[str, Any] = {"target": subscription.id, "at_period_end": True}
    result = await stripe_host.run(the_ticket, "cancel_subscription", payload, "req-cancel-later")
    assert result.message.startswith(f"{subscription.id} will cancel at the end of its current period (")

    row = panel_row(await stripe_host.panel(the_ticket), "Subscriptions", subscription.id)
    assert row.cells["status"].text == "active"
    assert row.cells["status"].hint == "cancels at period end"
    assert [b.label for b in row.actions] == ["Resume", "Cancel now"]

    with pytest.raises(ActionRefusedError, match="already set to cancel"):
        await stripe_host.run(the_ticket, "cancel_subscription", payload, "req-cancel-later-2")


async def test_cancel_and_refund_the_latest_invoice(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, subscription = await _subscribed(stripe_data, "cancel.refund@example.com")
    payload = {"target": subscription.id, "at_period_end": False, "refund_latest_invoice": True}
    result = await stripe_host.run(the_ticket, "cancel_subscription", payload, "req-cancel-refund")
    assert result.message.startswith(f"Canceled {subscription.id} now (status canceled); refunded $29.00 on pi_")
    assert result.reference is not None
    assert result.reference.startswith("re_")

    payments = panel_table(await stripe_host.panel(the_ticket), "Recent")
    assert [r.cells["status"].text for r in payments.rows] == ["refunded"]


async def test_cancel_refusals(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, mine = await _subscribed(stripe_data, "cancel.refused@example.com")
    _, theirs = await _subscribed(stripe_data, "cancel.theirs@example.com")
    await stripe_data.client.v1.subscriptions.cancel_async(mine.id)

    with pytest.raises(ActionRefusedError, match="does not belong"):
        await stripe_host.run(the_ticket, "cancel_subscription", {"target": theirs.id, "at_period_end": False}, "r1")
    with pytest.raises(ActionRefusedError, match="already canceled"):
        await stripe_host.run(the_ticket, "cancel_subscription", {"target": mine.id, "at_period_end": True}, "r2")
    still = await stripe_data.client.v1.subscriptions.retrieve_async(theirs.id)
    assert (still.status, still.cancel_at_period_end) == ("active", False)


async def test_unknown_target_is_not_found(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, _, _ = await _customer_with_payment(stripe_data, "refund.unknown@example.com")
    with pytest.raises(IntegrationError) as caught:
        await stripe_host.run(the_ticket, "refund_payment", {"target": "pi_DoesNotExist0"}, "req-unknown")
    assert caught.value.code == "not_found"


async def test_partial_refunds_up_to_what_is_left(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, _, payment = await _customer_with_payment(stripe_data, "refund.part@example.com")
    part = {"target": payment.id, "amount": "10.50", "reason": "requested_by_customer", "note": "one seat less"}
    result = await stripe_host.run(the_ticket, "partial_refund", part, "req-part-1")
    assert result.message == f"Refunded $10.50 of {payment.id}"
    # The same request again: Stripe replays it; nothing more is refunded.
    again = await stripe_host.run(the_ticket, "partial_refund", part, "req-part-1")
    assert again.reference == result.reference
    row = panel_row(await stripe_host.panel(the_ticket), "Recent payments", payment.id)
    assert row.cells["status"].hint == "$10.50 of $29.00 refunded"
    assert [b.label for b in row.actions] == ["Refund $18.50", "Refund part…"]

    too_much = {**part, "amount": "18.51"}
    with pytest.raises(ActionRefusedError, match=r"more than is left .*\(\$18.50\)"):
        await stripe_host.run(the_ticket, "partial_refund", too_much, "req-part-2")
    refunds = await _refunds_of(stripe_data, payment.id)
    assert [(r.amount, r.reason, r.metadata["megadesk_note"]) for r in refunds] == [
        (1050, "requested_by_customer", "one seat less")
    ]


async def test_the_agents_refund_cap_and_an_admin_above_it(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, _, payment = await _customer_with_payment(stripe_data, "refund.cap@example.com")
    agent = ActingPrincipal(name="Ada Agent", role="agent", token_id="tok_agent")
    admin = ActingPrincipal(name="Al Admin", role="admin", token_id="tok_admin")
    part = {"target": payment.id, "amount": "20.00"}
    with pytest.raises(RefundCapError, match=r"\(\$15.00 in USD\), and Ada Agent acts as an agent"):
        await stripe_host.run(the_ticket, "partial_refund", part, "req-cap-1", agent, caps={"usd": 1500})
    with pytest.raises(RefundCapError):  # refunding the rest in full is capped alike
        await stripe_host.run(
            the_ticket, "refund_payment", {"target": payment.id}, "req-cap-2", agent, caps={"usd": 1500}
        )
    assert await _refunds_of(stripe_data, payment.id) == []
    result = await stripe_host.run(the_ticket, "partial_refund", part, "req-cap-3", admin, caps={"usd": 1500})
    assert result.message == f"Refunded $20.00 of {payment.id}"


async def test_resume_a_subscription_set_to_cancel(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    the_ticket, subscription = await _subscribed(stripe_data, "changed.mind@example.com")
    await stripe_host.run(
        the_ticket, "cancel_subscription", {"target": subscription.id, "at_period_end": True}, "req-leave"
    )
    result = await stripe_host.run(the_ticket, "resume_subscription", {"target": subscription.id}, "req-stay")
    assert result.message.startswith(f"{subscription.id} will renew on ")
    row = panel_row(await stripe_host.panel(the_ticket), "Subscriptions", subscription.id)
    assert row.cells["status"].hint is None
    assert [b.label for b in row.actions] == ["Cancel at period end", "Cancel now"]
    # Resumed already (another request, or this one's lost answer): nothing to resume, nothing sent.
    with pytest.raises(ActionRefusedError, match="not set to cancel"):
        await stripe_host.run(the_ticket, "resume_subscription", {"target": subscription.id}, "req-stay-2")
