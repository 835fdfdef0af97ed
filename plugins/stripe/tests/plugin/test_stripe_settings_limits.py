"""Settings limits: a restricted key longer than any Stripe key is a paste error, refused."""

from __future__ import annotations

import pytest
from megadesk_stripe.settings import StripeSettings
from pydantic import ValidationError

pytestmark = pytest.mark.security


def test_a_key_longer_than_stripe_makes_them_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as info:
        StripeSettings(restricted_key="rk_test_" + "a" * 300)
    (error,) = info.value.errors()
    assert error["loc"] == ("restricted_key",)
    assert "308 characters long, and Stripe keys are at most 255" in error["msg"]
    assert "aaaa" not in error["msg"]  # the message does not echo the value (a secret)
    assert StripeSettings(restricted_key="rk_test_" + "a" * 99).restricted_key.get_secret_value().startswith("rk_")


def test_an_empty_key_is_refused():
    with pytest.raises(ValidationError):
        StripeSettings(restricted_key="")
