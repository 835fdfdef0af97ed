from __future__ import annotations

from typing import Any

import pytest
from megadesk_stripe.money import (
    THREE_DECIMAL_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    format_amount,
    format_price,
    minor_unit_digits,
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (2900, "usd", "$29.00"),
        (2900, "USD", "$29.00"),
        (5, "usd", "$0.05"),
        (0, "usd", "$0.00"),
        (123456789, "usd", "$1,234,567.89"),
        (-500, "usd", "-$5.00"),
        (5000, "jpy", "¥5,000"),
        (5000, "JPY", "¥5,000"),
        (1000000, "krw", "₩1,000,000"),
        (7500, "xof", "XOF 7,500"),
        (1500, "kwd", "KWD 1.500"),
        (12345, "bhd", "BHD 12.345"),
        (1999, "eur", "€19.99"),
        (1999, "chf", "CHF 19.99"),
    ],
)
def test_format_amount(amount: int, currency: str, expected: str) -> None:
    assert format_amount(amount, currency) == expected


def test_currency_lists_are_stripes() -> None:
    assert {
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
    } == ZERO_DECIMAL_CURRENCIES
    assert {"bhd", "jod", "kwd", "omr", "tnd"} == THREE_DECIMAL_CURRENCIES
    assert [minor_unit_digits(c) for c in ("jpy", "usd", "kwd")] == [0, 2, 3]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2900, "usd", "month"), "$29.00 / month"),
        ((5000, "jpy", "month"), "¥5,000 / month"),
        ((9000, "usd", "month", 3), "$90.00 / 3 months"),
        ((29900, "usd", "year"), "$299.00 / year"),
        ((2900, "usd", None), "$29.00"),
    ],
)
def test_format_price(args: tuple[Any, ...], expected: str) -> None:
    assert format_price(*args) == expected
