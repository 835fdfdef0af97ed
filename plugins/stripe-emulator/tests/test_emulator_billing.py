"""Products, prices, subscriptions, invoices and invoice payments through stripe-python."""

from __future__ import annotations

import httpx
import pytest
import stripe
from stripe_emulator.server import EmulatorHandle


@pytest.fixture
def price(client: stripe.StripeClient) -> stripe.Price:
    return client.v1.prices.create(
        params={
            "product_data": {"name": "Pro plan"},
            "unit_amount": 2900,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "nickname": "Pro monthly",
        }
    )


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    customer = client.v1.customers.create(params={"email": "sub@example.com", "name": "Subscriber"})
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    return customer


def subscribe(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price, **extra: object
) -> stripe.Subscription:
    return client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}], **extra})


def test_products_and_prices(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": "Seats", "metadata": {"sku": "S1"}})
    assert product.id.startswith("prod_") and product.name == "Seats" and product.active is True
    one_off = client.v1.prices.create(params={"product": product.id, "unit_amount": 500, "currency": "usd"})
    assert (one_off.type, one_off.recurring, one_off.unit_amount_decimal) == ("one_time", None, 500)
    fetched = client.v1.prices.retrieve(one_off.id, params={"expand": ["product"]})
    assert isinstance(fetched.product, stripe.Product) and fetched.product.name == "Seats"
    assert [p.id for p in client.v1.prices.list(params={"product": product.id}).data] == [one_off.id]
    assert [p.id for p in client.v1.products.list().data] == [product.id]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.prices.create(params={"unit_amount": 500, "currency": "usd"})
    assert caught.value.param == "product"


def test_price_from_product_data(price: stripe.Price, client: stripe.StripeClient) -> None:
    assert price.recurring is not None
    assert (price.recurring.interval, price.recurring.interval_count) == ("month", 1)
    assert (price.type, price.unit_amount, price.nickname) == ("recurring", 2900, "Pro monthly")
    assert client.v1.products.retrieve(str(price.product)).name == "Pro plan"


def test_subscription_create_pays_first_invoice_through_invoice_payment(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    sub = subscribe(client, customer, price, metadata={"ticket": "T-1"})
    assert sub.status == "active"
    assert sub.customer == customer.id
    assert sub.metadata.to_dict() == {"ticket": "T-1"}
    assert sub.cancel_at_period_end is False and sub.cancel_at is None
    raw = sub.to_dict()
    assert "current_period_start" not in raw and "current_period_end" not in raw
    item = sub["items"].data[0]
    assert item.price.id == price.id and item.quantity == 1
    assert item.current_period_start == sub.start_date == sub.created
    assert 28 * 86400 <= item.current_period_end - item.current_period_start <= 31 * 86400

    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert (invoice.status, invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (
        "paid",
        2900,
        2900,
        0,
    )
    assert invoice.billing_reason == "subscription_create"
    assert invoice.customer == customer.id and invoice.customer_email == "sub@example.com"
    assert invoice.parent is not None and invoice.parent.subscription_details is not None
    assert invoice.parent.subscription_details.subscription == sub.id
    raw_invoice = invoice.to_dict()
    for gone in ("payment_intent", "charge", "subscription"):
        assert gone not in raw_invoice, f"invoice.{gone} is not part of the current API"
    assert invoice.lines.data[0].amount == 2900
    assert invoice.lines.data[0].period.end == item.current_period_end

    payments = client.v1.invoice_payments.list(params={"invoice": invoice.id})
    assert len(payments.data) == 1
    payment = payments.data[0]
    assert (payment.status, payment.amount_paid, payment.invoice) == ("paid", 2900, invoice.id)
    assert payment.payment.type == "payment_intent"
    intent = client.v1.payment_intents.retrieve(
        str(payment.payment.payment_intent), params={"expand": ["latest_charge"]}
    )
    assert (intent.status, intent.amount, intent.customer) == ("succeeded", 2900, customer.id)
    assert isinstance(intent.latest_charge, stripe.Charge) and intent.latest_charge.paid is True
    assert client.v1.invoice_payments.retrieve(payment.id).id == payment.id


def test_expansions_on_subscription(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    sub = subscribe(client, customer, price)
    expanded = client.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["latest_invoice", "items.data.price.product", "customer"]}
    )
    assert isinstance(expanded.latest_invoice, stripe.Invoice) and expanded.latest_invoice.status == "paid"
    product = expanded["items"].data[0].price.product
    assert isinstance(product, stripe.Product) and product.name == "Pro plan"
    assert isinstance(expanded.customer, stripe.Customer)
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice), params={"expand": ["payments"]})
    assert invoice.payments is not None and invoice.payments.data[0].payment.type == "payment_intent"
    listed = client.v1.subscriptions.list(params={"customer": customer.id, "expand": ["data.latest_invoice"]})
    assert isinstance(listed.data[0].latest_invoice, stripe.Invoice)
    with pytest.raises(stripe.InvalidRequestError) as deep:
        client.v1.subscriptions.list(params={"expand": ["data.items.data.price.product"]})
    assert "more than 4 levels" in str(deep.value.user_message)


def test_first_payment_uses_the_customers_card(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    attached = client.v1.customers.payment_methods.list(customer.id).data[0]
    sub = subscribe(client, customer, price)
    payment = client.v1.invoice_payments.list(params={"invoice": str(sub.latest_invoice)}).data[0]
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    assert intent.payment_method == attached.id


def test_default_incomplete_leaves_the_payment_to_the_client(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    sub = subscribe(client, customer, price, payment_behavior="default_incomplete")
    assert sub.status == "incomplete"
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert (invoice.status, invoice.amount_paid, invoice.attempted) == ("open", 0, False)
    payment = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0]
    assert payment.status == "open"
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    assert intent.status == "requires_payment_method" and intent.client_secret


def test_declined_first_payment_makes_an_incomplete_subscription(
    client: stripe.StripeClient, price: stripe.Price
) -> None:
    customer = client.v1.customers.create(params={"email": "fails@example.com"})
    client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
    sub = subscribe(client, customer, price)
    assert sub.status == "incomplete"
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert (invoice.status, invoice.attempted, invoice.attempt_count) == ("open", True, 1)


def test_trial_subscription(client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price) -> None:
    sub = subscribe(client, customer, price, trial_period_days=14)
    assert sub.status == "trialing"
    assert sub.trial_end is not None and sub.trial_start is not None
    assert sub.trial_end - sub.trial_start == 14 * 86400
    assert sub["items"].data[0].current_period_end == sub.trial_end
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice))
    assert (invoice.status, invoice.amount_due) == ("paid", 0)
    assert client.v1.invoice_payments.list(params={"invoice": invoice.id}).data == []


def test_subscription_validation(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    one_off = client.v1.prices.create(params={"product_data": {"name": "x"}, "unit_amount": 100, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": one_off.id}]})
    assert caught.value.param == "items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.subscriptions.create(params={"customer": "cus_nope", "items": [{"price": one_off.id}]})
    assert (missing.value.code, missing.value.param) == ("resource_missing", "customer")


def test_list_status_filter(client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price) -> None:
    keep = subscribe(client, customer, price)
    gone = subscribe(client, customer, price)
    client.v1.subscriptions.cancel(gone.id)
    default = client.v1.subscriptions.list(params={"customer": customer.id})
    assert [s.id for s in default.data] == [keep.id]
    everything = client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"})
    assert [s.id for s in everything.data] == [gone.id, keep.id]
    canceled = client.v1.subscriptions.list(params={"status": "canceled"})
    assert [s.id for s in canceled.data] == [gone.id]


def test_cancel_at_period_end_round_trip(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    sub = subscribe(client, customer, price)
    period_end = sub["items"].data[0].current_period_end
    leaving = client.v1.subscriptions.update(
        sub.id, params={"cancel_at_period_end": True, "metadata": {"why": "price"}}
    )
    assert leaving.cancel_at_period_end is True
    assert leaving.cancel_at == period_end
    assert leaving.status == "active"
    assert leaving.cancellation_details is not None
    assert leaving.cancellation_details.reason == "cancellation_requested"
    staying = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert (staying.cancel_at_period_end, staying.cancel_at) == (False, None)
    assert staying.metadata.to_dict() == {"why": "price"}


def test_subscription_created_to_cancel_at_period_end(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    sub = subscribe(client, customer, price, cancel_at_period_end=True)
    assert sub.cancel_at_period_end is True
    assert sub.cancel_at == sub["items"].data[0].current_period_end


def test_cancel_now_and_again(client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price) -> None:
    sub = subscribe(client, customer, price)
    canceled = client.v1.subscriptions.cancel(
        sub.id, params={"prorate": False, "invoice_now": False, "cancellation_details": {"comment": "moving"}}
    )
    assert canceled.status == "canceled"
    assert canceled.canceled_at is not None and canceled.ended_at is not None
    assert canceled.cancellation_details is not None and canceled.cancellation_details.comment == "moving"
    # Stripe answers a second cancellation as if the subscription were gone.
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.cancel(sub.id)
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
    assert caught.value.user_message == f"No such subscription: '{sub.id}'"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    renamed = client.v1.subscriptions.update(sub.id, params={"metadata": {"after": "yes"}})
    assert renamed.metadata.to_dict() == {"after": "yes"}


def test_deleting_customer_cancels_subscriptions(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    sub = subscribe(client, customer, price)
    client.v1.customers.delete(customer.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_past_due_through_control_endpoint(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price, http: httpx.Client
) -> None:
    sub = subscribe(client, customer, price)
    first_invoice = sub.latest_invoice
    old_end = sub["items"].data[0].current_period_end
    answer = http.post(f"/_emulator/subscriptions/{sub.id}/past_due")
    assert answer.status_code == 200
    assert answer.json()["subscription"]["status"] == "past_due"
    overdue = client.v1.subscriptions.retrieve(sub.id)
    assert overdue.status == "past_due"
    assert overdue.latest_invoice != first_invoice
    assert overdue["items"].data[0].current_period_end >= old_end
    invoice = client.v1.invoices.retrieve(str(overdue.latest_invoice))
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == ("open", 0, 2900)
    assert invoice.billing_reason == "subscription_cycle"
    assert invoice.attempted is True and invoice.next_payment_attempt is not None
    payment = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0]
    assert payment.status == "open"
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    assert intent.status == "requires_payment_method" and intent.last_payment_error is not None
    assert client.v1.customers.retrieve(customer.id).delinquent is True
    open_invoices = client.v1.invoices.list(params={"customer": customer.id, "status": "open"})
    assert [i.id for i in open_invoices.data] == [invoice.id]
    by_sub = client.v1.invoices.list(params={"subscription": sub.id})
    assert [i.id for i in by_sub.data] == [invoice.id, first_invoice]


def test_advance_renews_and_collects(
    client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price, http: httpx.Client
) -> None:
    sub = subscribe(client, customer, price)
    answer = http.post(f"/_emulator/subscriptions/{sub.id}/advance", json={"outcome": "paid"})
    assert answer.status_code == 200
    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert renewed.status == "active"
    assert isinstance(renewed.latest_invoice, stripe.Invoice)
    assert (renewed.latest_invoice.status, renewed.latest_invoice.billing_reason) == ("paid", "subscription_cycle")
    assert len(client.v1.invoices.list(params={"customer": customer.id}).data) == 2
    for endpoint in ("advance", "past_due"):
        missing = http.post(f"/_emulator/subscriptions/sub_nope/{endpoint}")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "No such subscription: 'sub_nope'"
    assert http.post(f"/_emulator/subscriptions/{sub.id}/advance", json={"outcome": "maybe"}).status_code == 400


def test_past_due_python_api(
    emulator: EmulatorHandle, client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price
) -> None:
    from stripe_emulator.ids import now
    from stripe_emulator.services import billing

    sub = subscribe(client, customer, price)
    with emulator.store.lock:
        billing.advance(emulator.store, emulator.store.require("subscription", sub.id), at=now(), outcome="failed")
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"


@pytest.mark.asyncio
async def test_async_subscription_flow(aclient: stripe.StripeClient) -> None:
    customer = await aclient.v1.customers.create_async(params={"email": "a-sub@example.com"})
    price = await aclient.v1.prices.create_async(
        params={
            "product_data": {"name": "Async"},
            "unit_amount": 1000,
            "currency": "usd",
            "recurring": {"interval": "year"},
        }
    )
    sub = await aclient.v1.subscriptions.create_async(params={"customer": customer.id, "items": [{"price": price.id}]})
    item = sub["items"].data[0]
    assert 365 * 86400 <= item.current_period_end - item.current_period_start <= 366 * 86400
    page = await aclient.v1.subscriptions.list_async(params={"customer": customer.id, "limit": 5})
    assert [s.id for s in page.data] == [sub.id]
    updated = await aclient.v1.subscriptions.update_async(sub.id, params={"cancel_at_period_end": True})
    assert updated.cancel_at == item.current_period_end
    canceled = await aclient.v1.subscriptions.cancel_async(sub.id)
    assert canceled.status == "canceled"
    invoices = await aclient.v1.invoices.list_async(params={"subscription": sub.id})
    payments = await aclient.v1.invoice_payments.list_async(params={"invoice": invoices.data[0].id})
    assert payments.data[0].payment.payment_intent
