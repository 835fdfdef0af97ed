"""What an agent reads after a refund: never "refunded" when Stripe says the money did not go back."""

from __future__ import annotations

import pytest
from megadesk_stripe.records import PaymentRecord, RefundRecord
from megadesk_stripe.recovery import refund_message, refund_result


def _payment() -> PaymentRecord:
    return PaymentRecord(
        id="pi_1",
        amount=4900,
        currency="usd",
        status="succeeded",
        created=0,
        description=None,
        customer_id="cus_1",
        amount_refunded=0,
        refunded=False,
    )


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("succeeded", None, "Refunded $49.00 on pi_1"),
        ("pending", None, "Refunded $49.00 on pi_1 (pending: the money is on its way once the bank confirms)"),
        (
            "failed",
            "expired_or_canceled_card",
            "Stripe reports the refund of $49.00 on pi_1 as failed (expired or canceled card): the money did not "
            "go back. See the refund in the Stripe dashboard.",
        ),
        (
            "canceled",
            None,
            "Stripe reports the refund of $49.00 on pi_1 as canceled: the money did not go back. See the refund "
            "in the Stripe dashboard.",
        ),
        (
            "requires_action",
            None,
            "The refund of $49.00 on pi_1 needs action in the Stripe dashboard before the money goes back.",
        ),
    ],
)
def test_each_refund_status_says_where_the_money_is(status, reason, expected):
    refund = RefundRecord(id="re_1", amount=4900, status=status, failure_reason=reason)
    assert refund_message(refund, _payment()) == expected
    result = refund_result(refund, _payment())
    assert (result.reference, result.target) == ("re_1", "pi_1")
    assert result.details == {"amount": 4900, "currency": "usd", "refund_status": status}
    assert result.message.startswith("Refunded") == (status in ("succeeded", "pending"))
