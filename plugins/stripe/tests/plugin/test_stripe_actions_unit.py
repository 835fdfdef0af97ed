"""The actions' checks and idempotency keys, against the in-memory gateway."""

from __future__ import annotations

import pytest
import stripe
import stripe_dicts as d
from fake_gateway import FakeGateway
from megadesk_stripe.actions import (
    CancelSubscriptionPayload,
    RefundPaymentPayload,
    cancel_subscription,
    refund_payment,
)
from megadesk_stripe.errors import AlreadyRefundedError
from megadesk_stripe.refund_guard import request_tag

from megadesk_core.errors import (
    ActionRefusedError,
    IntegrationError,
    MissingPermissionError,
    UpstreamUnavailableError,
)
from megadesk_core.types import ResolvedCustomer, TicketContext

CUSTOMER = ResolvedCustomer(id="cus_A", verified=True)
TICKET = TicketContext(ticket_id="T-1")


def _gateway() -> FakeGateway:
    gateway = FakeGateway()
    gateway.add_payment(d.payment_intent("pi_ok"))
    gateway.add_payment(d.payment_intent("pi_part", amount_refunded=900))
    gateway.add_payment(d.payment_intent("pi_full", amount_refunded=2900, refunded=True))
    gateway.add_payment(d.payment_intent("pi_pending", status="processing"))
    gateway.add_payment(d.payment_intent("pi_theirs", customer="cus_B"))
    gateway.add_subscription(d.subscription("sub_A", latest_invoice="in_A"))
    gateway.add_subscription(d.subscription("sub_ending", cancel_at_period_end=True))
    gateway.add_subscription(d.subscription("sub_done", status="canceled"))
    gateway.add_subscription(d.subscription("sub_theirs", customer="cus_B"))
    gateway.invoice_payments["in_A"] = ["pi_ok"]
    return gateway


async def test_refund_refunds_the_rest_with_a_derived_idempotency_key() -> None:
    gateway = _gateway()
    result = await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_part"), "idem-1")
    assert result.message == "Refunded $20.00 on pi_part"
    assert result.target == "pi_part"
    assert result.reference == "re_1"
    assert gateway.writes == [("refund", "pi_part", "idem-1:refund:pi_part")]


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("pi_theirs", "does not belong to the Stripe customer shown on this ticket"),
        ("pi_pending", "is processing, not succeeded"),
    ],
)
async def test_refund_refusals_change_nothing(target: str, fragment: str) -> None:
    gateway = _gateway()
    with pytest.raises(ActionRefusedError) as caught:
        await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target=target), "idem-1")
    assert fragment in caught.value.message
    assert gateway.writes == []


async def test_a_fully_refunded_payment_is_refused_here_when_no_refund_is_this_requests() -> None:
    # None of the payment's refunds carries this request's tag: no earlier attempt of this
    # request made it, so Stripe would only refuse. Refused here, with Stripe's words.
    gateway = _gateway()
    with pytest.raises(AlreadyRefundedError) as caught:
        await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_full"), "idem-1")
    assert caught.value.message == "Payment pi_full is already fully refunded. Nothing was refunded."
    assert caught.value.code == "action_refused"
    assert gateway.writes == []


async def test_a_fully_refunded_payment_whose_refund_is_this_requests_is_sent_for_replay() -> None:
    gateway = _gateway()
    tag = request_tag("idem-1:refund:pi_full")
    gateway.add_payment(
        d.payment_intent("pi_full", amount_refunded=2900, refunded=True, refunds=[d.refund(request_tag=tag)])
    )
    replayed = d.refund("re_A", request_tag=tag)
    gateway.refunds_by_key["idem-1:refund:pi_full"] = stripe.Refund.construct_from(replayed, None)
    result = await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_full"), "idem-1")
    assert result.message == "Refunded $29.00 on pi_full"
    assert gateway.writes == [("refund", "pi_full", "idem-1:refund:pi_full")]


async def test_when_the_refund_list_is_incomplete_stripe_decides() -> None:
    gateway = _gateway()
    values = d.payment_intent("pi_full", amount_refunded=2900, refunded=True)
    values["latest_charge"]["refunds"]["has_more"] = True  # this request's refund may be on page two
    gateway.add_payment(values)
    with pytest.raises(AlreadyRefundedError):
        await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_full"), "idem-1")
    assert gateway.writes == [("refund", "pi_full", "idem-1:refund:pi_full")]


async def test_a_disputed_payment_is_refused_without_asking_stripe() -> None:
    gateway = _gateway()
    values = d.payment_intent("pi_disputed")
    values["latest_charge"]["disputed"] = True
    gateway.add_payment(values)
    with pytest.raises(ActionRefusedError, match="is disputed: Stripe does not refund a disputed payment"):
        await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_disputed"), "idem-1")
    assert gateway.writes == []


async def test_a_failed_refund_can_be_refunded_again() -> None:
    gateway = _gateway()
    failed = d.refund("re_failed", status="failed", failure_reason="expired_or_canceled_card")
    gateway.add_payment(d.payment_intent("pi_failed", refunds=[failed]))  # amount_refunded back to 0
    result = await refund_payment(gateway.typed, TICKET, CUSTOMER, RefundPaymentPayload(target="pi_failed"), "k")
    assert result.message == "Refunded $29.00 on pi_failed"


def test_the_request_tag_is_stable_and_not_the_key() -> None:
    tag = request_tag("idem-1:refund:pi_A")
    assert tag == request_tag("idem-1:refund:pi_A")
    assert len(tag) == 16
    assert int(tag, 16) >= 0
    assert tag != request_tag("idem-2:refund:pi_A")
    assert "idem" not in tag


async def test_a_retry_after_a_lost_answer_reports_the_refund_it_made() -> None:
    gateway = _gateway()
    payload = RefundPaymentPayload(target="pi_ok")
    first = await refund_payment(gateway.typed, TICKET, CUSTOMER, payload, "idem-lost")  # answer lost on the way
    retry = await refund_payment(gateway.typed, TICKET, CUSTOMER, payload, "idem-lost")
    assert retry.message == "Refunded $29.00 on pi_ok"
    assert retry.reference == first.reference
    assert [w[2] for w in gateway.writes] == ["idem-lost:refund:pi_ok"] * 2  # one refund, replayed
    with pytest.raises(AlreadyRefundedError, match="Nothing was refunded"):
        await refund_payment(gateway.typed, TICKET, CUSTOMER, payload, "another-request")
    assert len(gateway.writes) == 2  # refused without asking Stripe


async def test_cancel_now_and_at_period_end() -> None:
    gateway = _gateway()
    result = await cancel_subscription(
        gateway.typed, TICKET, CUSTOMER, CancelSubscriptionPayload(target="sub_A", at_period_end=True), "k", {}
    )
    assert result.message == "sub_A will cancel at the end of its current period (2024-03-01)"
    result = await cancel_subscription(
        gateway.typed, TICKET, CUSTOMER, CancelSubscriptionPayload(target="sub_A", at_period_end=False), "k2", {}
    )
    assert result.message == "Canceled sub_A now (status canceled)"
    assert result.reference is None
    assert gateway.writes == [
        ("cancel_at_period_end", "sub_A", "k:cancel_at_period_end:sub_A"),
        ("cancel", "sub_A", "k2:cancel:sub_A"),
    ]


async def test_cancel_with_latest_invoice_refund() -> None:
    gateway = _gateway()
    payload = CancelSubscriptionPayload(target="sub_A", at_period_end=False, refund_latest_invoice=True)
    result = await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert result.message == "Canceled sub_A now (status canceled); refunded $29.00 on pi_ok"
    assert result.reference == "re_2"
    assert gateway.writes == [("cancel", "sub_A", "k:cancel:sub_A"), ("refund", "pi_ok", "k:refund:pi_ok")]


async def test_cancel_refuses_before_changing_anything_when_the_invoice_has_nothing_to_refund() -> None:
    gateway = _gateway()
    gateway.invoice_payments["in_A"] = ["pi_full"]
    payload = CancelSubscriptionPayload(target="sub_A", at_period_end=False, refund_latest_invoice=True)
    with pytest.raises(ActionRefusedError, match="has no payment left to refund"):
        await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert gateway.writes == []


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnavailableError("Stripe returned an error (503); try again in a moment."),
        MissingPermissionError("The Stripe key lacks Refunds: Write (rak_refund_write)"),
    ],
)
async def test_cancel_done_and_refund_failed_is_a_result_that_says_so(error: IntegrationError) -> None:
    gateway = _gateway()
    gateway.refund_errors.append(error)
    payload = CancelSubscriptionPayload(target="sub_A", at_period_end=False, refund_latest_invoice=True)
    result = await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert result.message.startswith(
        f"Canceled sub_A now (status canceled), but refunding the latest invoice's payment pi_ok failed: "
        f"{error.message}"
    )
    assert "Refund the payment from the payment history" in result.message
    assert result.target == "sub_A"
    assert result.reference is None
    assert result.details == {"refund_failed": True, "refund_payment": "pi_ok", "refund_error": error.code}
    assert gateway.subscriptions_by_id["sub_A"]["status"] == "canceled"


async def test_cancel_when_the_payment_was_refunded_meanwhile() -> None:
    gateway = _gateway()
    gateway.refund_errors.append(AlreadyRefundedError("Stripe refused it: Charge ch_ok has already been refunded."))
    payload = CancelSubscriptionPayload(target="sub_A", at_period_end=True, refund_latest_invoice=True)
    result = await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert result.message == (
        "sub_A will cancel at the end of its current period (2024-03-01); the latest invoice's payment pi_ok "
        "was already fully refunded, so nothing more was refunded."
    )
    assert result.details["refund_failed"] is False
    assert result.details["already_refunded"] is True


async def test_cancel_refuses_a_known_missing_permission_up_front() -> None:
    gateway = _gateway()
    payload = CancelSubscriptionPayload(target="sub_A", at_period_end=False, refund_latest_invoice=True)
    unavailable = {"refund_latest_invoice": "the key lacks Invoices: Read (rak_invoice_read)"}
    with pytest.raises(MissingPermissionError, match="rak_invoice_read"):
        await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", unavailable)
    assert gateway.writes == []


@pytest.mark.parametrize(
    ("target", "at_period_end", "fragment"),
    [
        ("sub_theirs", False, "does not belong"),
        ("sub_done", False, "already canceled"),
        ("sub_done", True, "already canceled"),
        ("sub_ending", True, "already set to cancel at the end of its period"),
    ],
)
async def test_cancel_refusals(target: str, at_period_end: bool, fragment: str) -> None:
    gateway = _gateway()
    payload = CancelSubscriptionPayload(target=target, at_period_end=at_period_end)
    with pytest.raises(ActionRefusedError, match=fragment):
        await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert gateway.writes == []


async def test_a_subscription_set_to_end_can_still_be_canceled_now() -> None:
    gateway = _gateway()
    payload = CancelSubscriptionPayload(target="sub_ending", at_period_end=False)
    result = await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert result.message.startswith("Canceled sub_ending now")


async def test_cancel_with_refund_refuses_up_front_when_the_invoices_payment_is_disputed() -> None:
    gateway = _gateway()
    gateway.payment_intents_by_id["pi_ok"]["latest_charge"]["disputed"] = True
    payload = CancelSubscriptionPayload(target="sub_A", at_period_end=False, refund_latest_invoice=True)
    with pytest.raises(ActionRefusedError, match="disputed, or paid some other way"):
        await cancel_subscription(gateway.typed, TICKET, CUSTOMER, payload, "k", {})
    assert gateway.writes == []
