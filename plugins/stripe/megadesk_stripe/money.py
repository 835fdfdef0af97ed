"""Amounts as Stripe sends them (integers in the currency's minor unit) shown as people read them.

Stripe counts most currencies in hundredths (USD 2900 is $29.00), some in whole units
(JPY 5000 is ¥5,000) and a few in thousandths (KWD 1500 is KWD 1.500). See
https://docs.stripe.com/currencies#zero-decimal and #three-decimal.
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL_CURRENCIES = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Symbols only where they are unambiguous for an agent; every other currency shows its code.
_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "krw": "₩",
    "ils": "₪",
    "ngn": "₦",
    "php": "₱",
    "vnd": "₫",
}


def minor_unit_digits(currency: str) -> int:
    """How many decimal digits Stripe's integer amounts carry for ``currency``."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """Format a Stripe amount: ``(2900, "usd")`` -> ``"$29.00"``, ``(5000, "jpy")`` -> ``"¥5,000"``,
    ``(1500, "kwd")`` -> ``"KWD 1.500"``, ``(-500, "usd")`` -> ``"-$5.00"``."""
    code = currency.lower()
    digits = minor_unit_digits(code)
    sign = "-" if amount < 0 else ""
    units, fraction = divmod(abs(amount), 10**digits)
    number = f"{units:,}" + (f".{fraction:0{digits}d}" if digits else "")
    symbol = _SYMBOLS.get(code)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{code.upper()} {number}"


def format_price(amount: int, currency: str, interval: str | None, interval_count: int = 1) -> str:
    """A recurring price: ``"$29.00 / month"``, ``"$90.00 / 3 months"``; one-off prices have no interval."""
    text = format_amount(amount, currency)
    if not interval:
        return text
    if interval_count == 1:
        return f"{text} / {interval}"
    return f"{text} / {interval_count} {interval}s"


def minor_units(amount: Decimal, currency: str) -> int:
    """An amount as people write it (``Decimal("12.50")`` USD, ``Decimal("5000")`` JPY,
    ``Decimal("1.500")`` KWD) in Stripe's integer minor units (1250, 5000, 1500). Raises
    ``ValueError`` for more decimals than the currency has (no silent rounding of money) or an
    amount that is not a finite number."""
    if not amount.is_finite():
        raise ValueError("is not a number")
    digits = minor_unit_digits(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        unit = "whole units" if digits == 0 else f"at most {digits} decimal places"
        raise ValueError(f"has more decimals than {currency.upper()} has: use {unit}")
    return int(scaled)
