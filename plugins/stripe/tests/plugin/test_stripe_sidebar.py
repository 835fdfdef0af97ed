"""Finding the customer and rendering the panel, through the host, against Stripe's API.

Replayed from cassettes by default; re-recorded against the emulator or Stripe test mode
(see plugins/stripe/tests/README.md). Each test creates its own customers, with its own email.
"""

from __future__ import annotations

from typing import Any

import pytest
from megadesk_stripe.checks import FULL_KEY_WARNING, TEST_KEY_WARNING
from megadesk_stripe.resolution import day
from megadesk_stripe.settings import StripeOptions, StripeSettings
from megadesk_stripe.webhooks import NO_SECRET_WARNING
from stripe_testing import StripeData, StripeHost, panel_blocks, panel_table, ticket

from megadesk_core.errors import NotFoundError
from megadesk_core.panel import BadgesBlock, ChoiceBlock, KeyValueBlock, NoticeBlock, Panel

pytestmark = pytest.mark.vcr


def _values(panel: Panel) -> dict[str, Any]:
    return {item.label: item for item in panel_blocks(panel, KeyValueBlock)[0].items}


async def test_verified_customer(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    customer = await stripe_data.customer("vera.verified@example.com", "Vera Verified")
    price = await stripe_data.price("Pro plan", 2900)
    subscription = await stripe_data.subscription(customer.id, price.id)
    yen = await stripe_data.payment(customer.id, 5000, "jpy", description="Tokyo order")
    # The requester email is someone else's: Custom Data wins, and is trusted.
    the_ticket = ticket(requester_email="not.vera@example.com", custom_data={"customerId": customer.id})

    resolved = await stripe_host.resolve(the_ticket)
    assert resolved is not None
    assert (resolved.id, resolved.verified, resolved.matched_by) == (customer.id, True, "custom_data")

    panel = await stripe_host.panel(the_ticket)
    assert panel.verified is True
    assert panel.status == "ok"
    assert not [n for n in panel_blocks(panel, NoticeBlock) if n.tone == "warning"]
    assert panel_blocks(panel, BadgesBlock)[0].badges[0].label == "Test mode"
    values = _values(panel)
    assert values["Name"].value == "Vera Verified"
    assert values["Email"].value == "vera.verified@example.com"
    assert values["Stripe id"].href == f"https://dashboard.stripe.com/test/customers/{customer.id}"
    assert values["Delinquent"].value == "no"

    subscriptions = panel_table(panel, "Subscriptions")
    row = next(r for r in subscriptions.rows if r.id == subscription.id)
    assert row.cells["plan"].text == "Pro plan"
    assert row.cells["price"].text == "$29.00 / month"
    assert row.cells["status"].text == "active"
    end = subscription.items.data[0].current_period_end
    assert row.cells["period_end"].text == day(end)
    assert [b.label for b in row.actions] == ["Cancel at period end", "Cancel now"]

    payments = {r.id: r for r in panel_table(panel, "Recent payments").rows}
    assert payments[yen.id].cells["amount"].text == "¥5,000"
    assert payments[yen.id].cells["description"].text == "Tokyo order"
    assert [b.label for b in payments[yen.id].actions] == ["Refund ¥5,000", "Refund part…"]
    # The subscription's first invoice was paid by a payment intent of its own.
    assert any(r.cells["amount"].text == "$29.00" for r in payments.values())


async def test_email_match_is_unverified_and_case_insensitive(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    customer = await stripe_data.customer("casey.case@example.com", "Casey Case")
    the_ticket = ticket(requester_email="Casey.Case@Example.com")

    resolved = await stripe_host.resolve(the_ticket)
    assert resolved is not None
    assert (resolved.id, resolved.verified, resolved.matched_by) == (customer.id, False, "email")
    assert resolved.alternatives == []

    panel = await stripe_host.panel(the_ticket)
    assert panel.verified is False
    assert panel.verification_note == "Matched by the requester's email: the ticket names no Stripe customer."
    assert not panel_blocks(panel, NoticeBlock)  # the host's label is the only "not verified"
    assert not panel_blocks(panel, ChoiceBlock)


async def test_a_customer_stored_in_capitals_is_found_from_any_case(
    stripe_host: StripeHost, stripe_data: StripeData
) -> None:
    customer = await stripe_data.customer("PAT.DOE@EXAMPLE.COM", "Pat Doe")
    for sent in ("PAT.DOE@EXAMPLE.COM", "pat.doe@example.com", "Pat.Doe@Example.com"):
        resolved = await stripe_host.resolve(ticket(requester_email=sent))
        assert resolved is not None and resolved.id == customer.id, sent


async def test_several_matches_best_first_and_the_agents_switch(
    stripe_host: StripeHost, stripe_data: StripeData
) -> None:
    email = "shared.inbox@example.com"
    paid = await stripe_data.customer(email, "Sam Paid")
    await stripe_data.payment(paid.id, 1500)
    subscribed = await stripe_data.customer(email, "Sam Subscribed")
    price = await stripe_data.price("Team plan", 9900)
    await stripe_data.subscription(subscribed.id, price.id)
    idle = await stripe_data.customer(email, "Sam Idle")
    outsider = await stripe_data.customer("outsider@example.com", "Olive Outsider")

    panel = await stripe_host.panel(ticket(requester_email=email))
    assert _values(panel)["Name"].value == "Sam Subscribed"
    assert (panel.verification_note or "").startswith("3 Stripe customers share this email")
    choice = panel_blocks(panel, ChoiceBlock)[0]
    assert [(o.value, o.selected) for o in choice.options] == [
        (subscribed.id, True),
        (paid.id, False),
        (idle.id, False),
    ]

    switched = await stripe_host.resolve(ticket(requester_email=email, selection=paid.id))
    assert switched is not None
    assert (switched.id, switched.verified) == (paid.id, False)
    assert [c.id for c in switched.alternatives] == [subscribed.id, idle.id]

    # A selection that is not one of the matches is never looked up: the best match stays.
    panel = await stripe_host.panel(ticket(requester_email=email, selection=outsider.id))
    assert _values(panel)["Name"].value == "Sam Subscribed"
    assert any(n.title == "Selection ignored" for n in panel_blocks(panel, NoticeBlock))


async def test_no_match_is_an_empty_panel(stripe_host: StripeHost) -> None:
    the_ticket = ticket(requester_email="nobody.here@example.com")
    assert await stripe_host.resolve(the_ticket) is None
    panel = await stripe_host.panel(the_ticket)
    assert panel.status == "empty"
    assert panel_blocks(panel, NoticeBlock)[0].title == "No Stripe customer found"


async def test_unknown_customer_id_is_an_error(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    await stripe_data.customer("fallback.never@example.com", "Not A Fallback")
    the_ticket = ticket(requester_email="fallback.never@example.com", custom_data={"customerId": "cus_NoSuchCustomer0"})
    with pytest.raises(NotFoundError, match="cus_NoSuchCustomer0"):
        await stripe_host.resolve(the_ticket)


async def test_deleted_customer_id_is_an_error(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    customer = await stripe_data.customer("deleted.customer@example.com", "Gone Soon")
    await stripe_data.client.v1.customers.delete_async(customer.id)
    with pytest.raises(NotFoundError, match="was deleted"):
        await stripe_host.resolve(ticket(custom_data={"customerId": customer.id}))


async def test_payment_history_limit(stripe_host: StripeHost, stripe_data: StripeData) -> None:
    customer = await stripe_data.customer("limited.history@example.com", "Lim Ited")
    await stripe_data.payment(customer.id, 1000, description="first")
    await stripe_data.payment(customer.id, 2000, description="second")
    panel = await stripe_host.panel(ticket(custom_data={"customerId": customer.id}), limit=1)
    table = panel_table(panel, "Recent payments")
    assert table.title == "Recent payments (last 1)"
    # Both were created in the same second on Stripe, so either may be "the latest".
    assert [r.cells["description"].text for r in table.rows] in (["first"], ["second"])


async def test_check_settings_with_a_full_secret_key(stripe_host: StripeHost) -> None:
    check = await stripe_host.call(
        "check_settings",
        settings=StripeSettings.model_validate({"restricted_key": stripe_host.target.api_key}),
        options=StripeOptions(api_base=stripe_host.target.api_base, max_network_retries=0),
    )
    assert check.unavailable_features == []
    assert check.warnings == [FULL_KEY_WARNING, TEST_KEY_WARNING, NO_SECRET_WARNING]
