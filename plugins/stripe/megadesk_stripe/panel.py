"""The sidebar panel: read what it shows from Stripe (on one round trip), then assemble the blocks.

Sections the key cannot read are left out and named in a notice, whether the settings check
found that out when the settings were saved or Stripe says so now.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from megadesk_core.errors import AuthenticationFailedError, IntegrationError, MissingPermissionError, NotFoundError
from megadesk_core.panel import Badge, BadgesBlock, Block, ChoiceBlock, ChoiceOption, NoticeBlock, Panel
from megadesk_core.types import ResolvedCustomer, SettingsCheck
from megadesk_stripe import blocks, payment_blocks
from megadesk_stripe.disputes import DisputeRecord
from megadesk_stripe.permissions import FEATURE_TITLES, with_dependents
from megadesk_stripe.reads import PanelPlan, StripeReads
from megadesk_stripe.records import (
    CustomerRecord,
    PaymentPage,
    PaymentRecord,
    SubscriptionFields,
    SubscriptionRecord,
    UnreadableSubscription,
    customer_record,
    is_deleted,
    product_ids,
    subscription_record,
)
from megadesk_stripe.resolution import RANKING_RULE

TITLE = "Stripe"
_T = TypeVar("_T")
logger = logging.getLogger(__name__)
_SECTION_TITLES = {
    "subscriptions": "Subscriptions",
    "payments": "Payment history",
    "product_names": "Product names",
    "disputes": "Dispute details",
}


def unavailable_features(check: SettingsCheck | None) -> dict[str, str]:
    """Feature -> reason, from the settings check, including features that need an unavailable one."""
    return with_dependents({u.feature: u.reason for u in check.unavailable_features} if check else {})


@dataclass(frozen=True)
class PanelData:
    resolved: ResolvedCustomer
    customer: CustomerRecord
    test_mode: bool
    payment_history_limit: int
    subscriptions: list[SubscriptionRecord | UnreadableSubscription] | None = None
    payments: list[PaymentRecord] | None = None
    payments_next: str | None = None
    """The cursor of the payments' next page ("show more"), if older payments exist."""
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """Features the key may not use (permissions), by name."""
    failed: Mapping[str, str] = field(default_factory=dict)
    """Sections Stripe could not give this time (not found, an error upstream), by name."""
    selection: str | None = None
    disputes: Mapping[str, list[DisputeRecord]] = field(default_factory=dict)


def empty_panel(has_email: bool) -> Panel:
    text = (
        "No Stripe customer has the requester's email address. If they pay with another address, "
        "find them in the Stripe dashboard."
        if has_email
        else "The ticket has no requester email and its Custom Data names no Stripe customer."
    )
    return Panel(title=TITLE, status="empty", blocks=[NoticeBlock(title="No Stripe customer found", text=text)])


def _verification_blocks(resolved: ResolvedCustomer, selection: str | None) -> tuple[str | None, list[Block]]:
    """The reason for the host's *not verified* label (``Panel.verification_note``: the host owns
    the label, so no notice of our own repeats it) and the blocks that let the agent switch."""
    if resolved.verified:
        return None, []
    note = "Matched by the requester's email: the ticket names no Stripe customer."
    out: list[Block] = []
    if resolved.alternatives:
        note = (
            f"{len(resolved.alternatives) + 1} Stripe customers share this email; this one was picked by: "
            f"{RANKING_RULE}. Switch below if it is the wrong one."
        )
        options = [ChoiceOption(value=resolved.id, label=resolved.label or resolved.id, selected=True)]
        options += [ChoiceOption(value=c.id, label=c.label, description=c.description) for c in resolved.alternatives]
        out.append(ChoiceBlock(label="Stripe customers with this email", options=options))
    if selection and selection != resolved.id:
        out.append(
            NoticeBlock(
                tone="info",
                title="Selection ignored",
                text="The customer picked is not one of the matches for this ticket; showing the best match.",
            )
        )
    return note, out


PAYMENTS_PAGE = "payments:"
"""A "show more" cursor of the payment history: this prefix and the last payment shown."""
_PAYMENT_INTENT_ID = re.compile(r"^pi_[A-Za-z0-9_]{1,250}$")


def payments_after(page: str | None) -> str | None:
    """The payment intent the agent's "show more" continues after; ``None`` for the newest
    payments, also when the cursor is not one this plugin drew (it comes from the browser)."""
    if page is None or not page.startswith(PAYMENTS_PAGE):
        return None
    after = page.removeprefix(PAYMENTS_PAGE)
    return after if _PAYMENT_INTENT_ID.match(after) else None


def next_payments_cursor(page: PaymentPage | None) -> str | None:
    if page is None or not page.has_more or not page.payments:
        return None
    return f"{PAYMENTS_PAGE}{page.payments[-1].id}"


def build_panel(data: PanelData) -> Panel:
    unavailable = dict(data.unavailable)
    # An open dispute first: it changes what the agent may promise about everything below.
    out: list[Block] = []
    if data.payments is not None:
        out.extend(payment_blocks.dispute_warning(data.payments, data.disputes, data.test_mode))
    note, verification = _verification_blocks(data.resolved, data.selection)
    out.extend(verification)
    if unavailable:
        titled = {f"{FEATURE_TITLES.get(k, k)} ({k})": reason for k, reason in unavailable.items()}
        out.append(blocks.unavailable_notice(titled))
    if data.test_mode:
        out.append(BadgesBlock(badges=[Badge(label="Test mode", tone="info")]))
    out.append(blocks.customer_block(data.customer, data.test_mode))
    if "product_names" in data.failed:
        out.append(blocks.section_unavailable("Product names", data.failed["product_names"]))
    if data.subscriptions is not None:
        out.append(
            blocks.subscriptions_block(
                data.subscriptions, data.test_mode, "cancel" not in unavailable, "resume" not in unavailable
            )
        )
    elif "subscriptions" in data.failed:
        out.append(blocks.section_unavailable("Subscriptions", data.failed["subscriptions"]))
    if data.payments is not None:
        if "disputes" in data.failed:
            out.append(blocks.section_unavailable("Dispute details", data.failed["disputes"]))
        out.append(
            payment_blocks.payments_block(
                data.payments,
                data.payment_history_limit,
                data.test_mode,
                "refunds" not in unavailable,
                data.disputes,
                next_page=data.payments_next,
            )
        )
    elif "payments" in data.failed:
        out.append(blocks.section_unavailable("Payment history", data.failed["payments"]))
    return Panel(
        title=TITLE, verified=data.resolved.verified, verification_note=note, blocks=out, objects=shown_objects(data)
    )


def shown_objects(data: PanelData) -> list[str]:
    """The Stripe ids the panel shows: a webhook event about any of them (or about the customer,
    which every event of its objects names) makes the host drop the kept panel."""
    ids = [data.customer.id, *(c.id for c in data.resolved.alternatives)]
    for subscription in data.subscriptions or []:
        ids.append(subscription.id)
        if isinstance(subscription, SubscriptionRecord) and subscription.latest_invoice_id:
            ids.append(subscription.latest_invoice_id)
    for payment in data.payments or []:
        ids.append(payment.id)
        if payment.charge_id:
            ids.append(payment.charge_id)
        ids.extend(refund.id for refund in payment.refunds)
    for disputes in data.disputes.values():
        ids.extend(dispute.id for dispute in disputes)
    return list(dict.fromkeys(ids))


class _Outcomes:
    """What went wrong with the panel's sections: not allowed (the key) or failed (this time)."""

    def __init__(self, unavailable: dict[str, str]) -> None:
        self.unavailable = unavailable
        self.failed: dict[str, str] = {}

    async def guarded(self, section: str, call: Awaitable[_T]) -> _T | None:
        """The section's data, or ``None`` and the reason: one section that cannot be loaded shows
        as unavailable in place, and the rest of the panel still renders. A rejected key fails
        the whole panel (nothing else could load either)."""
        try:
            return await call
        except MissingPermissionError as exc:
            self.unavailable[section] = exc.message
        except AuthenticationFailedError:
            raise
        except IntegrationError as exc:
            self.failed[section] = (
                f"Stripe could not give the {_SECTION_TITLES.get(section, section).lower()}: {exc.message}"
            )
        return None


def _subscription_rows(
    subs: list[SubscriptionFields | UnreadableSubscription], names: Mapping[str, str] | None
) -> list[SubscriptionRecord | UnreadableSubscription]:
    """Each subscription as a row; one of an unexpected shape (found when it was read) stays
    an unavailable row, so it does not blank the others."""
    rows: list[SubscriptionRecord | UnreadableSubscription] = []
    for sub in subs:
        if isinstance(sub, UnreadableSubscription):
            logger.warning("Stripe subscription %s could not be read", sub.id)
            rows.append(sub)
        else:
            rows.append(subscription_record(sub, names))
    return rows


async def _disputes(
    reads: StripeReads, payments: list[PaymentRecord], plan: PanelPlan, outcomes: _Outcomes
) -> dict[str, list[DisputeRecord]]:
    """The disputes of the disputed payments (none: no request)."""
    disputed = [p.id for p in payments if p.disputed]
    if not disputed or not plan.reads("disputes"):
        return {}
    found = await asyncio.gather(*(outcomes.guarded("disputes", reads.disputes(pid)) for pid in disputed))
    return {pid: list(d) for pid, d in zip(disputed, found, strict=True) if d is not None}


async def _skipped() -> None:
    return None


async def load_panel(
    reads: StripeReads,
    resolved: ResolvedCustomer,
    *,
    check: SettingsCheck | None,
    test_mode: bool,
    payment_history_limit: int,
    selection: str | None = None,
    page: str | None = None,
) -> Panel:
    unavailable = unavailable_features(check)
    plan = PanelPlan(payment_history_limit, dict(unavailable), payments_after(page))
    # Started already when resolve_customer knew the customer; a no-op for what it started.
    reads.start_panel(resolved.id, plan)
    outcomes = _Outcomes(unavailable)
    customer, subs, payments, names = await asyncio.gather(
        reads.customer(resolved.id),
        outcomes.guarded("subscriptions", reads.subscriptions(resolved.id, plan))
        if plan.reads("subscriptions")
        else _skipped(),
        outcomes.guarded("payments", reads.payment_page(resolved.id, plan)) if plan.reads("payments") else _skipped(),
        outcomes.guarded("product_names", reads.product_names())
        if plan.reads("subscriptions") and plan.reads("product_names")
        else _skipped(),
    )
    if is_deleted(customer):
        raise NotFoundError(f"Stripe customer {resolved.id} was deleted; reload the ticket.")
    disputes = await _disputes(reads, payments.payments, plan, outcomes) if payments is not None else {}
    if subs is not None and names is not None:
        reads.missing_products(product_ids(subs) - set(names))
    data = PanelData(
        resolved=resolved,
        customer=customer_record(customer),
        test_mode=test_mode,
        payment_history_limit=payment_history_limit,
        subscriptions=_subscription_rows(subs, names) if subs is not None else None,
        payments=payments.payments if payments is not None else None,
        payments_next=next_payments_cursor(payments),
        unavailable=with_dependents(unavailable),
        failed=outcomes.failed,
        selection=selection,
        disputes=disputes,
    )
    return build_panel(data)
