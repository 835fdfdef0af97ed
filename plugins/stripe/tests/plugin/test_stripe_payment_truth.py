"""What the panel says about a payment must be true: disputes, refund states, receipts, decline
reasons, and parts that could not be loaded (issue #13). Built from Stripe-shaped dicts."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
import stripe_dicts as d
from fake_gateway import FakeGateway
from megadesk_stripe.declines import GENERIC, decline_reason
from megadesk_stripe.disputes import DisputeRecord
from megadesk_stripe.panel import load_panel
from megadesk_stripe.records import DeclineRecord
from stripe_testing import panel_blocks, panel_row, panel_table

from megadesk_core.errors import NotFoundError, UpstreamUnavailableError
from megadesk_core.panel import LinksBlock, NoticeBlock, Panel
from megadesk_core.types import ResolvedCustomer, SettingsCheck, UnavailableFeature

VERIFIED = ResolvedCustomer(id="cus_A", verified=True, label="Dana")
MAR_8_2024 = 1709856000


def _gateway() -> FakeGateway:
    gateway = FakeGateway(products={"prod_A": "Pro plan"})
    gateway.add_customer(d.customer())
    return gateway


async def _panel(gateway: FakeGateway, **kwargs: Any) -> Panel:
    options: dict[str, Any] = {"check": None, "test_mode": True, "payment_history_limit": 10, **kwargs}
    return await load_panel(gateway.reads(), VERIFIED, **options)


def _disputed(gateway: FakeGateway, pi: str, status: str = "needs_response") -> None:
    values = d.payment_intent(pi)
    values["latest_charge"]["disputed"] = True
    gateway.add_payment(values)
    gateway.disputes_by_payment[pi] = [
        DisputeRecord(
            id="dp_" + pi[3:],
            amount=2900,
            currency="usd",
            status=status,
            reason="fraudulent",
            evidence_due_by=MAR_8_2024,
            payment_intent_id=pi,
        )
    ]


# Disputes


async def test_an_open_dispute_is_a_warning_at_the_top_and_the_payment_offers_no_refund() -> None:
    gateway = _gateway()
    _disputed(gateway, "pi_disputed")
    gateway.add_payment(d.payment_intent("pi_ok"))
    panel = await _panel(gateway)
    warning = panel.blocks[0]
    assert isinstance(warning, NoticeBlock)
    assert warning.tone == "danger"
    assert warning.title == "Open dispute"
    assert "$29.00 on 2024-02-01 (pi_disputed): Disputed $29.00 (fraudulent): needs a response" in (warning.text or "")
    assert "evidence due 2024-03-08" in (warning.text or "")
    assert "cannot be refunded" in (warning.text or "")
    links = panel_blocks(panel, LinksBlock)[0].links
    assert [link.href for link in links] == ["https://dashboard.stripe.com/test/disputes/dp_disputed"]
    row = panel_row(panel, "Recent payments", "pi_disputed")
    status = row.cells["status"]
    assert status.text == "disputed"
    assert status.badge is not None and status.badge.tone == "danger"
    assert row.cells["details"].href == "https://dashboard.stripe.com/test/disputes/dp_disputed"
    assert row.cells["details"].text == "Disputed $29.00 (fraudulent): needs a response; evidence due 2024-03-08"
    assert row.actions == []
    assert panel_row(panel, "Recent payments", "pi_ok").actions  # the others keep their button


@pytest.mark.parametrize("status", ["warning_needs_response", "warning_under_review", "under_review"])
async def test_inquiries_and_reviews_are_open_disputes(status: str) -> None:
    gateway = _gateway()
    _disputed(gateway, "pi_disputed", status)
    panel = await _panel(gateway)
    assert isinstance(panel.blocks[0], NoticeBlock)
    assert panel.blocks[0].title == "Open dispute"


async def test_a_decided_dispute_is_shown_on_its_payment_without_a_warning() -> None:
    gateway = _gateway()
    _disputed(gateway, "pi_disputed", "lost")
    panel = await _panel(gateway)
    assert not [n for n in panel_blocks(panel, NoticeBlock) if n.tone == "danger"]
    row = panel_row(panel, "Recent payments", "pi_disputed")
    assert row.cells["status"].text == "dispute lost"
    assert row.cells["details"].text == "Disputed $29.00 (fraudulent): lost"
    assert row.actions == []


async def test_disputes_are_read_only_for_disputed_payments() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_ok"))
    await _panel(gateway)
    assert "disputes_for_payment" not in [name for name, _ in gateway.calls]
    _disputed(gateway, "pi_disputed")
    await _panel(gateway)
    assert [args for name, args in gateway.calls if name == "disputes_for_payment"] == [("pi_disputed",)]


async def test_a_dispute_the_key_cannot_read_still_warns_and_blocks_the_refund() -> None:
    gateway = _gateway()
    _disputed(gateway, "pi_disputed")
    gateway.denied.add("disputes_for_payment")
    panel = await _panel(gateway)
    warning, permissions = panel.blocks[0], panel.blocks[1]
    assert isinstance(warning, NoticeBlock) and warning.tone == "danger"
    assert "is disputed; its details could not be read" in (warning.text or "")
    assert isinstance(permissions, NoticeBlock) and permissions.tone == "warning"
    assert "Dispute details on payments (disputes)" in (permissions.text or "")
    row = panel_row(panel, "Recent payments", "pi_disputed")
    assert row.cells["status"].text == "disputed"
    assert row.actions == []


async def test_a_key_known_to_lack_disputes_read_asks_nothing_of_stripe() -> None:
    gateway = _gateway()
    _disputed(gateway, "pi_disputed")
    check = SettingsCheck(unavailable_features=[UnavailableFeature(feature="disputes", reason="the key lacks it")])
    panel = await _panel(gateway, check=check)
    assert "disputes_for_payment" not in [name for name, _ in gateway.calls]
    assert panel_row(panel, "Recent payments", "pi_disputed").actions == []


# Refund states


async def test_a_pending_refund_is_not_money_back_yet() -> None:
    gateway = _gateway()
    pending = d.refund("re_p", amount=2900, status="pending")
    gateway.add_payment(d.payment_intent("pi_pending", amount_refunded=2900, refunded=True, refunds=[pending]))
    panel = await _panel(gateway)
    row = panel_row(panel, "Recent payments", "pi_pending")
    assert row.cells["status"].text == "refund pending"
    assert row.cells["status"].hint is None
    assert row.cells["details"].text == "refund of $29.00 pending: not back with the customer yet"
    assert row.actions == []  # Stripe counts it: nothing left to refund


async def test_part_refunded_and_part_pending() -> None:
    gateway = _gateway()
    refunds = [d.refund("re_1", amount=900), d.refund("re_2", amount=1000, status="pending")]
    gateway.add_payment(d.payment_intent("pi_mixed", amount_refunded=1900, refunds=refunds))
    row = panel_row(await _panel(gateway), "Recent payments", "pi_mixed")
    assert row.cells["status"].text == "refund pending"
    assert row.cells["status"].hint == "$9.00 of $29.00 refunded"
    assert row.cells["details"].text == "refund of $10.00 pending: not back with the customer yet"
    assert [b.label for b in row.actions] == ["Refund $10.00", "Refund part…"]


async def test_a_failed_refund_is_shown_and_offered_again() -> None:
    gateway = _gateway()
    failed = d.refund("re_f", amount=2900, status="failed", failure_reason="expired_or_canceled_card")
    gateway.add_payment(d.payment_intent("pi_failed", refunds=[failed]))
    row = panel_row(await _panel(gateway), "Recent payments", "pi_failed")
    assert row.cells["status"].text == "refund failed"
    assert row.cells["status"].badge is not None and row.cells["status"].badge.tone == "danger"
    assert row.cells["details"].text == "refund of $29.00 failed (expired or canceled card): no money went back"
    assert [b.label for b in row.actions] == ["Refund again $29.00", "Refund part…"]


async def test_a_canceled_refund_is_named() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_c", refunds=[d.refund("re_c", amount=500, status="canceled")]))
    row = panel_row(await _panel(gateway), "Recent payments", "pi_c")
    assert row.cells["status"].text == "succeeded"
    assert row.cells["details"].text == "refund of $5.00 canceled: no money went back"


async def test_a_key_that_cannot_read_refunds_still_shows_the_payments() -> None:
    gateway = _gateway()
    pending = d.refund("re_p", amount=2900, status="pending")
    gateway.add_payment(d.payment_intent("pi_p", amount_refunded=2900, refunded=True, refunds=[pending]))
    gateway.denied.add("refunds")  # and no settings check said so
    row = panel_row(await _panel(gateway), "Recent payments", "pi_p")
    assert row.cells["status"].text == "refunded"  # the charge's totals: all it can tell
    assert [name for name, _ in gateway.calls].count("payment_intents") == 2


async def test_a_key_known_to_lack_refunds_read_does_not_ask_for_them() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_ok"))
    gateway.denied.add("refunds")
    check = SettingsCheck(unavailable_features=[UnavailableFeature(feature="refund_details", reason="no")])
    await _panel(gateway, check=check)
    assert [name for name, _ in gateway.calls].count("payment_intents") == 1


# Receipts and invoices


async def test_each_payment_links_its_receipt() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_jpy", amount=5000, currency="jpy"))
    table = panel_table(await _panel(gateway), "Recent payments")
    assert "receipt" in [c.key for c in table.columns]
    assert table.rows[0].cells["receipt"].href == "https://pay.stripe.com/receipts/payment/ch_jpy"


async def test_no_receipt_column_when_no_payment_has_one() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_open", status="requires_payment_method"))
    table = panel_table(await _panel(gateway), "Recent payments")
    assert "receipt" not in [c.key for c in table.columns]


async def test_latest_invoice_links_when_the_subscriptions_came_with_them() -> None:
    gateway = _gateway()
    values = d.subscription("sub_A")
    values["latest_invoice"] = {
        "id": "in_A",
        "object": "invoice",
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_A",
        "invoice_pdf": "https://pay.stripe.com/invoice/acct_1/test_A/pdf",
    }
    gateway.add_subscription(values)
    table = panel_table(await _panel(gateway), "Subscriptions")
    assert [c.key for c in table.columns][-2:] == ["invoice", "invoice_pdf"]
    assert table.rows[0].cells["invoice"].href == "https://invoice.stripe.com/i/acct_1/test_A"
    assert table.rows[0].cells["invoice_pdf"].href == "https://pay.stripe.com/invoice/acct_1/test_A/pdf"


async def test_a_key_that_cannot_read_invoices_still_shows_the_subscriptions() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_A"))
    gateway.denied.add("invoices")  # and no settings check said so
    table = panel_table(await _panel(gateway), "Subscriptions")
    assert [r.id for r in table.rows] == ["sub_A"]
    assert "invoice" not in [c.key for c in table.columns]
    assert [name for name, _ in gateway.calls].count("subscriptions") == 2  # asked again without them


async def test_a_key_known_to_lack_invoices_read_does_not_ask_for_them() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_A"))
    gateway.denied.add("invoices")
    check = SettingsCheck(unavailable_features=[UnavailableFeature(feature="invoice_links", reason="no")])
    await _panel(gateway, check=check)
    assert [name for name, _ in gateway.calls].count("subscriptions") == 1


# Decline reasons


async def test_a_declined_payment_says_why_in_words_for_the_customer() -> None:
    gateway = _gateway()
    decline = ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    gateway.add_payment(d.payment_intent("pi_declined", decline=decline))
    row = panel_row(await _panel(gateway), "Recent payments", "pi_declined")
    assert row.cells["status"].text == "requires payment method"
    assert row.cells["details"].text == (
        "Declined: The card has insufficient funds; the customer can pay with another card or try again once "
        "funds are available. (Stripe: insufficient_funds)"
    )
    assert row.actions == []


def test_the_charge_says_why_when_the_intent_does_not() -> None:
    from megadesk_stripe.records import payment_record

    values = d.payment_intent("pi_x", decline=("expired_card", "expired_card", "Your card has expired."))
    values["last_payment_error"] = None
    payment = payment_record(values)
    assert payment.decline == DeclineRecord(
        code="expired_card", decline_code="expired_card", message="Your card has expired."
    )
    assert payment.has_failed_attempt


@pytest.mark.parametrize(
    ("decline", "text"),
    [
        (
            DeclineRecord("card_declined", "lost_card", "Your card was declined."),
            f"Declined: {GENERIC} (Stripe: lost_card; do not tell the customer this reason)",
        ),
        (
            DeclineRecord("card_declined", "generic_decline", "Your card was declined."),
            f"Declined: {GENERIC} (Stripe: generic_decline)",
        ),
        (
            DeclineRecord("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
            "Declined: The card's security code (CVC) was wrong; the customer should enter it again. "
            "(Stripe: incorrect_cvc)",
        ),
        (
            DeclineRecord("card_declined", "new_code_2030", "The bank said no for a new reason"),
            "Declined: The bank said no for a new reason. (Stripe: new_code_2030)",
        ),
    ],
)
def test_decline_sentences(decline: DeclineRecord, text: str) -> None:
    assert decline_reason(decline).text == text


# Subscriptions


async def test_a_canceled_subscription_no_longer_says_it_cancels_at_period_end() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_done", status="canceled", cancel_at_period_end=True))
    row = panel_row(await _panel(gateway), "Subscriptions", "sub_done")
    assert row.cells["status"].text == "canceled"
    assert row.cells["status"].hint is None
    assert row.cells["period_end"].hint is None


# Partial failure


@pytest.mark.parametrize(
    "error",
    [NotFoundError("Stripe has no such object: x"), UpstreamUnavailableError("Could not reach Stripe.")],
)
async def test_payments_that_cannot_be_loaded_show_as_unavailable_in_place(error: Exception) -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_A"))
    gateway.failing["payment_intents"] = error  # type: ignore[assignment]
    panel = await _panel(gateway)
    assert panel.status == "ok"
    assert panel_table(panel, "Subscriptions").rows
    notice = next(n for n in panel_blocks(panel, NoticeBlock) if n.title == "Payment history unavailable")
    assert "Stripe could not give the payment history" in (notice.text or "")
    assert panel.blocks[-1] == notice  # where the payments would be


async def test_subscriptions_that_cannot_be_loaded_show_as_unavailable_in_place() -> None:
    gateway = _gateway()
    gateway.add_payment(d.payment_intent("pi_ok"))
    gateway.failing["subscriptions"] = UpstreamUnavailableError("Stripe returned an error (500).")
    panel = await _panel(gateway)
    titles = [getattr(b, "title", None) for b in panel.blocks]
    assert titles.index("Subscriptions unavailable") < titles.index("Recent payments (last 10)")


async def test_product_names_that_cannot_be_loaded_leave_the_subscriptions() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_A", item_price=d.price(nickname="Pro monthly")))
    gateway.failing["product_names"] = NotFoundError("Stripe has no such object: prod_A")
    panel = await _panel(gateway)
    assert panel_row(panel, "Subscriptions", "sub_A").cells["plan"].text == "Pro monthly"
    assert any(n.title == "Product names unavailable" for n in panel_blocks(panel, NoticeBlock))


async def test_one_unreadable_subscription_leaves_the_others() -> None:
    gateway = _gateway()
    gateway.add_subscription(d.subscription("sub_A"))
    broken = d.subscription("sub_broken")
    del broken["items"]["data"][0]["price"]
    gateway.add_subscription(broken)
    table = panel_table(await _panel(gateway), "Subscriptions")
    rows = {row.id: row for row in table.rows}
    assert rows["sub_A"].cells["plan"].text == "Pro plan"
    assert rows["sub_broken"].cells["status"].text == "unavailable"
    assert rows["sub_broken"].actions == []


async def test_a_rejected_key_still_fails_the_panel() -> None:
    from megadesk_core.errors import AuthenticationFailedError

    gateway = _gateway()
    gateway.failing["payment_intents"] = AuthenticationFailedError("Stripe rejected the API key.")
    with pytest.raises(AuthenticationFailedError):
        await _panel(gateway)


def test_refund_and_dispute_fields_are_stripes() -> None:
    from megadesk_stripe.records import _OutcomeFields, _PaymentErrorFields, _RefundFields

    def declared(cls: type[stripe.StripeObject]) -> set[str]:
        return {name for c in cls.__mro__ for name in getattr(c, "__annotations__", {})}

    assert set(_RefundFields.model_fields) <= declared(stripe.Refund)
    assert set(_OutcomeFields.model_fields) <= declared(stripe.Charge.Outcome)
    assert set(_PaymentErrorFields.model_fields) <= declared(stripe.PaymentIntent.LastPaymentError)
