"""What became of an action attempt whose answer was lost: read-only, by the writes' tags.

Every write this integration sends carries a tag derived from its idempotency key
(:func:`~megadesk_stripe.refund_guard.request_tag`): a refund's ``metadata``, a cancellation at
period end's ``metadata``, a cancellation now's ``cancellation_details.comment``. Finding the
tag says the write happened; a complete read without it says it did not. Nothing here writes.
Used by the host's recovery (``recover_action``) and by a retry told that an earlier attempt's
outcome is unknown (it looks before writing again).
"""

from __future__ import annotations

from typing import Any, Protocol

from megadesk_core.types import ActionResult, RecoveredAction
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.money import format_amount
from megadesk_stripe.records import (
    REQUEST_TAG_KEY,
    PaymentRecord,
    RefundRecord,
    cancel_comment,
    payment_record,
    subscription_record,
)
from megadesk_stripe.refund_guard import request_tag


def refund_key(idempotency_key: str, payment_intent_id: str, operation: str = "refund") -> str:
    """The Stripe idempotency key of the refund of ``payment_intent_id`` by one request
    (``operation``: ``refund`` in full, or ``partial_refund``)."""
    return f"{idempotency_key}:{operation}:{payment_intent_id}"


def cancel_key(idempotency_key: str, subscription_id: str, at_period_end: bool) -> str:
    operation = "cancel_at_period_end" if at_period_end else "cancel"
    return f"{idempotency_key}:{operation}:{subscription_id}"


def refund_message(refund: RefundRecord, payment: PaymentRecord) -> str:
    """What the agent reads: never "refunded" for a refund Stripe reports as not (yet) done."""
    amount = format_amount(refund.amount, payment.currency)
    if refund.status in ("failed", "canceled"):
        reason = f" ({refund.failure_reason.replace('_', ' ')})" if refund.failure_reason else ""
        return (
            f"Stripe reports the refund of {amount} on {payment.id} as {refund.status}{reason}: the money did "
            "not go back. See the refund in the Stripe dashboard."
        )
    if refund.status == "requires_action":
        return (
            f"The refund of {amount} on {payment.id} needs action in the Stripe dashboard before the money goes back."
        )
    text = f"Refunded {amount} on {payment.id}"
    if refund.status == "pending":
        text += " (pending: the money is on its way once the bank confirms)"
    elif refund.status not in ("succeeded", None):
        text += f" (Stripe reports the refund as {refund.status})"
    return text


async def tagged_refund(gateway: StripeGateway, payment: PaymentRecord, tag: str) -> RefundRecord | None:
    """The payment's refund carrying ``tag``: from the refunds read with it, else every page."""
    refunds = payment.refunds if payment.refunds_complete else tuple(await gateway.refunds_of_payment(payment.id))
    return next((refund for refund in refunds if refund.request_tag == tag), None)


def refund_result(refund: RefundRecord, payment: PaymentRecord) -> ActionResult:
    return ActionResult(
        message=refund_message(refund, payment),
        target=payment.id,
        reference=refund.id,
        details={"amount": refund.amount, "currency": payment.currency, "refund_status": refund.status},
    )


async def recover_refund(
    gateway: StripeGateway, payment_intent_id: str, idempotency_key: str, operation: str = "refund"
) -> RecoveredAction:
    payment = payment_record(await gateway.retrieve_payment_intent(payment_intent_id))
    refund = await tagged_refund(gateway, payment, request_tag(refund_key(idempotency_key, payment.id, operation)))
    if refund is None:
        return RecoveredAction(outcome="not_found", detail=f"no refund of {payment.id} carries this request's tag")
    return RecoveredAction(outcome="succeeded", result=refund_result(refund, payment))


class CancelRequest(Protocol):
    """What a cancellation's payload says (:class:`~megadesk_stripe.actions.CancelSubscriptionPayload`)."""

    target: str
    at_period_end: bool
    refund_latest_invoice: bool


def with_refund(message: str, subscription_id: str, refunded: ActionResult) -> ActionResult:
    """A cancellation's result followed by its latest invoice's refund."""
    text = refunded.message
    return ActionResult(
        message=f"{message}; {text[0].lower()}{text[1:]}",
        target=subscription_id,
        reference=refunded.reference,
        details=refunded.details,
    )


async def _latest_invoice_refund(gateway: StripeGateway, invoice_id: str | None, key: str) -> ActionResult | None:
    for pi_id in await gateway.invoice_payment_intent_ids(invoice_id) if invoice_id else []:
        payment = payment_record(await gateway.retrieve_payment_intent(pi_id))
        refund = await tagged_refund(gateway, payment, request_tag(refund_key(key, payment.id)))
        if refund is not None:
            return refund_result(refund, payment)
    return None


async def recover_cancel(gateway: StripeGateway, payload: CancelRequest, idempotency_key: str) -> RecoveredAction:
    """Whether this request's cancellation happened, and the refund of the latest invoice that
    it asked for."""
    sub_id = payload.target
    sub: dict[str, Any] = (await gateway.retrieve_subscription(sub_id)).to_dict()
    tag = request_tag(cancel_key(idempotency_key, sub_id, payload.at_period_end))
    if payload.at_period_end:
        done = bool(sub.get("cancel_at_period_end")) and (sub.get("metadata") or {}).get(REQUEST_TAG_KEY) == tag
        message = f"{sub_id} will cancel at the end of its current period"
    else:
        comment = (sub.get("cancellation_details") or {}).get("comment")
        done = sub.get("status") == "canceled" and comment == cancel_comment(tag)
        message = f"Canceled {sub_id} now (status {sub.get('status')})"
    if not done:
        return RecoveredAction(outcome="not_found", detail=f"{sub_id} carries no cancellation by this request")
    if not payload.refund_latest_invoice:
        return RecoveredAction(outcome="succeeded", result=ActionResult(message=message, target=sub_id))
    latest = sub.get("latest_invoice")
    invoice = latest.get("id") if isinstance(latest, dict) else latest
    refunded = await _latest_invoice_refund(gateway, invoice, idempotency_key)
    if refunded is not None:
        return RecoveredAction(outcome="succeeded", result=with_refund(message, sub_id, refunded))
    text = (
        f"{message}, but the refund of the latest invoice's payment was not made (the request stopped before "
        "it). The cancellation stands. Refund the payment from the payment history."
    )
    return RecoveredAction(
        outcome="succeeded",
        result=ActionResult(message=text, target=sub_id, details={"refund_failed": True}),
    )


async def recover_resume(gateway: StripeGateway, subscription_id: str) -> RecoveredAction:
    """A resume asks for an end state (renewing), not for a new object: if the subscription
    renews now, what the request asked for holds."""
    sub = subscription_record(await gateway.retrieve_subscription(subscription_id))
    if not sub.is_final and not sub.cancel_at_period_end:
        return RecoveredAction(
            outcome="succeeded", result=ActionResult(message=f"{sub.id} renews instead of canceling", target=sub.id)
        )
    return RecoveredAction(outcome="not_found", detail=f"{sub.id} is {sub.status} and set to cancel: not resumed")
