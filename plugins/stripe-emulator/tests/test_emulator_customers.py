"""Customers through stripe-python: CRUD, the exact email filter, pagination, search."""

from __future__ import annotations

import time

import pytest
import stripe
from stripe_emulator.server import EmulatorHandle


def test_create_and_retrieve_have_current_shape(client: stripe.StripeClient) -> None:
    before = int(time.time())
    created = client.v1.customers.create(
        params={
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "description": "VIP",
            "balance": -500,
            "metadata": {"ticket": "T-1"},
        }
    )
    assert created.id.startswith("cus_") and len(created.id) == 18
    assert created.object == "customer"
    assert created.livemode is False
    assert before <= created.created <= int(time.time())
    assert (created.email, created.name, created.description, created.balance) == (
        "ada@example.com",
        "Ada Lovelace",
        "VIP",
        -500,
    )
    assert created.metadata.to_dict() == {"ticket": "T-1"}
    # Placeholders from Stripe's fixture must not leak into a fresh object.
    assert created.discount is None
    assert created.invoice_settings.default_payment_method is None
    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()


def test_email_and_name_may_be_null(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create()
    assert created.email is None and created.name is None


def test_update_merges_and_unsets_metadata(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com", "metadata": {"a": "1", "b": "2"}})
    updated = client.v1.customers.update(customer.id, params={"name": "New", "metadata": {"a": "", "c": "3"}})
    assert updated.name == "New"
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    cleared = client.v1.customers.update(customer.id, params={"metadata": "", "email": ""})
    assert cleared.metadata.to_dict() == {}
    assert cleared.email is None


def test_delete_returns_stub_and_retrieve_keeps_answering_deleted(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "gone@example.com"})
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    again = client.v1.customers.retrieve(customer.id)
    assert again.to_dict()["deleted"] is True
    assert client.v1.customers.list(params={"email": "gone@example.com"}).data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.update(customer.id, params={"name": "x"})
    assert caught.value.code == "resource_missing"


def test_list_email_filter_is_exact_and_case_sensitive(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "Mixed@Example.com"})
    client.v1.customers.create(params={"email": "mixed@example.com.au"})
    assert client.v1.customers.list(params={"email": "mixed@example.com"}).data == []
    found = client.v1.customers.list(params={"email": "Mixed@Example.com"}).data
    assert [c.email for c in found] == ["Mixed@Example.com"]


def test_list_is_newest_first_with_cursor_pagination(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(13)]
    first = client.v1.customers.list()
    assert len(first.data) == 10 and first.has_more is True
    assert [c.id for c in first.data] == ids[::-1][:10]
    second = client.v1.customers.list(params={"starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == ids[::-1][10:]
    assert second.has_more is False
    before = client.v1.customers.list(params={"ending_before": ids[0], "limit": 2})
    assert [c.id for c in before.data] == [ids[2], ids[1]] and before.has_more is True
    walked = [c.id for c in client.v1.customers.list(params={"limit": 4}).auto_paging_iter()]
    assert walked == ids[::-1]


def test_list_limit_bounds(client: stripe.StripeClient) -> None:
    client.v1.customers.create()
    assert len(client.v1.customers.list(params={"limit": 100}).data) == 1
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.list(params={"limit": 101})
    assert caught.value.param == "limit"


def test_search_by_email_returns_search_result(client: stripe.StripeClient, emulator: EmulatorHandle) -> None:
    older = client.v1.customers.create(params={"email": "shared@example.com", "name": "Old"})
    newer = client.v1.customers.create(params={"email": "Shared@Example.com", "name": "New"})
    client.v1.customers.create(params={"email": "other@example.com"})
    result = client.v1.customers.search(params={"query": "email:'shared@example.com'"})
    assert result.object == "search_result"
    assert [c.id for c in result.data] == [newer.id, older.id]
    assert result.has_more is False
    assert result.next_page is None
    assert result.url == "/v1/customers/search"
    by_name = client.v1.customers.search(params={"query": "name:'old' OR name:'nobody'"})
    assert [c.id for c in by_name.data] == [older.id]


def test_search_pages_with_next_page(client: stripe.StripeClient) -> None:
    for i in range(3):
        client.v1.customers.create(params={"email": f"p{i}@example.com", "metadata": {"team": "x"}})
    first = client.v1.customers.search(params={"query": "metadata['team']:'x'", "limit": 2})
    assert len(first.data) == 2 and first.has_more and first.next_page
    rest = client.v1.customers.search(params={"query": "metadata['team']:'x'", "limit": 2, "page": first.next_page})
    assert len(rest.data) == 1 and rest.next_page is None


def test_bad_search_query_is_invalid_request(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.search(params={"query": "email = x"})
    assert caught.value.param == "query"


def test_unknown_parameter(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params={"email": "a@example.com", "foo": "bar"})
    error = caught.value
    assert error.http_status == 400
    assert error.code == "parameter_unknown"
    assert error.param == "foo"
    assert error.user_message == "Received unknown parameter: foo"
    assert client.v1.customers.list().data == [], "a rejected request must not create anything"


def test_invalid_email(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params={"email": "not an email"})
    assert caught.value.param == "email"
    with pytest.raises(stripe.CardError):
        client.v1.customers.create(params={"email": "ok@example.com", "payment_method": "pm_card_chargeDeclined"})
    assert client.v1.customers.list().data == [], "refused requests must not leave customers behind"


def test_create_with_payment_method_attaches_it(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "card@example.com", "payment_method": "pm_card_visa"})
    methods = client.v1.customers.payment_methods.list(customer.id).data
    assert len(methods) == 1 and methods[0].customer == customer.id
    # Like Stripe, attaching does not make it the default.
    assert customer.invoice_settings.default_payment_method is None
    updated = client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": methods[0].id}}
    )
    assert updated.invoice_settings.default_payment_method == methods[0].id


def test_unknown_customer_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_doesnotexist")
    error = caught.value
    assert error.http_status == 404
    assert error.code == "resource_missing"
    assert error.param == "id"
    assert error.user_message == "No such customer: 'cus_doesnotexist'"
    assert error.request_id and error.request_id.startswith("req_")


@pytest.mark.asyncio
async def test_async_create_list_search(aclient: stripe.StripeClient) -> None:
    created = await aclient.v1.customers.create_async(params={"email": "async@example.com", "name": "A"})
    page = await aclient.v1.customers.list_async(params={"email": "async@example.com"})
    assert [c.id for c in page.data] == [created.id]
    found = await aclient.v1.customers.search_async(params={"query": "email:'async@example.com'"})
    assert [c.id for c in found.data] == [created.id]
    await aclient.v1.customers.delete_async(created.id)
    assert (await aclient.v1.customers.retrieve_async(created.id)).to_dict()["deleted"] is True


def test_search_email_in_double_quotes_matches_any_letter_case(client: stripe.StripeClient) -> None:
    # Stripe's query language: `:` is an exact, case-insensitive match; `~` a substring (3+ chars);
    # values in single or double quotes, a quote inside escaped with a backslash.
    stored = client.v1.customers.create(params={"email": "PAT.DOE@EXAMPLE.COM"})
    client.v1.customers.create(params={"email": "pat.doe@example.com.au"})
    exact = client.v1.customers.search(params={"query": 'email:"pat.doe@example.com"'})
    assert [c.id for c in exact.data] == [stored.id]
    assert len(client.v1.customers.search(params={"query": 'email~"PAT.DOE"'}).data) == 2
    quoted = client.v1.customers.search(params={"query": 'email:"o\\"brien@example.com"'})
    assert quoted.data == []
