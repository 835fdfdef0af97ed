"""How a ticket finds its Stripe customer.

1. **Verified.** The ticket's Custom Data for Stripe names the customer
   (``{"customerId": "cus_..."}``). That customer is used, ``verified=True``. An id Stripe does
   not know, or a deleted customer, is an error (``NotFoundError``), never a fall back to email.
2. **By email, unverified.** Otherwise the customers whose email is the ticket's requester
   email in any letter case (:func:`customers_with_email`: Stripe Search and the exact list
   filter, on one round trip), merged and de-duplicated, at most
   :data:`~megadesk_stripe.gateway.MATCH_LIMIT`; deleted customers are skipped.
   ``verified=False``, ``matched_by="email"``.
3. **Several matches** are ranked by :data:`RANKING_RULE`: a live (active, trialing or
   past_due) subscription first, then the most recent payment, then the newest customer. The
   first is shown, the others are ``alternatives``.
4. **The agent's switch.** ``ticket.selection`` picks another match; it must be the id of one
   of the matches. Anything else is ignored (the best match is shown and the panel says so):
   a selection is never used to look up an arbitrary customer.
5. **No match**: ``None`` (the panel says nobody matched; not an error).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe

from megadesk_core.errors import (
    ActionRefusedError,
    InvalidInputError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from megadesk_core.types import CustomerCandidate, ResolvedCustomer, TicketContext
from megadesk_stripe.gateway import MATCH_LIMIT, StripeGateway
from megadesk_stripe.reads import PanelPlan, StripeReads
from megadesk_stripe.records import (
    LIVE_SUBSCRIPTION_STATUSES,
    CustomerRecord,
    SubscriptionFields,
    customer_record,
    is_deleted,
)

CUSTOMER_ID_KEY = "customerId"
RANKING_RULE = (
    "a live (active, trialing or past due) subscription first, then the most recent payment, "
    "then the most recently created customer"
)
_CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9]{1,250}$")


@dataclass(frozen=True)
class Candidate:
    customer: CustomerRecord
    has_live_subscription: bool = False
    last_payment_at: int | None = None


def day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


def customer_label(customer: CustomerRecord) -> str:
    """``"Dana Scully · dana@example.com · created 2024-01-02"``."""
    return " · ".join(
        [customer.name or "(no name)", customer.email or "(no email)", f"created {day(customer.created)}"]
    )


def candidate_description(candidate: Candidate) -> str:
    subscription = "live subscription" if candidate.has_live_subscription else "no live subscription"
    paid = f"last payment {day(candidate.last_payment_at)}" if candidate.last_payment_at else "no payments"
    return f"{subscription} · {paid}"


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best match first, by :data:`RANKING_RULE` (ties broken by id, for a stable order)."""
    return sorted(
        candidates,
        key=lambda c: (
            c.has_live_subscription,
            c.last_payment_at is not None,
            c.last_payment_at or 0,
            c.customer.created,
            c.customer.id,
        ),
        reverse=True,
    )


def choose(candidates: list[Candidate], selection: str | None) -> tuple[Candidate, list[Candidate]]:
    """The candidate to show and the others, honouring the agent's selection only when it is
    one of ``candidates``. ``candidates`` must not be empty."""
    ranked = rank(candidates)
    chosen = next((c for c in ranked if c.customer.id == selection), ranked[0])
    return chosen, [c for c in ranked if c is not chosen]


def resolved(chosen: Candidate, others: list[Candidate]) -> ResolvedCustomer:
    return ResolvedCustomer(
        id=chosen.customer.id,
        verified=False,
        label=customer_label(chosen.customer),
        matched_by="email",
        alternatives=[
            CustomerCandidate(id=c.customer.id, label=customer_label(c.customer), description=candidate_description(c))
            for c in others
        ],
    )


async def resolve_verified(reads: StripeReads, customer_id: object, plan: PanelPlan | None) -> ResolvedCustomer:
    if not isinstance(customer_id, str) or not _CUSTOMER_ID.match(customer_id):
        raise InvalidInputError(
            f"The ticket's Stripe Custom Data has {CUSTOMER_ID_KEY}={str(customer_id)[:60]!r}, which is "
            "not a Stripe customer id (cus_...). Fix the Custom Data the ticket was created with."
        )
    if plan is not None:
        reads.start_panel(customer_id, plan)  # the panel's reads ride along with the customer's
    try:
        customer = await reads.customer(customer_id)
    except NotFoundError:
        raise NotFoundError(
            f"The ticket names Stripe customer {customer_id}, which this Stripe account does not have "
            "(another account, or test data on a live key?). Check the ticket's Custom Data."
        ) from None
    if is_deleted(customer):
        raise NotFoundError(f"The ticket names Stripe customer {customer_id}, which was deleted in Stripe.")
    return ResolvedCustomer(id=customer.id, verified=True, label=customer_label(customer_record(customer)))


async def _candidate(reads: StripeReads, customer: CustomerRecord, plan: PanelPlan) -> Candidate:
    """Rank by the same reads the panel shows, so the chosen one's panel costs nothing more."""

    async def live_subscription() -> bool:
        if not plan.reads("subscriptions"):
            return False
        try:
            subscriptions = await reads.subscriptions(customer.id, plan)
        except MissingPermissionError:
            return False  # rank without it rather than fail the lookup
        return any(isinstance(s, SubscriptionFields) and s.status in LIVE_SUBSCRIPTION_STATUSES for s in subscriptions)

    async def last_payment() -> int | None:
        if not plan.reads("payments"):
            return None
        try:
            payments = await reads.payments(customer.id, plan.first_page)
        except MissingPermissionError:
            return None
        return max((p.created for p in payments), default=None)

    has_live, paid_at = await asyncio.gather(live_subscription(), last_payment())
    return Candidate(customer, has_live_subscription=has_live, last_payment_at=paid_at)


async def customers_with_email(gateway: StripeGateway, email: str) -> list[stripe.Customer]:
    """The customers whose email is ``email`` in any letter case, on one round trip: Search
    (case-insensitive, but lagging writes by up to a minute) alongside the exact list filter
    (case-sensitive, but immediate, so a customer created a moment ago is found as written).
    When Search cannot answer (its own rate limit of 20 reads/s, an outage, an account without
    Search), the lower-cased address is listed as well: the case-sensitive lookup of before."""
    exact, searched = await asyncio.gather(
        gateway.customers_with_email(email), gateway.search_customers_by_email(email), return_exceptions=True
    )
    if isinstance(exact, BaseException):
        raise exact
    if not isinstance(searched, BaseException):
        return [*exact, *searched]
    if not isinstance(searched, (RateLimitedError, UpstreamUnavailableError, InvalidInputError, ActionRefusedError)):
        raise searched
    lowered = await gateway.customers_with_email(email.lower()) if email != email.lower() else []
    return [*exact, *lowered]


async def resolve_by_email(
    reads: StripeReads, email: str, selection: str | None, plan: PanelPlan, *, prefetch: bool
) -> ResolvedCustomer | None:
    if prefetch:
        reads.start_product_names(plan)  # the panel needs them whoever matches
    found: dict[str, CustomerRecord] = {}
    for customer in await customers_with_email(reads.gateway, email.strip()):
        if not is_deleted(customer) and customer.id not in found and len(found) < MATCH_LIMIT:
            found[customer.id] = customer_record(customer)
            reads.remember_customer(customer)
    if not found:
        return None
    others: list[Candidate] = []
    if len(found) == 1:
        chosen = Candidate(next(iter(found.values())))
    else:
        candidates = await asyncio.gather(*(_candidate(reads, c, plan) for c in found.values()))
        chosen, others = choose(list(candidates), selection)
    if prefetch:
        reads.start_panel(chosen.customer.id, plan)
    return resolved(chosen, others)


async def resolve_customer(
    reads: StripeReads, ticket: TicketContext, plan: PanelPlan, *, prefetch: bool
) -> ResolvedCustomer | None:
    """``prefetch``: the panel follows (not an action), so start its reads as early as possible."""
    if CUSTOMER_ID_KEY in ticket.custom_data:
        return await resolve_verified(reads, ticket.custom_data[CUSTOMER_ID_KEY], plan if prefetch else None)
    if not ticket.requester_email:
        return None
    return await resolve_by_email(reads, ticket.requester_email, ticket.selection, plan, prefetch=prefetch)
