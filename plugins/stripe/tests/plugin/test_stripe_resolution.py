"""The rule that picks a ticket's Stripe customer (see megadesk_stripe.resolution)."""

from __future__ import annotations

import pytest
import stripe_dicts as d
from fake_gateway import FakeGateway
from megadesk_stripe.gateway import MATCH_LIMIT
from megadesk_stripe.reads import PanelPlan
from megadesk_stripe.records import customer_record
from megadesk_stripe.resolution import Candidate, choose, customer_label, rank, resolve_customer

from megadesk_core.errors import InvalidInputError, NotFoundError, RateLimitedError, UpstreamUnavailableError
from megadesk_core.types import ResolvedCustomer, TicketContext


def _candidate(id: str, *, live: bool = False, paid: int | None = None, created: int = d.JAN_2_2024) -> Candidate:
    return Candidate(customer_record(d.to_customer(d.customer(id, created=created))), live, paid)


def test_rank_prefers_live_subscription_then_recent_payment_then_newest() -> None:
    old_paid = _candidate("cus_old_paid", paid=d.FEB_1_2024)
    recent_paid = _candidate("cus_recent_paid", paid=d.MAR_1_2024)
    subscribed = _candidate("cus_subscribed", live=True)
    newest = _candidate("cus_newest", created=d.MAR_1_2024)
    oldest = _candidate("cus_oldest")
    ranked = rank([oldest, old_paid, newest, subscribed, recent_paid])
    assert [c.customer.id for c in ranked] == [
        "cus_subscribed",
        "cus_recent_paid",
        "cus_old_paid",
        "cus_newest",
        "cus_oldest",
    ]


def test_choose_honours_a_selection_only_among_the_matches() -> None:
    best, other = _candidate("cus_best", live=True), _candidate("cus_other")
    chosen, others = choose([other, best], None)
    assert chosen is best
    assert others == [other]
    chosen, others = choose([other, best], "cus_other")
    assert chosen is other
    assert others == [best]
    chosen, _ = choose([other, best], "cus_somebody_else")
    assert chosen is best
    chosen, _ = choose([other, best], "javascript:alert(1)")
    assert chosen is best


def test_label() -> None:
    assert customer_label(customer_record(d.to_customer(d.customer()))) == (
        "Dana Scully · dana@example.test · created 2024-01-02"
    )
    nameless = customer_record(d.to_customer(d.customer(name=None, email=None)))
    assert customer_label(nameless) == "(no name) · (no email) · created 2024-01-02"


async def _resolve(gateway: FakeGateway, ticket: TicketContext) -> ResolvedCustomer | None:
    return await resolve_customer(gateway.reads(), ticket, PanelPlan(payment_history_limit=10), prefetch=False)


def _ticket(**kwargs: object) -> TicketContext:
    return TicketContext.model_validate({"ticket_id": "T-1", **kwargs})


async def test_verified_uses_the_custom_data_customer_only() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_V", email="someone@example.test"))
    gateway.add_customer(d.customer("cus_E", email="dana@example.test"))
    resolved = await _resolve(
        gateway,
        _ticket(requester_email="dana@example.test", custom_data={"customerId": "cus_V"}, selection="cus_E"),
    )
    assert resolved is not None
    assert (resolved.id, resolved.verified, resolved.matched_by, resolved.alternatives) == (
        "cus_V",
        True,
        "custom_data",
        [],
    )
    assert [name for name, _ in gateway.calls] == ["retrieve_customer"]


@pytest.mark.parametrize("customer_id", ["cus_missing", "cus_gone"])
async def test_verified_unknown_or_deleted_is_an_error_not_an_email_fallback(customer_id: str) -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.deleted_customer("cus_gone"))
    gateway.add_customer(d.customer("cus_E"))
    with pytest.raises(NotFoundError) as caught:
        await _resolve(gateway, _ticket(requester_email="dana@example.test", custom_data={"customerId": customer_id}))
    assert customer_id in caught.value.message
    assert "customers_with_email" not in [name for name, _ in gateway.calls]


@pytest.mark.parametrize("bad", [None, 42, "", "pi_123", "cus_../../v1/charges", "cus_x?expand=y"])
async def test_verified_id_must_look_like_a_customer_id(bad: object) -> None:
    gateway = FakeGateway()
    with pytest.raises(InvalidInputError):
        await _resolve(gateway, _ticket(custom_data={"customerId": bad}))
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ("PAT.DOE@EXAMPLE.COM", "PAT.DOE@EXAMPLE.COM"),
        ("Pat.Doe@example.com", "pat.doe@example.com"),
        ("pat.doe@example.com", "Pat.Doe@Example.COM"),
    ],
)
async def test_email_lookup_finds_a_customer_stored_in_another_letter_case(stored: str, sent: str) -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_case", email=stored))
    resolved = await _resolve(gateway, _ticket(requester_email=f" {sent} "))
    assert resolved is not None
    assert (resolved.id, resolved.verified, resolved.matched_by) == ("cus_case", False, "email")
    # Search and the exact list, together (one round trip), with the address as sent.
    assert sorted(gateway.calls) == [("customers_with_email", (sent,)), ("search_customers_by_email", (sent,))]


async def test_a_customer_search_cannot_see_yet_is_found_by_the_exact_list() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_new", email="New@example.test"))
    gateway.failing["search_customers_by_email"] = RateLimitedError("Stripe Search: too many requests", retry_after=1)
    resolved = await _resolve(gateway, _ticket(requester_email="New@example.test"))
    assert resolved is not None and resolved.id == "cus_new"


async def test_without_search_the_lowercased_address_is_listed_too() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_lower", email="dana.case@example.test"))
    gateway.failing["search_customers_by_email"] = UpstreamUnavailableError("Search is down")
    resolved = await _resolve(gateway, _ticket(requester_email="Dana.Case@Example.TEST"))
    assert resolved is not None and resolved.id == "cus_lower"
    assert [args for name, args in gateway.calls if name == "customers_with_email"] == [
        ("Dana.Case@Example.TEST",),
        ("dana.case@example.test",),
    ]


async def test_more_matches_than_ever_shown_stop_at_the_bound() -> None:
    gateway = FakeGateway()
    for n in range(MATCH_LIMIT + 5):
        gateway.add_customer(d.customer(f"cus_{n:03d}", email="many@example.test", created=d.MAR_1_2024 + n))
    resolved = await _resolve(gateway, _ticket(requester_email="many@example.test"))
    assert resolved is not None
    assert len(resolved.alternatives) == MATCH_LIMIT - 1


async def test_several_matches_rank_and_list_alternatives() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_new", email="Pat@example.test", name="Pat New", created=d.MAR_1_2024))
    gateway.add_customer(d.customer("cus_sub", email="pat@example.test", name="Pat Sub"))
    gateway.add_customer(d.customer("cus_paid", email="pat@example.test", name="Pat Paid"))
    gateway.add_subscription(d.subscription("sub_1", customer="cus_sub"))
    gateway.add_payment(d.payment_intent("pi_1", customer="cus_paid"))
    resolved = await _resolve(gateway, _ticket(requester_email="Pat@example.test"))
    assert resolved is not None
    assert resolved.id == "cus_sub"
    assert [c.id for c in resolved.alternatives] == ["cus_paid", "cus_new"]
    assert resolved.alternatives[0].label.startswith("Pat Paid · pat@example.test · created")
    assert resolved.alternatives[0].description == "no live subscription · last payment 2024-02-01"

    switched = await _resolve(gateway, _ticket(requester_email="Pat@example.test", selection="cus_new"))
    assert switched is not None
    assert switched.id == "cus_new"
    assert not switched.verified
    assert [c.id for c in switched.alternatives] == ["cus_sub", "cus_paid"]


async def test_selection_outside_the_matches_is_never_looked_up() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_a", email="pat@example.test"))
    gateway.add_customer(d.customer("cus_b", email="pat@example.test"))
    gateway.add_customer(d.customer("cus_victim", email="victim@example.test"))
    resolved = await _resolve(gateway, _ticket(requester_email="pat@example.test", selection="cus_victim"))
    assert resolved is not None
    assert resolved.id in {"cus_a", "cus_b"}
    assert all("cus_victim" not in args for _, args in gateway.calls)


async def test_a_canceled_subscription_does_not_count_as_live() -> None:
    gateway = FakeGateway()
    gateway.add_customer(d.customer("cus_canceled", email="pat@example.test", created=d.MAR_1_2024))
    gateway.add_customer(d.customer("cus_active", email="pat@example.test"))
    gateway.add_subscription(d.subscription("sub_c", customer="cus_canceled", status="canceled"))
    gateway.add_subscription(d.subscription("sub_a", customer="cus_active", status="past_due"))
    resolved = await _resolve(gateway, _ticket(requester_email="pat@example.test"))
    assert resolved is not None
    assert resolved.id == "cus_active"


async def test_ranking_without_permissions_still_resolves() -> None:
    gateway = FakeGateway(denied={"subscriptions", "payment_intents"})
    gateway.add_customer(d.customer("cus_old", email="pat@example.test"))
    gateway.add_customer(d.customer("cus_new", email="pat@example.test", created=d.MAR_1_2024))
    resolved = await _resolve(gateway, _ticket(requester_email="pat@example.test"))
    assert resolved is not None
    assert resolved.id == "cus_new"


async def test_no_email_no_custom_data_is_no_match() -> None:
    gateway = FakeGateway()
    assert await _resolve(gateway, _ticket()) is None
    assert gateway.calls == []
