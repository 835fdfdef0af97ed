"""What the integration needs from a Stripe key, and what a key must look like.

Create a restricted key in the Stripe dashboard (Developers -> API keys -> Create restricted
key) with these permissions; each feature of the integration needs the ones listed:

=========================  ==========================================================
Feature                    Permissions
=========================  ==========================================================
customer                   Customers: Read
payments                   PaymentIntents: Read, Charges: Read
refunds                    Refunds: Write (plus everything ``payments`` needs)
subscriptions              Subscriptions: Read
product_names              Products: Read (otherwise subscriptions show price ids)
invoice_links              Invoices: Read (plus ``subscriptions``; else no invoice links)
disputes                   Disputes: Read (plus ``payments``; else no dispute details)
refund_details             Refunds: Read, implied by Write (plus ``payments``; else no
                           pending/failed refund states)
cancel                     Subscriptions: Write (plus ``subscriptions``)
resume                     Subscriptions: Write (plus ``subscriptions``)
refund_latest_invoice      Invoices: Read, Refunds: Write (plus ``cancel``, ``refunds``)
=========================  ==========================================================

The same list is :data:`REQUIRED_PERMISSIONS`. Read permissions are checked when the settings
are saved; write permissions cannot be checked without changing something in Stripe, so a
missing one shows up as an error naming it the first time an agent runs the action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    code: str
    """Stripe's name for it, as it appears in permission errors (``rak_refund_write``)."""
    label: str
    """The name in the dashboard's restricted-key form (``Refunds: Write``)."""


CUSTOMERS_READ = Permission("rak_customer_read", "Customers: Read")
PAYMENT_INTENTS_READ = Permission("rak_payment_intent_read", "PaymentIntents: Read")
CHARGES_READ = Permission("rak_charge_read", "Charges: Read")
REFUNDS_WRITE = Permission("rak_refund_write", "Refunds: Write")
REFUNDS_READ = Permission("rak_refund_read", "Refunds: Read")
SUBSCRIPTIONS_READ = Permission("rak_subscription_read", "Subscriptions: Read")
SUBSCRIPTIONS_WRITE = Permission("rak_subscription_write", "Subscriptions: Write")
INVOICES_READ = Permission("rak_invoice_read", "Invoices: Read")
PRODUCTS_READ = Permission("rak_product_read", "Products: Read")
DISPUTES_READ = Permission("rak_dispute_read", "Disputes: Read")


@dataclass(frozen=True)
class Feature:
    name: str
    title: str
    permissions: tuple[Permission, ...]
    requires: tuple[str, ...] = ()
    """Other features this one cannot work without."""


FEATURES: tuple[Feature, ...] = (
    Feature("customer", "Customer details", (CUSTOMERS_READ,)),
    Feature("payments", "Payment history", (PAYMENT_INTENTS_READ, CHARGES_READ)),
    Feature("refunds", "Refunding a payment", (REFUNDS_WRITE,), requires=("payments",)),
    Feature("subscriptions", "Subscriptions", (SUBSCRIPTIONS_READ,)),
    Feature("product_names", "Product names on subscriptions", (PRODUCTS_READ,)),
    Feature(
        "invoice_links",
        "Latest invoice links on subscriptions",
        (INVOICES_READ,),
        requires=("subscriptions",),
    ),
    Feature("disputes", "Dispute details on payments", (DISPUTES_READ,), requires=("payments",)),
    Feature("refund_details", "Pending and failed refunds on payments", (REFUNDS_READ,), requires=("payments",)),
    Feature("cancel", "Canceling a subscription", (SUBSCRIPTIONS_WRITE,), requires=("subscriptions",)),
    Feature("resume", "Resuming a subscription set to cancel", (SUBSCRIPTIONS_WRITE,), requires=("subscriptions",)),
    Feature(
        "refund_latest_invoice",
        "Refunding the latest invoice when canceling",
        (INVOICES_READ, REFUNDS_WRITE),
        requires=("cancel", "refunds"),
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_TITLES: dict[str, str] = {f.name: f.title for f in FEATURES}


def with_dependents(unavailable: Mapping[str, str]) -> dict[str, str]:
    """Unavailable features (name -> reason) plus every feature that requires one of them."""
    result = dict(unavailable)
    for feature in FEATURES:  # a feature comes after the features it requires
        missing = [r for r in feature.requires if r in result]
        if feature.name not in result and missing:
            result[feature.name] = "needs " + ", ".join(FEATURE_TITLES[m] for m in missing)
    return result


REQUIRED_PERMISSIONS: tuple[Permission, ...] = (
    CUSTOMERS_READ,
    PAYMENT_INTENTS_READ,
    CHARGES_READ,
    REFUNDS_WRITE,
    SUBSCRIPTIONS_READ,
    SUBSCRIPTIONS_WRITE,
    INVOICES_READ,
    PRODUCTS_READ,
    DISPUTES_READ,
    REFUNDS_READ,
)
WRITE_PERMISSIONS: tuple[Permission, ...] = (REFUNDS_WRITE, SUBSCRIPTIONS_WRITE)

_BY_CODE = {p.code: p for p in REQUIRED_PERMISSIONS}
_PERMISSION_CODE = re.compile(r"\brak_[a-z_]+_(?:read|write)\b")


def describe_permission(code: str) -> str:
    """``rak_refund_write`` -> ``"Refunds: Write (rak_refund_write)"``."""
    known = _BY_CODE.get(code)
    return f"{known.label} ({code})" if known else code


def permission_in_message(message: str) -> str | None:
    """The ``rak_*`` permission a Stripe permission error names, if it names one."""
    match = _PERMISSION_CODE.search(message)
    return match.group(0) if match else None


KEY_FORM = re.compile(r"^(?P<kind>rk|sk)_(?P<mode>test|live)_[A-Za-z0-9]{8,}$")
KEY_FORM_HELP = (
    "A Stripe key starts with rk_live_ or rk_test_ (restricted key, recommended) or sk_live_ or "
    "sk_test_ (secret key), followed by letters and digits, with no spaces. Copy it again from "
    "the Stripe dashboard (Developers -> API keys)."
)


def key_kind(key: str) -> tuple[str, str] | None:
    """``("rk", "test")`` for a well-formed restricted test key; ``None`` if it is not a key."""
    match = KEY_FORM.match(key)
    return (match.group("kind"), match.group("mode")) if match else None


def is_test_key(key: str) -> bool:
    return key.startswith(("sk_test_", "rk_test_"))
