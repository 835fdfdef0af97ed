"""Stripe-looking identifiers and timestamps."""

from __future__ import annotations

import secrets
import string
import time

_ALNUM = string.ascii_letters + string.digits

# Stripe's own prefixes; the emulator finds an object's kind from its id prefix.
PREFIXES: dict[str, str] = {
    "customer": "cus",
    "payment_intent": "pi",
    "charge": "ch",
    "refund": "re",
    "dispute": "dp",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "invoice_payment": "inpay",
    "line_item": "il",
    "price": "price",
    "product": "prod",
    "payment_method": "pm",
    "balance_transaction": "txn",
    "request": "req",
    "event": "evt",
}

_KINDS = {prefix: kind for kind, prefix in PREFIXES.items()}


def random_string(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_id(kind: str, length: int = 14) -> str:
    """A fresh id such as ``cus_Ab12Cd34Ef56Gh``.

    Stripe's real ids are longer for some kinds; 14 characters keeps them readable in
    tests while still looking and sorting like the real thing.
    """
    return f"{PREFIXES[kind]}_{random_string(length)}"


def kind_of(object_id: str) -> str | None:
    """The object kind an id belongs to, judged from the part before its first ``_`` (``inpay_`` is not ``in_``)."""
    prefix, sep, _ = object_id.partition("_")
    return _KINDS.get(prefix) if sep else None


def now() -> int:
    return int(time.time())
