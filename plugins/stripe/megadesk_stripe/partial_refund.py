"""Refund part of a payment: an amount in the payment's currency and a reason.

Checked before anything is sent: the payment belongs to the ticket's customer and succeeded;
the amount has no more decimals than the currency (``12.50`` USD, ``5000`` JPY, ``1.500`` KWD)
and is not more than what is left to refund; an agent stays within the tenant's cap
(:mod:`~megadesk_stripe.refund_cap`). The refund carries an idempotency key made from the
host's key and the payment, and the request tag of :mod:`~megadesk_stripe.refund_guard`: a
retried request (same key, same payload) gets Stripe's replay of its refund, never a second one,
even after its first answer was lost and the payment shows the refund already.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from megadesk_core.errors import ActionRefusedError, InvalidInputError
from megadesk_core.types import ActionPayload, ActionResult, ActionSpec, ResolvedCustomer, TicketContext
from megadesk_stripe.actions import ensure_id, ensure_owner, read_payment
from megadesk_stripe.blocks import PARTIAL_REFUND_ACTION
from megadesk_stripe.errors import AlreadyRefundedError
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.money import format_amount, minor_units
from megadesk_stripe.records import PaymentRecord
from megadesk_stripe.recovery import refund_key, refund_result, tagged_refund
from megadesk_stripe.refund_cap import RefundCaps
from megadesk_stripe.refund_guard import already_refunded, refusal, request_tag


class PartialRefundPayload(ActionPayload):
    """Refund part of a succeeded payment."""

    target: str = Field(pattern=r"^pi_[A-Za-z0-9_]{1,250}$", description="The payment intent (pi_...).")
    amount: str = Field(
        pattern=r"^[0-9]{1,12}(\.[0-9]{1,3})?$",
        description="How much to refund, in the payment's currency as people write it: 12.50 for USD, "
        "5000 for JPY (no decimals), 1.500 for KWD (three decimals).",
    )
    reason: Literal["requested_by_customer", "duplicate", "fraudulent"] = Field(
        default="requested_by_customer", description="Why, as Stripe records it."
    )
    note: str | None = Field(
        default=None, max_length=500, pattern="^[^\\x00]*$", description="A note kept with the refund in Stripe."
    )


SPEC = ActionSpec(
    name=PARTIAL_REFUND_ACTION,
    title="Refund part of a payment",
    payload_model=PartialRefundPayload,
    confirmation="Refund this amount to the customer? Stripe sends the money back; this cannot be undone.",
    description="Refunds an amount of a succeeded payment, at most what is left of it. Above the tenant's "
    "cap for agents, only an admin may.",
    danger=True,
    requires_verified_customer=True,
    feature="refunds",
)


def amount_to_refund(payload: PartialRefundPayload, payment: PaymentRecord) -> int:
    """The payload's amount in the payment's minor units, refused when it cannot be refunded."""
    try:
        amount = minor_units(Decimal(payload.amount), payment.currency)
    except ValueError as exc:
        raise InvalidInputError(f"The amount {payload.amount} {exc}. Nothing was refunded.") from None
    if amount <= 0:
        raise InvalidInputError("The amount to refund must be more than zero. Nothing was refunded.")
    return amount


def _more_than_left(payment: PaymentRecord, amount: int) -> ActionRefusedError:
    left = format_amount(payment.refundable_amount, payment.currency)
    return ActionRefusedError(
        f"Refunding {format_amount(amount, payment.currency)} is more than is left of payment {payment.id} "
        f"({left}). Nothing was refunded: refund at most {left}."
    )


async def partial_refund(
    gateway: StripeGateway,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: PartialRefundPayload,
    idempotency_key: str,
    caps: RefundCaps,
    earlier_attempt_unknown: bool = False,
) -> ActionResult:
    ensure_id(payload.target, "pi_", "payment intent")
    payment = await read_payment(gateway, payload.target)
    ensure_owner("payment", payment.id, payment.customer_id, customer)
    if payment.status != "succeeded":
        raise ActionRefusedError(
            f"Payment {payment.id} is {payment.status.replace('_', ' ')}, not succeeded: only a succeeded "
            "payment can be refunded. Nothing was refunded."
        )
    amount = amount_to_refund(payload, payment)
    caps.check(amount, payment.currency)
    operation_key = refund_key(idempotency_key, payment.id, "partial_refund")
    tag = request_tag(operation_key)
    if earlier_attempt_unknown and (earlier := await tagged_refund(gateway, payment, tag)) is not None:
        return refund_result(earlier, payment)  # the lost attempt's refund: nothing is sent
    refused = refusal(payment, tag)
    if refused is not None:
        raise refused
    replay = payment.has_refund_tagged(tag) or not payment.refunds_complete
    if not replay and amount > payment.refundable_amount:
        raise _more_than_left(payment, amount)
    try:
        refund = await gateway.refund_payment_intent(
            payment.id, operation_key, ticket.ticket_id, tag, amount=amount, reason=payload.reason, note=payload.note
        )
    except AlreadyRefundedError as exc:
        raise already_refunded(payment) from exc
    text = f"Refunded {format_amount(refund.amount, refund.currency)} of {payment.id}"
    if refund.status == "pending":
        text += " (pending: the money is on its way once the bank confirms)"
    elif refund.status != "succeeded":
        text += f" (Stripe reports the refund as {refund.status})"
    return ActionResult(message=text, target=payment.id, reference=refund.id)
