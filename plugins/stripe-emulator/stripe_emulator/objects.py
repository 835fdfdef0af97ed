"""Builders for new API objects: a deep copy of Stripe's fixture with realistic values.

The fixtures carry placeholders (``created: 1234567890``, ``id: "obj_123"``, sample
sub-objects such as a discount on every customer). Each builder overwrites every field
whose placeholder would mislead a client, so a fresh object reads like one from a real
test-mode account. Builders only construct; storing and linking is the services' job.
"""

from __future__ import annotations

import copy
import hashlib
import string
from datetime import UTC, datetime
from typing import Any

from stripe_emulator.cards import Decline, TestCard
from stripe_emulator.fixtures import fixture
from stripe_emulator.ids import new_id, random_string
from stripe_emulator.keys import ACCOUNT_ID
from stripe_emulator.money import format_amount

JsonDict = dict[str, Any]

ACCOUNT_NAME = "Stripe Emulator"
STATEMENT_DESCRIPTOR = "STRIPE EMULATOR"

_EMPTY_ADDRESS: JsonDict = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


def _fingerprint(seed: str) -> str:
    # The same test card always has the same fingerprint, as in Stripe.
    digest = hashlib.sha256(seed.encode()).digest()
    alphabet = string.ascii_letters + string.digits
    return "".join(alphabet[b % len(alphabet)] for b in digest[:16])


def customer(
    *,
    created: int,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
    phone: str | None = None,
    metadata: dict[str, str] | None = None,
    balance: int = 0,
) -> JsonDict:
    obj = fixture("customer")
    obj.update(
        id=new_id("customer"),
        created=created,
        email=email,
        name=name,
        description=description,
        phone=phone,
        metadata=dict(metadata or {}),
        balance=balance,
        address=None,
        currency=None,
        default_source=None,
        delinquent=False,
        discount=None,
        invoice_prefix=random_string(8, string.ascii_uppercase + string.digits),
        next_invoice_sequence=1,
        preferred_locales=[],
        shipping=None,
        tax_exempt="none",
        test_clock=None,
        livemode=False,
    )
    obj["invoice_settings"].update(custom_fields=None, default_payment_method=None, footer=None, rendering_options=None)
    return obj


def deleted_customer(customer_id: str) -> JsonDict:
    obj = fixture("deleted_customer")
    obj["id"] = customer_id
    return obj


def payment_method(card: TestCard, *, created: int, customer: str | None = None) -> JsonDict:
    obj = fixture("payment_method")
    obj.update(
        id=new_id("payment_method", 24),
        created=created,
        customer=customer,
        metadata={},
        allow_redisplay="unspecified",
        livemode=False,
        type="card",
        billing_details={
            "address": dict(_EMPTY_ADDRESS),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
    )
    obj["card"].update(
        brand=card.brand,
        display_brand=card.brand,
        country=card.country,
        last4=card.last4,
        funding=card.funding,
        exp_month=12,
        exp_year=datetime.fromtimestamp(created, tz=UTC).year + 3,
        fingerprint=_fingerprint(card.name),
        generated_from=None,
        networks={"available": [card.brand], "preferred": None},
        three_d_secure_usage={"supported": True},
        wallet=None,
        regulated_status="unregulated",
        checks={
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "unchecked",
        },
    )
    return obj


def payment_intent(
    *,
    created: int,
    amount: int,
    currency: str,
    customer: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    payment_method: str | None = None,
    automatic_payment_methods: JsonDict | None = None,
    receipt_email: str | None = None,
    statement_descriptor: str | None = None,
) -> JsonDict:
    obj = fixture("payment_intent")
    pi_id = new_id("payment_intent", 24)
    obj.update(
        id=pi_id,
        created=created,
        amount=amount,
        amount_capturable=0,
        amount_details={"tip": {}},
        amount_received=0,
        application=None,
        application_fee_amount=None,
        automatic_payment_methods=automatic_payment_methods,
        canceled_at=None,
        cancellation_reason=None,
        capture_method="automatic_async",
        client_secret=f"{pi_id}_secret_{random_string(25)}",
        confirmation_method="automatic",
        currency=currency,
        customer=customer,
        description=description,
        last_payment_error=None,
        latest_charge=None,
        livemode=False,
        metadata=dict(metadata or {}),
        next_action=None,
        on_behalf_of=None,
        payment_method=payment_method,
        payment_method_configuration_details=(
            {"id": "pmc_" + random_string(24), "parent": None}
            if automatic_payment_methods and automatic_payment_methods.get("enabled")
            else None
        ),
        payment_method_options={
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        payment_method_types=["card"],
        processing=None,
        receipt_email=receipt_email,
        review=None,
        setup_future_usage=None,
        shipping=None,
        statement_descriptor=statement_descriptor,
        statement_descriptor_suffix=None,
        status="requires_payment_method" if payment_method is None else "requires_confirmation",
        transfer_data=None,
        transfer_group=None,
        source=None,
        excluded_payment_method_types=None,
        customer_account=None,
        managed_payments={"enabled": False},
    )
    return obj


def _outcome(decline: Decline | None) -> JsonDict:
    if decline is None:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "advice_code": "try_again_later",
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": decline.network_status,
        "reason": decline.decline_code,
        "risk_level": "normal",
        "risk_score": 32,
        "seller_message": decline.seller_message,
        "type": decline.outcome_type,
    }


def charge(
    *,
    created: int,
    intent: JsonDict,
    method: JsonDict,
    decline: Decline | None,
) -> JsonDict:
    """The Charge for one confirmation attempt: succeeded, or failed with ``decline``."""
    obj = fixture("charge")
    charge_id = new_id("charge", 24)
    ok = decline is None
    amount = int(intent["amount"])
    obj.update(
        id=charge_id,
        created=created,
        amount=amount,
        amount_captured=amount if ok else 0,
        amount_refunded=0,
        application=None,
        application_fee=None,
        application_fee_amount=None,
        balance_transaction=new_id("balance_transaction", 24) if ok else None,
        billing_details=copy.deepcopy(method["billing_details"]),
        calculated_statement_descriptor=STATEMENT_DESCRIPTOR,
        captured=ok,
        currency=intent["currency"],
        customer=intent["customer"],
        description=intent["description"],
        disputed=False,
        failure_balance_transaction=None,
        failure_code=decline.code if decline else None,
        failure_message=decline.message if decline else None,
        fraud_details={},
        livemode=False,
        metadata=dict(intent["metadata"]),
        on_behalf_of=None,
        outcome=_outcome(decline),
        paid=ok,
        payment_intent=intent["id"],
        payment_method=method["id"],
        receipt_email=intent.get("receipt_email"),
        receipt_number=None,
        receipt_url=(f"https://pay.stripe.com/receipts/payment/{random_string(64)}" if ok else None),
        refunded=False,
        refunds={
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        review=None,
        shipping=None,
        source_transfer=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="succeeded" if ok else "failed",
        transfer_data=None,
        transfer_group=None,
        source=None,
    )
    card = method["card"]
    obj["payment_method_details"]["card"].update(
        amount_authorized=amount if ok else None,
        brand=card["brand"],
        checks=dict(card["checks"]),
        country=card["country"],
        exp_month=card["exp_month"],
        exp_year=card["exp_year"],
        fingerprint=card["fingerprint"],
        funding=card["funding"],
        installments=None,
        last4=card["last4"],
        network=card["brand"],
        overcapture={"maximum_amount_capturable": amount, "status": "unavailable"},
        three_d_secure=None,
        wallet=None,
        authorization_code=random_string(6, string.digits) if ok else None,
        regulated_status="unregulated",
        network_transaction_id=random_string(15, string.digits) if ok else None,
    )
    return obj


def refund(
    *,
    created: int,
    charge: JsonDict,
    amount: int,
    reason: str | None,
    metadata: dict[str, str] | None,
) -> JsonDict:
    obj = fixture("refund")
    obj.update(
        id=new_id("refund", 24),
        created=created,
        amount=amount,
        balance_transaction=new_id("balance_transaction", 24),
        charge=charge["id"],
        currency=charge["currency"],
        destination_details={
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        metadata=dict(metadata or {}),
        payment_intent=charge["payment_intent"],
        reason=reason,
        receipt_number=None,
        source_transfer_reversal=None,
        status="succeeded",
        transfer_reversal=None,
        customer=charge["customer"],
        customer_account=None,
        payment_method=charge["payment_method"],
    )
    return obj


def product(
    *,
    created: int,
    name: str,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    active: bool = True,
) -> JsonDict:
    obj = fixture("product")
    obj.update(
        id=new_id("product"),
        created=created,
        updated=created,
        name=name,
        description=description,
        metadata=dict(metadata or {}),
        active=active,
        default_price=None,
        images=[],
        livemode=False,
        marketing_features=[],
        package_dimensions=None,
        shippable=None,
        statement_descriptor=None,
        tax_code=None,
        unit_label=None,
        url=None,
        type="service",
    )
    return obj


def price(
    *,
    created: int,
    product: str,
    unit_amount: int,
    currency: str,
    recurring: JsonDict | None = None,
    nickname: str | None = None,
    metadata: dict[str, str] | None = None,
    lookup_key: str | None = None,
    active: bool = True,
) -> JsonDict:
    obj = fixture("price")
    obj.update(
        id=new_id("price", 24),
        created=created,
        product=product,
        unit_amount=unit_amount,
        unit_amount_decimal=str(unit_amount),
        currency=currency,
        active=active,
        billing_scheme="per_unit",
        custom_unit_amount=None,
        livemode=False,
        lookup_key=lookup_key,
        metadata=dict(metadata or {}),
        nickname=nickname,
        recurring=(
            {
                "interval": recurring["interval"],
                "interval_count": recurring.get("interval_count") or 1,
                "meter": None,
                "usage_type": "licensed",
                "trial_period_days": None,
            }
            if recurring
            else None
        ),
        tax_behavior="unspecified",
        tiers_mode=None,
        transform_quantity=None,
        type="recurring" if recurring else "one_time",
    )
    return obj


def _plan(price_obj: JsonDict) -> JsonDict:
    """The legacy Plan view of a recurring price, which subscription items still carry."""
    plan: JsonDict = fixture("subscription_item")["plan"]
    recurring = price_obj["recurring"] or {}
    plan.update(
        id=price_obj["id"],
        active=price_obj["active"],
        amount=price_obj["unit_amount"],
        amount_decimal=price_obj["unit_amount_decimal"],
        billing_scheme="per_unit",
        created=price_obj["created"],
        currency=price_obj["currency"],
        interval=recurring.get("interval"),
        interval_count=recurring.get("interval_count"),
        livemode=False,
        metadata=dict(price_obj["metadata"]),
        meter=None,
        nickname=price_obj["nickname"],
        product=price_obj["product"],
        tiers_mode=None,
        transform_usage=None,
        trial_period_days=None,
        usage_type="licensed",
    )
    return plan


def subscription_item(
    *,
    created: int,
    subscription: str,
    price_obj: JsonDict,
    quantity: int,
    period_start: int,
    period_end: int,
    metadata: dict[str, str] | None = None,
) -> JsonDict:
    obj = fixture("subscription_item")
    obj.update(
        id=new_id("subscription_item"),
        created=created,
        subscription=subscription,
        price=copy.deepcopy(price_obj),
        plan=_plan(price_obj),
        quantity=quantity,
        metadata=dict(metadata or {}),
        discounts=[],
        tax_rates=[],
        current_period_start=period_start,
        current_period_end=period_end,
        billing_thresholds=None,
    )
    return obj


def subscription(
    *,
    created: int,
    customer: str,
    currency: str,
    status: str,
    default_payment_method: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    trial_start: int | None = None,
    trial_end: int | None = None,
) -> JsonDict:
    """A subscription without items; the billing service adds them (they need its id)."""
    obj = fixture("subscription")
    sub_id = new_id("subscription", 24)
    obj.update(
        id=sub_id,
        created=created,
        customer=customer,
        currency=currency,
        status=status,
        application=None,
        application_fee_percent=None,
        automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
        billing_cycle_anchor=trial_end or created,
        billing_cycle_anchor_config=None,
        cancel_at=None,
        cancel_at_period_end=False,
        canceled_at=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        collection_method="charge_automatically",
        days_until_due=None,
        default_payment_method=default_payment_method,
        default_source=None,
        default_tax_rates=[],
        description=description,
        discounts=[],
        ended_at=None,
        items={
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        latest_invoice=None,
        livemode=False,
        metadata=dict(metadata or {}),
        next_pending_invoice_item_invoice=None,
        on_behalf_of=None,
        pause_collection=None,
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        pending_invoice_item_interval=None,
        pending_setup_intent=None,
        pending_update=None,
        schedule=None,
        start_date=created,
        test_clock=None,
        transfer_data=None,
        trial_start=trial_start,
        trial_end=trial_end,
        trial_settings={"end_behavior": {"missing_payment_method": "create_invoice"}},
        billing_thresholds=None,
        billing_mode={"type": "classic", "flexible": None, "updated_at": None},
        customer_account=None,
        managed_payments={"enabled": False},
        billing_schedules=[],
    )
    obj["invoice_settings"].update(
        account_tax_ids=None,
        issuer={"type": "self"},
        custom_fields=None,
        description=None,
        footer=None,
    )
    return obj


def invoice_line(
    *,
    invoice: str,
    item: JsonDict,
    product_name: str,
    period_start: int,
    period_end: int,
) -> JsonDict:
    template: JsonDict = fixture("invoice")["lines"]["data"][0]
    price_obj = item["price"]
    quantity = int(item["quantity"])
    unit = int(price_obj["unit_amount"])
    amount = unit * quantity
    recurring = price_obj["recurring"] or {}
    template.update(
        id=new_id("line_item", 24),
        invoice=invoice,
        amount=amount,
        currency=price_obj["currency"],
        description=(
            # Stripe writes the multiplication sign in line descriptions.
            f"{quantity} × {product_name} (at {format_amount(unit, price_obj['currency'])} "  # noqa: RUF001
            f"/ {recurring.get('interval', 'unit')})"
        ),
        discount_amounts=[],
        discountable=True,
        discounts=[],
        livemode=False,
        metadata={},
        period={"start": period_start, "end": period_end},
        quantity=quantity,
        quantity_decimal=str(quantity),
        subscription=item["subscription"],
        pretax_credit_amounts=[],
        taxes=[],
        parent={
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": item["subscription"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        pricing={
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(unit),
        },
        subtotal=amount,
    )
    return template


def invoice(
    *,
    created: int,
    customer: JsonDict,
    currency: str,
    billing_reason: str,
    period_start: int,
    period_end: int,
    number: str,
    subscription: JsonDict | None = None,
) -> JsonDict:
    """A finalized, open invoice with no lines yet (they need its id)."""
    obj = fixture("invoice")
    invoice_id = new_id("invoice", 24)
    # The current API keeps the subscription under ``parent``; the fixture's stale
    # top-level ``subscription`` field isn't part of it any more.
    obj.pop("subscription", None)
    token = random_string(40)
    obj.update(
        id=invoice_id,
        created=created,
        account_country="US",
        account_name=ACCOUNT_NAME,
        account_tax_ids=None,
        amount_due=0,
        amount_paid=0,
        amount_remaining=0,
        amount_shipping=0,
        amount_overpaid=0,
        application=None,
        attempt_count=0,
        attempted=False,
        auto_advance=True,
        automatic_tax={
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        automatically_finalizes_at=None,
        billing_reason=billing_reason,
        collection_method="charge_automatically",
        currency=currency,
        custom_fields=None,
        customer=customer["id"],
        customer_address=copy.deepcopy(customer.get("address")),
        customer_email=customer.get("email"),
        customer_name=customer.get("name"),
        customer_phone=customer.get("phone"),
        customer_shipping=None,
        customer_tax_exempt="none",
        customer_tax_ids=[],
        customer_account=None,
        default_payment_method=None,
        default_source=None,
        default_tax_rates=[],
        description=None,
        discounts=[],
        due_date=None,
        effective_at=created,
        ending_balance=0,
        footer=None,
        from_invoice=None,
        hosted_invoice_url=f"https://invoice.stripe.com/i/{ACCOUNT_ID}/test_{token}",
        invoice_pdf=f"https://pay.stripe.com/invoice/{ACCOUNT_ID}/test_{token}/pdf",
        issuer={"type": "self"},
        last_finalization_error=None,
        latest_revision=None,
        lines={
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        livemode=False,
        metadata={},
        next_payment_attempt=None,
        number=number,
        on_behalf_of=None,
        parent=(
            {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
                "type": "subscription_details",
            }
            if subscription is not None
            else None
        ),
        payment_settings={
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        period_start=period_start,
        period_end=period_end,
        post_payment_credit_notes_amount=0,
        pre_payment_credit_notes_amount=0,
        receipt_number=None,
        rendering={
            "amount_tax_display": None,
            "pdf": {"page_size": "auto"},
            "template": None,
            "template_version": None,
        },
        shipping_cost=None,
        shipping_details=None,
        starting_balance=0,
        statement_descriptor=None,
        status="open",
        status_transitions={
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        subtotal=0,
        subtotal_excluding_tax=0,
        test_clock=None,
        total=0,
        total_discount_amounts=[],
        total_excluding_tax=0,
        total_pretax_credit_amounts=[],
        total_taxes=[],
        webhooks_delivered_at=created,
    )
    return obj


def invoice_payment(
    *,
    created: int,
    invoice: str,
    payment_intent: str,
    amount: int,
    currency: str,
) -> JsonDict:
    """An open (not yet paid) invoice payment; the billing service marks it paid."""
    obj = fixture("invoice_payment")
    obj.update(
        id=new_id("invoice_payment", 24),
        created=created,
        invoice=invoice,
        amount_paid=None,
        amount_requested=amount,
        currency=currency,
        is_default=True,
        livemode=False,
        payment={"type": "payment_intent", "payment_intent": payment_intent},
        status="open",
        status_transitions={"canceled_at": None, "paid_at": None},
    )
    return obj


def dispute(
    *,
    created: int,
    charge: JsonDict,
    amount: int,
    status: str,
    reason: str,
    evidence_due_by: int,
) -> JsonDict:
    """A dispute of ``charge``: an inquiry for the ``warning_*`` statuses, else a chargeback."""
    obj = fixture("dispute")
    inquiry = status.startswith("warning_")
    obj.update(
        id=new_id("dispute", 24),
        created=created,
        amount=amount,
        balance_transactions=[],
        charge=charge["id"],
        currency=charge["currency"],
        is_charge_refundable=inquiry,
        livemode=False,
        metadata={},
        payment_intent=charge["payment_intent"],
        reason=reason,
        status=status,
    )
    obj["evidence_details"].update(due_by=evidence_due_by, has_evidence=False, past_due=False, submission_count=0)
    card = obj["payment_method_details"]["card"]
    brand = charge["payment_method_details"]["card"]["brand"]
    card.update(brand=brand, network=brand, case_type="inquiry" if inquiry else "chargeback")
    return obj
