"""Resume a subscription that is set to cancel at the end of its period ("changed my mind").

Stripe keeps such a subscription active until the period ends; setting ``cancel_at_period_end``
back to false before then keeps it renewing (Stripe's "reactivate a subscription"). A canceled
subscription cannot come back (a new one would have to be created), and one that is not set to
cancel has nothing to resume: both are refused before anything is sent. The update carries an
idempotency key made from the host's key and the subscription.
"""

from __future__ import annotations

from pydantic import Field

from megadesk_core.errors import ActionRefusedError, IntegrationError, InvalidInputError, NotFoundError
from megadesk_core.types import ActionPayload, ActionResult, ActionSpec, ResolvedCustomer, TicketContext
from megadesk_stripe.actions import ensure_id, ensure_owner
from megadesk_stripe.blocks import RESUME_ACTION
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.records import SubscriptionRecord, subscription_record
from megadesk_stripe.resolution import day


class ResumeSubscriptionPayload(ActionPayload):
    """Keep a subscription that is set to cancel at the end of its period."""

    target: str = Field(pattern=r"^sub_[A-Za-z0-9_]{1,250}$", description="The subscription (sub_...).")


SPEC = ActionSpec(
    name=RESUME_ACTION,
    title="Resume subscription",
    payload_model=ResumeSubscriptionPayload,
    confirmation="Keep this subscription? It will renew at the end of its period, and Stripe charges the "
    "customer then as before.",
    description="Undoes a cancellation at period end, before the period ends.",
    danger=False,
    requires_verified_customer=True,
    feature="resume",
)


def _not_resumable(sub: SubscriptionRecord, meanwhile: bool = False) -> ActionRefusedError | None:
    when = " (meanwhile, by another request or in Stripe)" if meanwhile else ""
    if sub.is_final:
        return ActionRefusedError(
            f"Subscription {sub.id} is {sub.status.replace('_', ' ')}{when}: a canceled subscription cannot be "
            "resumed. Nothing was changed; a new subscription would have to be created in Stripe."
        )
    if not sub.cancel_at_period_end:
        return ActionRefusedError(
            f"Subscription {sub.id} is not set to cancel at the end of its period{when}: there is nothing to "
            "resume. Nothing was changed."
        )
    return None


async def resume_subscription(
    gateway: StripeGateway,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: ResumeSubscriptionPayload,
    idempotency_key: str,
) -> ActionResult:
    ensure_id(payload.target, "sub_", "subscription")
    sub = subscription_record(await gateway.retrieve_subscription(payload.target))
    ensure_owner("subscription", sub.id, sub.customer_id, customer)
    refused = _not_resumable(sub)
    if refused is not None:
        raise refused
    try:
        resumed = subscription_record(
            await gateway.keep_subscription_renewing(sub.id, f"{idempotency_key}:resume:{sub.id}")
        )
    except (NotFoundError, ActionRefusedError, InvalidInputError) as exc:
        raise await _lost_race(gateway, sub.id, exc) from exc
    end = resumed.current_period_end
    renews = f" on {day(end)}" if end else ""
    return ActionResult(message=f"{sub.id} will renew{renews} instead of canceling", target=sub.id)


async def _lost_race(gateway: StripeGateway, sub_id: str, exc: IntegrationError) -> IntegrationError:
    """Stripe refused after our checks passed: say what changed in between, if anything did."""
    try:
        now = subscription_record(await gateway.retrieve_subscription(sub_id))
    except IntegrationError:
        return exc
    return _not_resumable(now, meanwhile=True) or exc
