"""An agent opens tickets: verified, unverified, several matches, no match, unknown customer."""

from __future__ import annotations

from megadesk_stripe.blocks import ENDED_SHOWN
from stripe_panels import blocks, buttons, notices, status_of, table, values


async def test_verified_ticket_shows_customer_subscriptions_and_payments(acme, world):
    panel = await acme.panel("T-1001", "stripe")
    assert panel["status"] == "ok"
    assert panel["verified"] is True
    assert panel["verification_note"] is None
    customer = values(panel)
    assert customer["Name"] == "Ada Lovelace"
    assert customer["Email"] == "ada@example.com"
    assert customer["Delinquent"] == "no"
    assert customer["Balance"] == "$0.00"
    link = next(i for b in blocks(panel, "key_value") for i in b["items"] if i["label"] == "Stripe id")
    assert link["href"] == f"https://dashboard.stripe.com/test/customers/{world.ada.id}"
    assert {"label": "Test mode", "tone": "info"} in blocks(panel, "badges")[0]["badges"]

    payments = world.ada_payments
    assert status_of(panel, "Recent payments", payments.succeeded) == "succeeded"
    assert status_of(panel, "Recent payments", payments.failed) == "requires payment method"
    assert status_of(panel, "Recent payments", payments.refunded) == "refunded"
    assert status_of(panel, "Recent payments", payments.partially_refunded) == "partly refunded"
    # Refund only where it applies: succeeded and not fully refunded.
    assert buttons(panel, "Recent payments", payments.succeeded) == ["refund_payment", "partial_refund"]
    assert buttons(panel, "Recent payments", payments.partially_refunded) == ["refund_payment", "partial_refund"]
    assert buttons(panel, "Recent payments", payments.failed) == []
    assert buttons(panel, "Recent payments", payments.refunded) == []

    subscriptions = table(panel, "Subscriptions")
    (sub,) = subscriptions["rows"]
    assert sub["id"] == world.ada_subscription_id
    assert sub["cells"]["status"]["text"] == "active"
    assert "$29.00 / month" in str(sub["cells"])
    assert buttons(panel, "Subscriptions", world.ada_subscription_id) == ["cancel_subscription", "cancel_subscription"]


async def test_zero_decimal_currency_is_formatted_in_yen(acme, world):
    panel = await acme.panel("T-1005", "stripe")
    assert "¥5,000 / month" in str(table(panel, "Subscriptions"))
    assert "¥5,000" in str(table(panel, "Recent payments"))
    assert "¥50.00" not in str(panel)


async def test_unverified_email_match_is_labelled_not_verified(acme, world):
    panel = await acme.panel("T-1002", "stripe")  # ticket email Grace@Example.com, stored lower-case
    assert panel["verified"] is False
    assert panel["verification_note"] == "Matched by the requester's email: the ticket names no Stripe customer."
    assert "Not verified" not in notices(panel)  # the host's label only, not a second notice
    assert values(panel)["Email"] == world.grace.email


async def test_several_matches_pick_one_say_how_many_and_let_the_agent_switch(acme, world):
    older, newer = world.shared_customers[1], world.shared_customers[0]
    panel = await acme.panel("T-1003", "stripe")
    assert panel["verified"] is False
    assert values(panel)["Name"] == older.name  # the one with a live subscription
    assert panel["verification_note"].startswith("2 Stripe customers share this email")
    (choice,) = blocks(panel, "choice")
    assert [(o["value"], o["selected"]) for o in choice["options"]] == [(older.id, True), (newer.id, False)]

    switched = await acme.panel("T-1003", "stripe", select=newer.id)
    assert values(switched)["Name"] == newer.name
    # A selection that is not one of the matches never shows another customer.
    foreign = await acme.panel("T-1003", "stripe", select=world.ada.id)
    assert values(foreign)["Name"] == older.name
    assert "Selection ignored" in notices(foreign)


async def test_no_match_is_an_empty_panel_not_an_error(acme):
    panel = await acme.panel("T-1004", "stripe")
    assert panel["status"] == "empty"
    assert panel["error"] is None
    assert notices(panel) == ["No Stripe customer found"]


async def test_a_deleted_or_unknown_customer_id_is_an_error_not_an_email_fallback(acme, world):
    deleted = await acme.panel("T-1008", "stripe")
    assert deleted["status"] == "error"
    assert deleted["error"]["code"] == "not_found"
    assert "deleted" in deleted["error"]["message"]
    await acme.upsert_ticket(
        "T-2000", email=world.ada.email, custom_data={"integrations": {"stripe": {"customerId": "cus_doesnotexist"}}}
    )
    unknown = await acme.panel("T-2000", "stripe")
    assert unknown["status"] == "error"
    assert "cus_doesnotexist" in unknown["error"]["message"]
    assert unknown["blocks"] == []  # not Ada's data found by email


async def test_other_tenants_see_none_of_it(acme, megadesk_tenant):
    other = await megadesk_tenant("other")
    response = await other.client.get("/api/v1/tickets/T-1001/panels/stripe", headers=other.agent_headers)
    assert response.status_code == 404
    settings = await other.client.get("/api/v1/integrations/stripe/settings", headers=other.admin_headers)
    assert settings.json()["configured"] is False


async def test_the_key_is_never_shown(acme, emulator):
    settings = (await acme.client.get("/api/v1/integrations/stripe/settings", headers=acme.admin_headers)).json()
    assert settings["secrets"] == {"restricted_key": True, "webhook_signing_secret": False}
    assert "rk_test" not in str(settings)
    audit = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).text
    sidebar = str(await acme.sidebar("T-1001"))
    assert "rk_test" not in audit
    assert "rk_test" not in sidebar


async def test_a_customer_stored_in_capitals_is_found_by_a_lower_case_ticket(acme, world):
    panel = await acme.panel("T-1013", "stripe")
    assert panel["verified"] is False
    assert values(panel)["Email"] == "SAM.SEATS@EXAMPLE.COM"
    assert buttons(panel, "Recent payments", world.seats_payment_id) == ["refund_payment", "partial_refund"]


async def test_a_live_subscription_shows_behind_ended_ones(acme, world):
    panel = await acme.panel("T-1014", "stripe")
    rows = table(panel, "Subscriptions")["rows"]
    assert world.plans_live_subscription_id in [r["id"] for r in rows]
    assert status_of(panel, "Subscriptions", world.plans_live_subscription_id) == "active"
    assert len(rows) == 1 + ENDED_SHOWN


async def test_payment_history_shows_more_through_the_api(acme):
    await acme.configure("stripe", {"payment_history_limit": 2})
    first = table(await acme.panel("T-1001", "stripe"), "Recent payments")
    cursor = first["next_page"]["cursor"]
    assert first["next_page"]["label"] == "Show 2 older"
    response = await acme.client.get(
        "/api/v1/tickets/T-1001/panels/stripe", params={"page": cursor}, headers=acme.agent_headers
    )
    assert response.status_code == 200, response.text
    second = table(response.json(), "Recent payments")
    assert second["title"] == first["title"]
    assert len(second["rows"]) == 2
    assert not {r["id"] for r in second["rows"]} & {r["id"] for r in first["rows"]}
    # The first page is still what the panel shows without a cursor (the cache keys the page).
    assert table(await acme.panel("T-1001", "stripe"), "Recent payments")["rows"] == first["rows"]


async def test_the_demo_ticket_with_more_payments_than_one_page(acme):
    # T-1015: twelve payments, ten listed (the default limit), and the rest one "show more" away.
    first = table(await acme.panel("T-1015", "stripe"), "Recent payments")
    assert len(first["rows"]) == 10 and first["next_page"] is not None
    response = await acme.client.get(
        "/api/v1/tickets/T-1015/panels/stripe",
        params={"page": first["next_page"]["cursor"]},
        headers=acme.agent_headers,
    )
    rest = table(response.json(), "Recent payments")
    assert len(rest["rows"]) == 2 and rest.get("next_page") is None
    assert not {r["id"] for r in rest["rows"]} & {r["id"] for r in first["rows"]}
