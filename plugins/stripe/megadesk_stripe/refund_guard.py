"""When a refund request is worth sending to Stripe at all.

A retried refund (its first answer was lost) must reach Stripe with the same idempotency key,
so Stripe replays the refund it made instead of refusing the retry. Any other refund of a
payment with nothing left to refund would only be refused by Stripe. The host does not (yet)
tell the plugin whether a key may have an earlier attempt of unknown outcome, so the payment's
own refunds tell instead: every refund this integration makes carries a metadata tag derived
from the request's idempotency key (:func:`request_tag`). The rule:

* a refund on the payment carries this request's tag: send (Stripe replays it);
* otherwise, a disputed payment is refused here (Stripe would refuse: ``charge_disputed``);
* otherwise, a payment that is already fully refunded (pending refunds included) is refused
  here with the message Stripe's refusal would produce;
* when the payment's refund list is incomplete (more than one page), the tag cannot be ruled
  out and the request is sent: Stripe decides.
"""

from __future__ import annotations

import hashlib

from megadesk_core.errors import ActionRefusedError
from megadesk_stripe.errors import AlreadyRefundedError
from megadesk_stripe.records import PaymentRecord


def request_tag(idempotency_key: str) -> str:
    """The first 16 hex digits of the SHA-256 of the refund's idempotency key: identical on every
    retry of one request, and not the key itself (metadata is visible in the dashboard)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def already_refunded(payment: PaymentRecord) -> AlreadyRefundedError:
    return AlreadyRefundedError(f"Payment {payment.id} is already fully refunded. Nothing was refunded.")


def refusal(payment: PaymentRecord, tag: str) -> ActionRefusedError | None:
    """Why a refund of ``payment`` with this ``tag`` need not be sent, or ``None`` to send it."""
    if payment.has_refund_tagged(tag) or not payment.refunds_complete:
        return None  # a replay is plausible (or cannot be ruled out): only Stripe knows
    if payment.disputed:
        return ActionRefusedError(
            f"Payment {payment.id} is disputed: Stripe does not refund a disputed payment, the dispute "
            "decides where the money goes. Nothing was refunded. See the dispute in the Stripe dashboard "
            "(accept it to give the money back)."
        )
    if payment.fully_refunded:
        return already_refunded(payment)
    return None
