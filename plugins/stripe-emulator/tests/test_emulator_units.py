"""Unit tests for the pure helpers: form decoding, parameter specs, search, periods, money."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stripe_emulator import forms, money, params, periods, search
from stripe_emulator.errors import StripeError
from stripe_emulator.expand import expand
from stripe_emulator.fixtures import fixture, fixture_names
from stripe_emulator.ids import kind_of, new_id
from stripe_emulator.keys import mask


def test_decode_nested_brackets_lists_and_metadata() -> None:
    decoded = forms.decode(
        "items[0][price]=price_a&items[0][quantity]=2&items[1][price]=price_b"
        "&expand[]=latest_charge&expand[]=customer&metadata[plan]=pro&metadata[0]=zero&email=a%40b.co"
    )
    assert decoded == {
        "items": [{"price": "price_a", "quantity": "2"}, {"price": "price_b"}],
        "expand": ["latest_charge", "customer"],
        "metadata": {"plan": "pro", "0": "zero"},
        "email": "a@b.co",
    }


def test_decode_indexed_list_is_ordered_by_index() -> None:
    assert forms.decode("expand[1]=b&expand[0]=a") == {"expand": ["a", "b"]}


def test_decode_rack_style_empty_brackets_group_sub_keys() -> None:
    decoded = forms.decode("items[][price]=p1&items[][quantity]=1&items[][price]=p2")
    assert decoded == {"items": [{"price": "p1", "quantity": "1"}, {"price": "p2"}]}


def test_decode_rejects_value_and_hash_for_one_name() -> None:
    with pytest.raises(StripeError) as caught:
        forms.decode("card=x&card[token]=tok_visa")
    assert caught.value.status == 400
    assert caught.value.message == "Invalid hash: card[token] mixes a value and a hash."


def test_validate_reports_nested_unknown_parameter_by_its_full_name() -> None:
    spec = params.Obj({"card": params.Obj({"token": params.STR})})
    with pytest.raises(StripeError) as caught:
        params.validate({"card": {"token": "tok_visa", "cvv": "1"}}, spec)
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "card[cvv]"
    assert caught.value.message == "Received unknown parameter: card[cvv]"


def test_validate_coerces_types_and_empty_string_unsets() -> None:
    spec = params.Obj({"n": params.INT, "b": params.BOOL, "s": params.STR, "m": params.METADATA})
    assert params.validate({"n": "-5", "b": "true", "s": "", "m": ""}, spec) == {
        "n": -5,
        "b": True,
        "s": None,
        "m": None,
    }
    with pytest.raises(StripeError) as caught:
        params.validate({"n": "12abc"}, spec)
    assert caught.value.code == "parameter_invalid_integer"


def test_search_parses_clauses_and_matches_case_insensitively() -> None:
    fields = {"email": "string", "name": "string", "metadata": "metadata", "created": "number"}
    match = search.predicate("email:'ADA@example.com' AND metadata['tier']:'gold' AND created>10", fields)
    assert match({"email": "ada@example.com", "metadata": {"tier": "gold"}, "created": 11})
    assert not match({"email": "ada@example.com", "metadata": {"tier": "gold"}, "created": 10})
    either = search.predicate("name~'love' OR email:'x@y.z'", fields)
    assert either({"name": "Ada Lovelace", "email": None})
    assert search.predicate("-email:null", fields)({"email": "a@b.c"})
    with pytest.raises(StripeError):
        search.predicate("email:'a' AND name:'b' OR name:'c'", fields)
    with pytest.raises(StripeError):
        search.predicate("shoe_size:'9'", fields)


def test_add_interval_uses_calendar_months_and_clamps() -> None:
    jan31 = int(datetime(2026, 1, 31, 12, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(periods.add_interval(jan31, "month"), tz=UTC).date().isoformat() == "2026-02-28"
    assert datetime.fromtimestamp(periods.add_interval(jan31, "year"), tz=UTC).year == 2027
    assert periods.add_interval(jan31, "week", 2) - jan31 == 14 * 86400


def test_format_amount_knows_zero_decimal_currencies() -> None:
    assert money.format_amount(2900, "usd") == "$29.00"
    assert money.format_amount(5000, "jpy") == "¥5,000"
    assert money.format_amount(123456, "eur") == "€1,234.56"


def test_ids_and_masking() -> None:
    customer_id = new_id("customer")
    assert customer_id.startswith("cus_") and len(customer_id) == 18
    assert kind_of(new_id("invoice_payment")) == "invoice_payment"
    assert kind_of(new_id("invoice")) == "invoice"
    assert kind_of("price_1") == "price"
    assert kind_of("xyz_1") is None and kind_of("cus") is None
    assert mask("rk_test_abcdefghijklmnopqrstuvwxyz1234") == "rk_test_***1234"


def test_bundled_fixtures_are_stripes_published_objects() -> None:
    assert {"customer", "deleted_customer", "invoice_payment", "subscription_item"} <= set(fixture_names())
    customer = fixture("customer")
    assert customer["object"] == "customer" and customer["id"] == "cus_QXg1o8vcGmoR32"
    customer["email"] = "changed@example.com"
    assert fixture("customer")["email"] is None, "fixture() must hand out copies"


def test_expand_walks_lists_and_refuses_non_ids() -> None:
    objects = {"ch_1": {"id": "ch_1", "object": "charge", "amount": 5}}
    page = {"object": "list", "data": [{"id": "pi_1", "latest_charge": "ch_1", "description": "x"}]}
    expanded = expand(page, ["data.latest_charge"], objects.get, lambda node, field: None)
    assert expanded["data"][0]["latest_charge"]["amount"] == 5
    assert page["data"][0]["latest_charge"] == "ch_1", "the stored object must not change"
    with pytest.raises(StripeError) as caught:
        expand(page, ["latest_charge"], objects.get, lambda node, field: None)
    assert "data.latest_charge" in caught.value.message
    with pytest.raises(StripeError):
        expand(page, ["data.description"], objects.get, lambda node, field: None)
