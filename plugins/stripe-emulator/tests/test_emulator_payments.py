"""PaymentMethods, PaymentIntents, Charges and Refunds through stripe-python."""

from __future__ import annotations

import pytest
import stripe
from emulator_helpers import CARD_ONLY, pay


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "payer@example.com", "name": "Payer"})


# -- payment methods ------------------------------------------------------------------------


def test_payment_method_from_token_and_attach(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    method = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_mastercard"}})
    assert method.id.startswith("pm_") and method.customer is None
    assert (method.card.brand, method.card.last4) == ("mastercard", "4444")
    attached = client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    assert attached.customer == customer.id
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [m.id for m in listed.data] == [method.id]
    assert client.v1.customers.payment_methods.retrieve(customer.id, method.id).id == method.id
    detached = client.v1.payment_methods.detach(method.id)
    assert detached.customer is None


def test_attaching_a_declining_card_is_a_card_error(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": customer.id})
    assert caught.value.code == "card_declined"
    assert caught.value.http_status == 402
    # 4000 0000 0000 0341 attaches fine and fails only when charged.
    ok = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
    assert ok.customer == customer.id


def test_raw_card_numbers_and_unknown_tokens_are_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raw:
        client.v1.payment_methods.create(params={"type": "card", "card": {"number": "4242424242424242"}})
    assert raw.value.param == "card[number]"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_nope"}})
    assert unknown.value.code == "resource_missing"


# -- payment intents ------------------------------------------------------------------------


def test_succeeding_payment_has_latest_charge_and_no_charges_list(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    intent = pay(client, 2500, customer=customer.id, description="Order 7", metadata={"order": "7"})
    assert intent.status == "succeeded"
    assert intent.amount_received == 2500
    assert intent.latest_charge and str(intent.latest_charge).startswith("ch_")
    assert "charges" not in intent.to_dict(), "the embedded charges list is gone in the current API"
    assert intent.payment_method and str(intent.payment_method).startswith("pm_")
    assert intent.last_payment_error is None
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded, charge.refunded) == (2500, 2500, 0, False)
    assert (charge.payment_intent, charge.customer, charge.description) == (intent.id, customer.id, "Order 7")
    assert charge.metadata.to_dict() == {"order": "7"}
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.refunds.data == []


def test_expand_latest_charge_on_retrieve_and_list(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    intent = pay(client, customer=customer.id)
    fetched = client.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge", "customer"]})
    assert isinstance(fetched.latest_charge, stripe.Charge)
    assert fetched.latest_charge.amount == intent.amount
    assert isinstance(fetched.customer, stripe.Customer) and fetched.customer.email == "payer@example.com"
    page = client.v1.payment_intents.list(params={"customer": customer.id, "expand": ["data.latest_charge"]})
    assert isinstance(page.data[0].latest_charge, stripe.Charge)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.list(params={"expand": ["latest_charge"]})
    assert "data.latest_charge" in str(caught.value.user_message)


def test_declined_card_is_402_with_failed_charge(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    with pytest.raises(stripe.CardError) as caught:
        pay(client, 1500, customer=customer.id, card="pm_card_chargeDeclined")
    error = caught.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.error is not None
    assert error.error.type == "card_error"
    assert error.error.decline_code == "generic_decline"
    intent_id = error.error.payment_intent.id
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.type == "card_error"
    assert intent.last_payment_error.code == "card_declined"
    assert intent.last_payment_error.decline_code == "generic_decline"
    assert intent.payment_method is None
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.status, charge.paid, charge.failure_code) == ("failed", False, "card_declined")
    assert charge.outcome.type == "issuer_declined"


def test_other_decline_codes(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as caught:
        pay(client, card="pm_card_chargeDeclinedInsufficientFunds")
    assert caught.value.error is not None and caught.value.error.decline_code == "insufficient_funds"
    with pytest.raises(stripe.CardError) as expired:
        pay(client, card="pm_card_chargeDeclinedExpiredCard")
    assert expired.value.code == "expired_card"


def test_create_without_confirm_then_confirm_and_cancel(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    intent = client.v1.payment_intents.create(params={"amount": 900, "currency": "eur", "customer": customer.id})
    assert intent.status == "requires_payment_method"
    assert intent.automatic_payment_methods.enabled is True
    confirmed = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa", "return_url": "https://example.com/done"}
    )
    assert confirmed.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.cancel(intent.id)
    assert caught.value.code == "payment_intent_unexpected_state"
    other = client.v1.payment_intents.create(params={"amount": 900, "currency": "eur"})
    canceled = client.v1.payment_intents.cancel(other.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")


def test_confirming_with_redirects_allowed_needs_return_url(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
    assert caught.value.param == "return_url"
    assert client.v1.payment_intents.list().data == []
    ok = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "off_session": True,
            "payment_method_types": ["card"],
        }
    )
    assert ok.status == "succeeded" and ok.automatic_payment_methods is None


def test_amount_and_currency_validation(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.create(params={"currency": "usd"})
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as small:
        client.v1.payment_intents.create(params={"amount": 10, "currency": "usd"})
    assert small.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as currency:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "xyz"})
    assert currency.value.param == "currency"


def test_list_filters_newest_first(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    first = pay(client, customer=customer.id)
    second = pay(client, customer=customer.id)
    pay(client)
    page = client.v1.payment_intents.list(params={"customer": customer.id})
    assert [i.id for i in page.data] == [second.id, first.id]
    limited = client.v1.payment_intents.list(params={"customer": customer.id, "limit": 1})
    assert limited.has_more is True
    after = client.v1.payment_intents.list(params={"customer": customer.id, "starting_after": second.id})
    assert [i.id for i in after.data] == [first.id]
    charges = client.v1.charges.list(params={"customer": customer.id})
    assert {c.payment_intent for c in charges.data} == {first.id, second.id}
    by_intent = client.v1.charges.list(params={"payment_intent": first.id})
    assert [c.id for c in by_intent.data] == [first.latest_charge]


# -- refunds --------------------------------------------------------------------------------


def test_full_refund_by_default(client: stripe.StripeClient) -> None:
    intent = pay(client, 3000)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "reason": "requested_by_customer"})
    assert (refund.amount, refund.status, refund.reason) == (3000, "succeeded", "requested_by_customer")
    assert (refund.payment_intent, refund.charge) == (intent.id, intent.latest_charge)
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    assert [r.id for r in charge.refunds.data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert caught.value.http_status == 400
    assert caught.value.code == "charge_already_refunded"


def test_partial_refunds_add_up(client: stripe.StripeClient) -> None:
    intent = pay(client, 5000)
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2000, "metadata": {"t": "T-9"}})
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (2000, False)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 3001})
    assert caught.value.code == "amount_too_large"
    assert caught.value.param == "amount"
    assert "($30.01)" in str(caught.value.user_message) and "($30.00)" in str(caught.value.user_message)
    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 3000
    charge = client.v1.charges.retrieve(charge.id)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    refunds = client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.amount for r in refunds.data] == [3000, 2000]
    assert client.v1.refunds.retrieve(refunds.data[1].id).metadata.to_dict() == {"t": "T-9"}


def test_refund_messages_use_zero_decimal_amounts_for_jpy(client: stripe.StripeClient) -> None:
    intent = pay(client, 5000, currency="jpy", card="pm_card_jp")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 6000})
    assert "(¥6,000)" in str(caught.value.user_message) and "(¥5,000)" in str(caught.value.user_message)


def test_refund_needs_a_successful_charge(client: stripe.StripeClient) -> None:
    pending = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": pending.id})
    assert caught.value.http_status == 400
    assert caught.value.error is not None and caught.value.error.type == "invalid_request_error"
    assert caught.value.user_message == "This PaymentIntent does not have a successful charge to refund."
    with pytest.raises(stripe.CardError) as declined:
        pay(client, card="pm_card_chargeDeclined")
    assert declined.value.error is not None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": declined.value.error.payment_intent.id})
    with pytest.raises(stripe.InvalidRequestError) as neither:
        client.v1.refunds.create()
    assert neither.value.code == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.create(params={"payment_intent": "pi_nope"})
    assert (missing.value.http_status, missing.value.param) == (404, "payment_intent")


@pytest.mark.asyncio
async def test_async_payment_and_refund(aclient: stripe.StripeClient) -> None:
    intent = await aclient.v1.payment_intents.create_async(
        params={"amount": 1200, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True, **CARD_ONLY}
    )
    refund = await aclient.v1.refunds.create_async(params={"payment_intent": intent.id, "amount": 200})
    charge = await aclient.v1.charges.retrieve_async(str(intent.latest_charge))
    assert (refund.amount, charge.amount_refunded) == (200, 200)
    page = await aclient.v1.refunds.list_async(params={"charge": charge.id})
    assert [r.id for r in page.data] == [refund.id]
