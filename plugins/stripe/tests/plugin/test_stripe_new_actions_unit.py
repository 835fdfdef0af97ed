"""Partial refund, the agents' refund cap and resume, against the in-memory gateway."""

from __future__ import annotations

from decimal import Decimal

import pytest
import stripe_dicts as d
from fake_gateway import FakeGateway
from megadesk_stripe.actions import RefundPaymentPayload, refund_payment
from megadesk_stripe.money import minor_units
from megadesk_stripe.partial_refund import PartialRefundPayload, partial_refund
from megadesk_stripe.refund_cap import RefundCapError, RefundCaps
from megadesk_stripe.refund_guard import request_tag
from megadesk_stripe.resume import ResumeSubscriptionPayload, resume_subscription
from pydantic import ValidationError

from megadesk_core.errors import ActionRefusedError, InvalidInputError
from megadesk_core.types import ActingPrincipal, ResolvedCustomer, TicketContext

CUSTOMER = ResolvedCustomer(id="cus_A", verified=True)
TICKET = TicketContext(ticket_id="T-1")
AGENT = ActingPrincipal(name="Ada", role="agent", token_id="tok_1")
ADMIN = ActingPrincipal(name="Boss", role="admin", token_id="tok_2")


def _gateway() -> FakeGateway:
    gateway = FakeGateway()
    gateway.add_payment(d.payment_intent("pi_ok"))  # $29.00
    gateway.add_payment(d.payment_intent("pi_part", amount_refunded=900))
    gateway.add_payment(d.payment_intent("pi_jpy", amount=5000, currency="jpy"))
    gateway.add_payment(d.payment_intent("pi_kwd", amount=1500, currency="kwd"))
    gateway.add_payment(d.payment_intent("pi_theirs", customer="cus_B"))
    gateway.add_subscription(d.subscription("sub_ending", cancel_at_period_end=True))
    gateway.add_subscription(d.subscription("sub_A"))
    gateway.add_subscription(d.subscription("sub_done", status="canceled"))
    gateway.add_subscription(d.subscription("sub_theirs", customer="cus_B", cancel_at_period_end=True))
    return gateway


async def _part(gateway: FakeGateway, target: str, amount: str, caps: RefundCaps | None = None, key: str = "k") -> str:
    payload = PartialRefundPayload(target=target, amount=amount, reason="duplicate", note="double charge")
    result = await partial_refund(gateway.typed, TICKET, CUSTOMER, payload, key, caps or RefundCaps())
    return result.message


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.50", "usd", 1250), ("12.5", "usd", 1250), ("5000", "jpy", 5000), ("1.500", "kwd", 1500), ("0.001", "kwd", 1)],
)
def test_amounts_in_the_currencys_own_decimals(amount: str, currency: str, minor: int) -> None:
    assert minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [("12.505", "usd"), ("50.5", "jpy"), ("1.0005", "kwd")])
def test_more_decimals_than_the_currency_has_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValueError, match=f"more decimals than {currency.upper()}"):
        minor_units(Decimal(amount), currency)


async def test_partial_refund_sends_the_amount_reason_and_a_derived_key() -> None:
    gateway = _gateway()
    assert await _part(gateway, "pi_ok", "12.50") == "Refunded $12.50 of pi_ok"
    assert gateway.writes == [("refund", "pi_ok", "k:partial_refund:pi_ok")]
    assert ("refund_payment_intent", ("pi_ok", 1250, "duplicate")) in gateway.calls
    assert await _part(gateway, "pi_jpy", "2000") == "Refunded ¥2,000 of pi_jpy"
    assert await _part(gateway, "pi_kwd", "0.250") == "Refunded KWD 0.250 of pi_kwd"


async def test_never_more_than_what_is_left() -> None:
    gateway = _gateway()
    with pytest.raises(ActionRefusedError, match=r"more than is left of payment pi_part \(\$20.00\)"):
        await _part(gateway, "pi_part", "20.01")
    assert gateway.writes == []
    assert await _part(gateway, "pi_part", "20.00") == "Refunded $20.00 of pi_part"


@pytest.mark.parametrize(("target", "amount"), [("pi_jpy", "10.5"), ("pi_ok", "0.00")])
async def test_bad_amounts_are_invalid_and_send_nothing(target: str, amount: str) -> None:
    gateway = _gateway()
    with pytest.raises(InvalidInputError):
        await _part(gateway, target, amount)
    assert gateway.writes == []


def test_the_payload_refuses_what_is_not_an_amount() -> None:
    for amount in ("-5", "1e3", "12,50", "", "1.2345"):
        with pytest.raises(ValidationError):
            PartialRefundPayload(target="pi_ok", amount=amount)


async def test_partial_refund_of_another_customers_payment_is_refused() -> None:
    gateway = _gateway()
    with pytest.raises(ActionRefusedError, match="does not belong"):
        await _part(gateway, "pi_theirs", "1.00")
    assert gateway.writes == []


async def test_a_retry_after_a_lost_answer_is_replayed_not_refunded_twice() -> None:
    gateway = _gateway()
    await _part(gateway, "pi_part", "20.00", key="same")
    # The payment is now fully refunded, by this very request: the retry reaches Stripe, which replays.
    assert gateway.payment_intents_by_id["pi_part"]["latest_charge"]["refunds"]["data"][-1]["metadata"] == {
        "megadesk_request": request_tag("same:partial_refund:pi_part")
    }
    assert await _part(gateway, "pi_part", "20.00", key="same") == "Refunded $20.00 of pi_part"
    assert gateway.payment_intents_by_id["pi_part"]["latest_charge"]["amount_refunded"] == 2900
    # Another request on the fully refunded payment is refused without a request.
    with pytest.raises(ActionRefusedError, match="already fully refunded"):
        await _part(gateway, "pi_part", "1.00", key="other")


async def test_an_agent_stays_within_the_cap_an_admin_may_go_above() -> None:
    caps = {"usd": 1000}
    gateway = _gateway()
    with pytest.raises(RefundCapError, match=r"above what an agent may refund .*\(\$10.00 in USD\), and Ada acts"):
        await _part(gateway, "pi_ok", "10.01", RefundCaps(caps, AGENT))
    with pytest.raises(RefundCapError):  # no principal: an agent
        await _part(gateway, "pi_ok", "10.01", RefundCaps(caps, None))
    assert gateway.writes == []
    assert await _part(gateway, "pi_ok", "10.00", RefundCaps(caps, AGENT), key="a") == "Refunded $10.00 of pi_ok"
    assert await _part(gateway, "pi_ok", "19.00", RefundCaps(caps, ADMIN), key="b") == "Refunded $19.00 of pi_ok"
    # Other currencies have no cap unless one is set.
    assert await _part(gateway, "pi_jpy", "5000", RefundCaps(caps, AGENT)) == "Refunded ¥5,000 of pi_jpy"


async def test_the_cap_holds_for_a_full_refund_too() -> None:
    gateway = _gateway()
    with pytest.raises(RefundCapError):
        await refund_payment(
            gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_ok"), "k", RefundCaps({"usd": 0}, AGENT)
        )
    assert gateway.writes == []


async def test_resume_a_subscription_set_to_cancel() -> None:
    gateway = _gateway()
    payload = ResumeSubscriptionPayload(target="sub_ending")
    result = await resume_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k")
    assert result.message.startswith("sub_ending will renew")
    assert gateway.writes == [("resume", "sub_ending", "k:resume:sub_ending")]
    assert gateway.subscriptions_by_id["sub_ending"]["cancel_at_period_end"] is False


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("sub_A", "not set to cancel at the end of its period"),
        ("sub_done", "a canceled subscription cannot be resumed"),
        ("sub_theirs", "does not belong"),
    ],
)
async def test_resume_refusals_change_nothing(target: str, fragment: str) -> None:
    gateway = _gateway()
    with pytest.raises(ActionRefusedError, match=fragment):
        await resume_subscription(gateway.typed, TICKET, CUSTOMER, ResumeSubscriptionPayload(target=target), "k")
    assert gateway.writes == []
