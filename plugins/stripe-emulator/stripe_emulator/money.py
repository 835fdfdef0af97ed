"""Currencies: validation, zero-decimal handling and Stripe-style amount formatting."""

from __future__ import annotations

# Stripe's list of zero-decimal currencies: an amount of 5000 JPY means ¥5,000.
ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)

SUPPORTED = frozenset(
    {
        "usd",
        "eur",
        "gbp",
        "jpy",
        "cad",
        "aud",
        "chf",
        "sek",
        "nok",
        "dkk",
        "nzd",
        "sgd",
        "hkd",
        "mxn",
        "brl",
        "inr",
        "pln",
        "czk",
        "krw",
        "huf",
    }
)

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def is_supported(currency: str) -> bool:
    return currency in SUPPORTED


def format_amount(amount: int, currency: str) -> str:
    """Render a minor-unit amount the way Stripe's error messages do (``$29.00``, ``¥5,000``)."""
    currency = currency.lower()
    symbol = _SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"
