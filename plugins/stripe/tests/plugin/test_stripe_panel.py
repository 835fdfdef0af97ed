"""The panel built from Stripe-shaped dicts: verification, customer, subscriptions, payments."""

from __future__ import annotations

from typing import Any

import pytest
import stripe_dicts as d
from fake_gateway import FakeGateway
from megadesk_stripe.panel import empty_panel, load_panel
from megadesk_stripe.records import payment_record
from stripe_testing import panel_blocks, panel_table

from megadesk_core.errors import NotFoundError
from megadesk_core.panel import (
    ActionButton,
    BadgesBlock,
    ChoiceBlock,
    KeyValueBlock,
    NoticeBlock,
    Panel,
    TableBlock,
)
from megadesk_core.types import CustomerCandidate, ResolvedCustomer, SettingsCheck, UnavailableFeature

VERIFIED = ResolvedCustomer(id="cus_A", verified=True, label="Dana")
BY_EMAIL = ResolvedCustomer(
    id="cus_A",
    verified=False,
    matched_by="email",
    label="Dana Scully · dana@example.test · created 2024-01-02",
    alternatives=[CustomerCandidate(id="cus_B", label="Dana B · dana@example.test · created 2023-05-01")],
)


def _gateway(**customer: Any) -> FakeGateway:
    gateway = FakeGateway(products={"prod_A": "Pro plan"})
    gateway.add_customer(d.customer(**customer))
    return gateway


async def _panel(gateway: FakeGateway, resolved: ResolvedCustomer = VERIFIED, **kwargs: Any) -> Panel:
    options: dict[str, Any] = {"check": None, "test_mode": True, "payment_history_limit": 10, **kwargs}
    return await load_panel(gateway.reads(), resolved, **options)


def _buttons(table: TableBlock) -> list[ActionButton]:
    """The buttons that refund in full or cancel (every refundable payment also offers "Refund part…")."""
    return [button for row in table.rows for button in row.actions if button.action != "partial_refund"]


async def test_verified_panel_has_no_warning_and_shows_the_customer() -> None:
    panel = await _panel(_gateway(balance=-1500, delinquent=True))
    assert panel.verified is True
    assert panel.status == "ok"
    assert panel.title == "Stripe"
    assert not [n for n in panel_blocks(panel, NoticeBlock) if n.tone == "warning"]
    customer = panel_blocks(panel, KeyValueBlock)[0]
    values = {item.label: item for item in customer.items}
    assert values["Name"].value == "Dana Scully"
    assert values["Email"].value == "dana@example.test"
    assert values["Created"].value == "2024-01-02"
    assert values["Balance"].value == "$15.00 credit"
    assert values["Delinquent"].value == "yes"
    assert values["Delinquent"].badge is not None
    assert values["Stripe id"].href == "https://dashboard.stripe.com/test/customers/cus_A"
    assert panel_blocks(panel, BadgesBlock)[0].badges[0].label == "Test mode"


async def test_live_key_links_and_badges() -> None:
    panel = await _panel(_gateway(), test_mode=False)
    customer = panel_blocks(panel, KeyValueBlock)[0]
    assert {i.label: i for i in customer.items}["Stripe id"].href == "https://dashboard.stripe.com/customers/cus_A"
    assert not panel_blocks(panel, BadgesBlock)


async def test_balance_in_the_customers_currency() -> None:
    panel = await _panel(_gateway(balance=5000, currency="jpy"))
    assert {i.label: i.value for i in panel_blocks(panel, KeyValueBlock)[0].items}["Balance"] == "¥5,000 owed"
    panel = await _panel(_gateway(balance=0, currency=None, name=None, email=None))
    values = {i.label: i.value for i in panel_blocks(panel, KeyValueBlock)[0].items}
    assert (values["Balance"], values["Name"], values["Email"]) == ("none", "(no name)", "(no email)")


async def test_unverified_panel_gives_the_reason_and_offers_the_switch() -> None:
    panel = await _panel(_gateway(), BY_EMAIL)
    assert panel.verified is False
    # The host's label says "not verified"; the plugin only adds why, and no notice of its own.
    assert panel.verification_note is not None
    assert panel.verification_note.startswith("2 Stripe customers share this email")
    assert "live (active, trialing or past due) subscription first" in panel.verification_note
    assert not [n for n in panel_blocks(panel, NoticeBlock) if n.tone == "warning"]
    choice = panel_blocks(panel, ChoiceBlock)[0]
    assert [(o.value, o.selected) for o in choice.options] == [("cus_A", True), ("cus_B", False)]


async def test_selection_outside_the_matches_is_reported() -> None:
    panel = await _panel(_gateway(), BY_EMAIL, selection="cus_elsewhere")
    assert any(n.title == "Selection ignored" for n in panel_blocks(panel, NoticeBlock))
    panel = await _panel(_gateway(), BY_EMAIL, selection="cus_A")
    assert not any(n.title == "Selection ignored" for n in panel_blocks(panel, NoticeBlock))


async def test_subscriptions_table() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_active"))
    gateway.add_subscription(d.subscription("sub_ending", cancel_at_period_end=True))
    gateway.add_subscription(
        d.subscription(
            "sub_trial",
            status="trialing",
            trial_end=d.MAR_1_2024,
            item_price=d.price(
                "price_jpy", unit_amount=5000, currency="jpy", product="prod_unknown", nickname="Tokyo plan"
            ),
        )
    )
    gateway.add_subscription(d.subscription("sub_done", status="canceled"))
    gateway.add_subscription(d.subscription("sub_expired", status="incomplete_expired"))
    panel = await _panel(gateway)
    table = panel_table(panel, "Subscriptions")
    rows = {row.id: row for row in table.rows}
    active = rows["sub_active"]
    assert active.cells["plan"].text == "Pro plan"
    assert active.cells["price"].text == "$29.00 / month"
    assert active.cells["status"].badge is not None
    assert active.cells["status"].badge.tone == "success"
    assert active.cells["period_end"].text == "2024-03-01"
    assert [(b.label, b.prefill["at_period_end"]) for b in active.actions] == [
        ("Cancel at period end", True),
        ("Cancel now", False),
    ]
    assert rows["sub_ending"].cells["status"].hint == "cancels at period end"
    assert [b.label for b in rows["sub_ending"].actions] == ["Resume", "Cancel now"]
    trial = rows["sub_trial"]
    assert trial.cells["plan"].text == "Tokyo plan"
    assert trial.cells["price"].text == "¥5,000 / month"
    assert trial.cells["status"].hint == "trial ends 2024-03-01"
    assert rows["sub_done"].actions == []
    assert rows["sub_expired"].actions == []


async def test_payments_table_with_refund_state_and_currencies() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_ok"))
    gateway.add_payment(d.payment_intent("pi_jpy", amount=5000, currency="jpy", description=None))
    gateway.add_payment(d.payment_intent("pi_kwd", amount=1500, currency="kwd"))
    gateway.add_payment(d.payment_intent("pi_part", amount_refunded=900))
    gateway.add_payment(d.payment_intent("pi_full", amount_refunded=2900, refunded=True))
    gateway.add_payment(d.payment_intent("pi_failed", status="requires_payment_method"))
    panel = await _panel(gateway, payment_history_limit=25)
    table = panel_table(panel, "Recent payments")
    assert table.title == "Recent payments (last 25)"
    assert ("payment_intents", ("cus_A", 25)) in gateway.calls
    rows = {row.id: row for row in table.rows}
    assert rows["pi_ok"].cells["amount"].text == "$29.00"
    assert rows["pi_ok"].cells["amount"].href == "https://dashboard.stripe.com/test/payments/pi_ok"
    assert rows["pi_ok"].cells["status"].text == "succeeded"
    assert rows["pi_ok"].cells["date"].text == "2024-02-01"
    assert rows["pi_ok"].cells["description"].text == "Pro plan"
    assert rows["pi_jpy"].cells["amount"].text == "¥5,000"
    assert rows["pi_kwd"].cells["amount"].text == "KWD 1.500"
    assert rows["pi_part"].cells["status"].text == "partly refunded"
    assert rows["pi_part"].cells["status"].hint == "$9.00 of $29.00 refunded"
    assert rows["pi_full"].cells["status"].text == "refunded"
    refunds = {b.target: b.label for b in _buttons(table)}
    assert refunds == {
        "pi_ok": "Refund $29.00",
        "pi_jpy": "Refund ¥5,000",
        "pi_kwd": "Refund KWD 1.500",
        "pi_part": "Refund $20.00",
    }
    assert all(b.action == "refund_payment" for b in _buttons(table))


async def test_a_partly_captured_payment_offers_to_refund_what_was_captured() -> None:
    # 1000 authorised, 600 captured: Stripe refunds at most the 600, so the button says $6.00.
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_cap", amount=1000, amount_captured=600))
    gateway.add_payment(d.payment_intent("pi_cap_part", amount=1000, amount_captured=600, amount_refunded=200))
    gateway.add_payment(
        d.payment_intent("pi_cap_full", amount=1000, amount_captured=600, amount_refunded=600, refunded=True)
    )
    table = panel_table(await _panel(gateway), "Recent payments")
    rows = {row.id: row for row in table.rows}
    assert rows["pi_cap"].cells["amount"].text == "$10.00"
    assert rows["pi_cap"].cells["status"].text == "succeeded"
    assert rows["pi_cap"].cells["status"].hint == "$6.00 of $10.00 captured"
    assert rows["pi_cap_part"].cells["status"].text == "partly refunded"
    assert rows["pi_cap_part"].cells["status"].hint == "$6.00 of $10.00 captured; $2.00 of $6.00 refunded"
    assert rows["pi_cap_full"].cells["status"].text == "refunded"
    assert {b.target: b.label for b in _buttons(table)} == {"pi_cap": "Refund $6.00", "pi_cap_part": "Refund $4.00"}


@pytest.mark.parametrize(
    ("values", "refundable", "state"),
    [
        (d.payment_intent(amount=1000, amount_captured=600), 600, None),
        (d.payment_intent(amount=1000, amount_captured=600, amount_refunded=600), 0, "refunded"),
        # latest_charge not expanded: what was received is what can be refunded (refunds unknown)
        (d.payment_intent(amount=1000, amount_captured=600, with_charge=False), 600, None),
        (d.payment_intent(amount=1000, with_charge=False), 1000, None),
        (d.payment_intent(amount=1000, status="processing"), 0, None),
    ],
)
def test_refundable_amount_follows_the_captured_amount(
    values: dict[str, Any], refundable: int, state: str | None
) -> None:
    record = payment_record(d.to_payment_intent(values))
    assert record.refundable_amount == refundable
    assert record.can_refund == (refundable > 0)
    assert record.refund_state == state


async def test_unavailable_features_are_named_and_their_parts_left_out() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription())
    gateway.add_payment(d.payment_intent())
    check = SettingsCheck(
        unavailable_features=[
            UnavailableFeature(feature="refunds", reason="the key lacks Refunds: Write (rak_refund_write)"),
            UnavailableFeature(
                feature="subscriptions", reason="the key lacks Subscriptions: Read (rak_subscription_read)"
            ),
        ]
    )
    panel = await _panel(gateway, check=check)
    notice = next(n for n in panel_blocks(panel, NoticeBlock) if n.title.startswith("Some Stripe features"))
    assert notice.tone == "warning"
    assert notice.text is not None
    assert "Refunding a payment (refunds): the key lacks Refunds: Write (rak_refund_write)" in notice.text
    assert "Subscriptions (subscriptions)" in notice.text
    assert "Canceling a subscription (cancel)" in notice.text
    assert not any((t.title or "").startswith("Subscriptions") for t in panel_blocks(panel, TableBlock))
    assert "subscriptions" not in [name for name, _ in gateway.calls]
    assert _buttons(panel_table(panel, "Recent payments")) == []


async def test_a_permission_error_while_loading_hides_only_that_section() -> None:
    gateway = _gateway()
    gateway.denied = {"payment_intents", "product_names"}
    gateway.add_subscription(d.subscription())
    panel = await _panel(gateway)
    notice = next(n for n in panel_blocks(panel, NoticeBlock) if n.title.startswith("Some Stripe features"))
    assert notice.text is not None
    assert "Payment history (payments)" in notice.text
    assert "Product names on subscriptions (product_names)" in notice.text
    assert not any((t.title or "").startswith("Recent payments") for t in panel_blocks(panel, TableBlock))
    assert panel_table(panel, "Subscriptions").rows[0].cells["plan"].text == "price_A"


async def test_customer_deleted_since_resolution() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.deleted_customer("cus_A"))
    with pytest.raises(NotFoundError):
        await _panel(gateway)


def test_empty_panel() -> None:
    panel = empty_panel(has_email=True)
    assert panel.status == "empty"
    assert panel.verified is None
    assert isinstance(panel.blocks[0], NoticeBlock)
    assert panel.blocks[0].title == "No Stripe customer found"
    assert "no requester email" in (empty_panel(has_email=False).blocks[0].text or "")  # type: ignore[union-attr]


async def test_payment_history_shows_more_on_request() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer())
    for n in range(5):
        gateway.add_payment(d.payment_intent(f"pi_{n}", created=d.FEB_1_2024 - n))
    first = panel_table(await _panel(gateway, payment_history_limit=2), "Recent payments")
    assert [r.id for r in first.rows] == ["pi_0", "pi_1"]
    assert first.next_page is not None and first.next_page.cursor == "payments:pi_1"
    second = panel_table(await _panel(gateway, payment_history_limit=2, page="payments:pi_1"), "Recent payments")
    assert second.title == first.title  # the renderer appends the rows of the table of the same title
    assert [r.id for r in second.rows] == ["pi_2", "pi_3"]
    last = panel_table(await _panel(gateway, payment_history_limit=2, page="payments:pi_3"), "Recent payments")
    assert [r.id for r in last.rows] == ["pi_4"]
    assert last.next_page is None
    # A cursor this plugin did not draw (it comes from the browser) shows the newest payments.
    for bad in ("payments:cus_x", "subscriptions:pi_1", "payments:pi_1?expand=x"):
        table = panel_table(await _panel(gateway, payment_history_limit=2, page=bad), "Recent payments")
        assert [r.id for r in table.rows] == ["pi_0", "pi_1"]
