"""The demo's billing tickets through the host's API: disputes, refund states, receipts and
decline reasons (issue #13), against the seeded emulator."""

from __future__ import annotations

from stripe_panels import blocks, buttons, row, status_of, table


async def test_a_disputed_payment_warns_links_the_dispute_and_offers_no_refund(acme, world):
    panel = await acme.panel("T-1009", "stripe")
    first = panel["blocks"][0]
    assert first["type"] == "notice" and first["tone"] == "danger"
    assert first["title"] == "Open dispute"
    assert "Disputed $199.00 (fraudulent): needs a response; evidence due" in first["text"]
    dispute_link = f"https://dashboard.stripe.com/test/disputes/{world.dispute_id}"
    assert dispute_link in [link["href"] for b in blocks(panel, "links") for link in b["links"]]
    assert status_of(panel, "Recent payments", world.disputed_payment_id) == "disputed"
    assert row(panel, "Recent payments", world.disputed_payment_id)["cells"]["details"]["href"] == dispute_link
    assert buttons(panel, "Recent payments", world.disputed_payment_id) == []
    (other,) = [pi for pi in world.disputed_customer.payment_intent_ids if pi != world.disputed_payment_id]
    assert buttons(panel, "Recent payments", other) == ["refund_payment", "partial_refund"]


async def test_refunding_a_disputed_payment_is_refused_without_a_refund(acme, world, emulator):
    before = len(emulator.store.all("refund"))
    response = await acme.run_action("T-1009", "stripe", "refund_payment", {"target": world.disputed_payment_id})
    assert response.status_code == 409, response.text
    assert "is disputed" in response.json()["detail"]
    assert len(emulator.store.all("refund")) == before


async def test_a_pending_refund_is_not_shown_as_money_back(acme, world):
    panel = await acme.panel("T-1010", "stripe")
    cells = row(panel, "Recent payments", world.pending_refund_payment_id)["cells"]
    assert cells["status"]["text"] == "refund pending"
    assert cells["details"]["text"] == "refund of $45.00 pending: not back with the customer yet"
    assert buttons(panel, "Recent payments", world.pending_refund_payment_id) == []


async def test_a_failed_refund_is_named_and_offered_again(acme, world):
    panel = await acme.panel("T-1011", "stripe")
    cells = row(panel, "Recent payments", world.failed_refund_payment_id)["cells"]
    assert cells["status"]["text"] == "refund failed"
    assert cells["details"]["text"].startswith("refund of $60.00 failed (expired or canceled card)")
    assert buttons(panel, "Recent payments", world.failed_refund_payment_id) == ["refund_payment", "partial_refund"]


async def test_a_declined_card_says_why(acme, world):
    panel = await acme.panel("T-1012", "stripe")
    cells = row(panel, "Recent payments", world.declined_payment_id)["cells"]
    assert cells["status"]["text"] == "requires payment method"
    assert cells["details"]["text"].startswith("Declined: The card has insufficient funds")


async def test_the_yen_payment_links_its_receipt_and_the_subscription_its_invoice(acme, world):
    panel = await acme.panel("T-1005", "stripe")
    payments = table(panel, "Recent payments")
    assert payments["rows"]
    assert all(r["cells"]["receipt"]["href"].startswith("https://pay.stripe.com/receipts/") for r in payments["rows"])
    (sub,) = table(panel, "Subscriptions")["rows"]
    assert sub["cells"]["invoice"]["href"].startswith("https://invoice.stripe.com/")
    assert sub["cells"]["invoice_pdf"]["href"].endswith("/pdf")


async def test_a_cold_panel_without_disputes_is_four_requests(acme, emulator):
    emulator.store.requests.reset()
    await acme.panel("T-1005", "stripe")
    assert emulator.store.requests.total <= 4
