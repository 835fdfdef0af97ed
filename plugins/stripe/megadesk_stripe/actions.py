"""The agent's actions: refund a payment, cancel a subscription.

Both check that the object belongs to the customer resolved for the ticket and is in a state
where the action makes sense, before changing anything. Every Stripe write carries an
idempotency key made from the host's key and the operation, so a retried or double-clicked
request never refunds or cancels twice. A payment that is already fully refunded, or disputed,
is refused here unless one of its refunds carries this request's tag (its answer was lost and
the agent retried): then Stripe replays that refund (see :mod:`megadesk_stripe.refund_guard`).
Once a cancellation is done, a failed refund of the latest invoice is reported in the result
(``details["refund_failed"]``), not raised.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from megadesk_core.errors import (
    ActionRefusedError,
    IntegrationError,
    InvalidInputError,
    MissingPermissionError,
    NotFoundError,
)
from megadesk_core.types import ActionPayload, ActionResult, ActionSpec, ResolvedCustomer, TicketContext
from megadesk_stripe.blocks import CANCEL_ACTION, REFUND_ACTION
from megadesk_stripe.errors import AlreadyRefundedError
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.permissions import REFUNDS_READ, REFUNDS_WRITE, describe_permission
from megadesk_stripe.records import (
    PaymentRecord,
    SubscriptionRecord,
    payment_record,
    refund_record,
    subscription_record,
)
from megadesk_stripe.recovery import cancel_key, recover_cancel, refund_key, refund_result, tagged_refund, with_refund
from megadesk_stripe.refund_cap import NO_CAPS, RefundCaps
from megadesk_stripe.refund_guard import already_refunded, refusal, request_tag
from megadesk_stripe.resolution import day


class RefundPaymentPayload(ActionPayload):
    """Refund what is left of a succeeded payment."""

    target: str = Field(pattern=r"^pi_[A-Za-z0-9_]{1,250}$", description="The payment intent (pi_...).")


class CancelSubscriptionPayload(ActionPayload):
    """Cancel a subscription now or at the end of its current period."""

    target: str = Field(pattern=r"^sub_[A-Za-z0-9_]{1,250}$", description="The subscription (sub_...).")
    at_period_end: bool = Field(
        default=True, description="True: stop renewing at the end of the current period. False: cancel now."
    )
    refund_latest_invoice: bool = Field(
        default=False, description="Also refund the payment of the subscription's latest invoice."
    )


ACTIONS = [
    ActionSpec(
        name=REFUND_ACTION,
        title="Refund payment",
        payload_model=RefundPaymentPayload,
        confirmation="Refund the rest of this payment to the customer? Stripe sends the money back; "
        "this cannot be undone.",
        description="Refunds a succeeded payment in full (what has not been refunded yet).",
        danger=True,
        requires_verified_customer=True,
        feature="refunds",
    ),
    ActionSpec(
        name=CANCEL_ACTION,
        title="Cancel subscription",
        payload_model=CancelSubscriptionPayload,
        confirmation="Cancel this subscription? Canceling now ends it immediately and cannot be undone; "
        "at period end, it stops renewing.",
        description="Cancels now or at the end of the current period, optionally refunding the "
        "latest invoice's payment.",
        danger=True,
        requires_verified_customer=True,
        feature="cancel",
    ),
]


def ensure_id(target: str, prefix: str, kind: str) -> None:
    # The payload model checks this too; this guards callers that skip validation.
    if not target.startswith(prefix):
        raise ActionRefusedError(f"{target!r} is not a Stripe {kind} id ({prefix}...); nothing was changed.")


async def read_payment(gateway: StripeGateway, payment_intent_id: str) -> PaymentRecord:
    """The payment with its refunds, which a refund's checks need. Reading them needs Refunds:
    Read, which Refunds: Write includes: a key without it cannot refund either, so the error
    names what the action needs."""
    try:
        return payment_record(await gateway.retrieve_payment_intent(payment_intent_id))
    except MissingPermissionError as exc:
        if REFUNDS_READ.code not in exc.message:
            raise
        raise MissingPermissionError(
            f"The Stripe key lacks {describe_permission(REFUNDS_WRITE.code)}: it cannot even read refunds. "
            "An admin should edit the restricted key in the Stripe dashboard (Developers -> API keys) to "
            "add it. Nothing was refunded."
        ) from exc


def ensure_owner(kind: str, object_id: str, owner: str | None, customer: ResolvedCustomer) -> None:
    if owner != customer.id:
        raise ActionRefusedError(
            f"The {kind} {object_id} does not belong to the Stripe customer shown on this ticket "
            f"({customer.id}); nothing was changed."
        )


async def _refund(
    gateway: StripeGateway, payment: PaymentRecord, key: str, ticket_id: str, earlier_attempt_unknown: bool = False
) -> ActionResult:
    """Refund what is left of ``payment``; the message says what Stripe refunded.

    After an earlier attempt of unknown outcome, look first: a refund carrying this request's tag
    is that attempt's, and is the answer (nothing is sent). Refused here, without a request, when
    the payment is fully refunded or disputed and none of its refunds carries this request's tag
    (:mod:`~megadesk_stripe.refund_guard`). Otherwise sent, with the tag, even when the payment
    shows as fully refunded: the retry of a refund whose answer was lost finds its own refund,
    and Stripe replays it (reported as done). The request is identical on every attempt (no
    amount), as an idempotent replay requires.
    """
    operation_key = refund_key(key, payment.id)
    tag = request_tag(operation_key)
    if earlier_attempt_unknown and (earlier := await tagged_refund(gateway, payment, tag)) is not None:
        return refund_result(earlier, payment)
    refused = refusal(payment, tag)
    if refused is not None:
        raise refused
    try:
        refund = await gateway.refund_payment_intent(payment.id, operation_key, ticket_id, tag)
    except AlreadyRefundedError as exc:
        raise already_refunded(payment) from exc
    return refund_result(refund_record(refund), payment)


async def refund_payment(
    gateway: StripeGateway,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: RefundPaymentPayload,
    idempotency_key: str,
    caps: RefundCaps = NO_CAPS,
    earlier_attempt_unknown: bool = False,
) -> ActionResult:
    ensure_id(payload.target, "pi_", "payment intent")
    payment = await read_payment(gateway, payload.target)
    ensure_owner("payment", payment.id, payment.customer_id, customer)
    caps.check(payment.refundable_amount, payment.currency)
    if payment.status != "succeeded":
        raise ActionRefusedError(
            f"Payment {payment.id} is {payment.status.replace('_', ' ')}, not succeeded: only a "
            "succeeded payment can be refunded. Nothing was refunded."
        )
    # A fully refunded payment may have been refunded by this very request before its answer was
    # lost: _refund tells by the refunds' tags, and lets Stripe replay it.
    return await _refund(gateway, payment, idempotency_key, ticket.ticket_id, earlier_attempt_unknown)


async def _latest_invoice_payment(gateway: StripeGateway, sub: SubscriptionRecord) -> PaymentRecord:
    invoice = sub.latest_invoice_id
    if invoice is not None:
        for pi_id in await gateway.invoice_payment_intent_ids(invoice):
            payment = await read_payment(gateway, pi_id)
            if payment.customer_id == sub.customer_id and payment.can_refund:
                return payment
    raise ActionRefusedError(
        f"The latest invoice of {sub.id} ({invoice or 'none'}) has no payment left to refund (unpaid, "
        "already refunded, disputed, or paid some other way). Nothing was changed: cancel without the refund, "
        "or refund a payment from the payment history."
    )


async def cancel_subscription(
    gateway: StripeGateway,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: CancelSubscriptionPayload,
    idempotency_key: str,
    unavailable: Mapping[str, str],
    caps: RefundCaps = NO_CAPS,
    earlier_attempt_unknown: bool = False,
) -> ActionResult:
    ensure_id(payload.target, "sub_", "subscription")
    sub = subscription_record(await gateway.retrieve_subscription(payload.target))
    ensure_owner("subscription", sub.id, sub.customer_id, customer)
    if earlier_attempt_unknown:  # look before writing: the lost attempt may have canceled it
        earlier = await recover_cancel(gateway, payload, idempotency_key)
        if earlier.result is not None:
            return earlier.result
    if sub.is_final:
        raise ActionRefusedError(f"Subscription {sub.id} is already {sub.status.replace('_', ' ')}.")
    if payload.at_period_end and sub.cancel_at_period_end:
        raise ActionRefusedError(f"Subscription {sub.id} is already set to cancel at the end of its period.")
    to_refund = None
    if payload.refund_latest_invoice:
        if "refund_latest_invoice" in unavailable:  # refuse before canceling, not halfway through
            raise MissingPermissionError(
                f"Refunding the latest invoice is unavailable with this Stripe key: "
                f"{unavailable['refund_latest_invoice']}. Nothing was changed."
            )
        to_refund = await _latest_invoice_payment(gateway, sub)
        caps.check(to_refund.refundable_amount, to_refund.currency)  # before canceling, too
    try:
        if payload.at_period_end:
            key = cancel_key(idempotency_key, sub.id, True)
            await gateway.cancel_subscription_at_period_end(sub.id, key, request_tag(key))
            end = sub.current_period_end
            message = f"{sub.id} will cancel at the end of its current period" + (f" ({day(end)})" if end else "")
        else:
            key = cancel_key(idempotency_key, sub.id, False)
            canceled = await gateway.cancel_subscription_now(sub.id, key, request_tag(key))
            message = f"Canceled {sub.id} now (status {canceled.status})"
    except (NotFoundError, ActionRefusedError, InvalidInputError) as exc:
        raise await _lost_race(gateway, sub.id, payload, exc) from exc
    if to_refund is None:
        return ActionResult(message=message, target=sub.id)
    try:
        refunded = await _refund(gateway, to_refund, idempotency_key, ticket.ticket_id)
    except IntegrationError as exc:
        # The subscription is canceled (or set to cancel) whatever happens now: raising would
        # make the action look failed, and a retry would only be refused as already canceled.
        return _refund_failed(message, sub, to_refund, exc)
    return with_refund(message, sub.id, refunded)


async def _lost_race(
    gateway: StripeGateway, sub_id: str, payload: CancelSubscriptionPayload, exc: IntegrationError
) -> IntegrationError:
    """The error for a cancel Stripe refused after our checks passed: usually another request
    (a second agent, the dashboard) canceled the subscription in between, and Stripe then answers
    "no such subscription" or "a canceled subscription can only update...". Read it again and
    say what happened; any other refusal stands as it is."""
    try:
        now = subscription_record(await gateway.retrieve_subscription(sub_id))
    except IntegrationError:
        return exc
    if now.is_final:
        return ActionRefusedError(
            f"Subscription {sub_id} is already {now.status.replace('_', ' ')} (canceled meanwhile by another "
            "request or in Stripe). Nothing more was changed."
        )
    if payload.at_period_end and now.cancel_at_period_end:
        return ActionRefusedError(
            f"Subscription {sub_id} is already set to cancel at the end of its period (set meanwhile by "
            "another request or in Stripe). Nothing more was changed."
        )
    return exc


def _refund_failed(
    message: str, sub: SubscriptionRecord, payment: PaymentRecord, exc: IntegrationError
) -> ActionResult:
    """The result of a cancellation that was done although refunding the latest invoice was not."""
    details: dict[str, str | int | float | bool | None] = {"refund_payment": payment.id, "refund_error": exc.code}
    if isinstance(exc, AlreadyRefundedError):
        # Nothing for the agent to do: the money is back already (another request refunded it).
        details.update(refund_failed=False, already_refunded=True)
        text = (
            f"{message}; the latest invoice's payment {payment.id} was already fully refunded, so nothing "
            "more was refunded."
        )
    else:
        details["refund_failed"] = True
        reason = exc.message.rstrip()
        if not reason.endswith((".", "!", "?")):
            reason += "."
        text = (
            f"{message}, but refunding the latest invoice's payment {payment.id} failed: {reason} The "
            "cancellation stands. Refund the payment from the payment history if it does not show as "
            "refunded there."
        )
    return ActionResult(message=text, target=sub.id, details=details)
