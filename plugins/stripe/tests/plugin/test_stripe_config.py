"""Settings, options, key form, permissions list, API version and the plugin as the host loads it."""

from __future__ import annotations

import megadesk_stripe.plugin
import pytest
import stripe
from megadesk_stripe.checks import check_key_form
from megadesk_stripe.client import STRIPE_API_VERSION, ClientCache, build_client
from megadesk_stripe.permissions import (
    FEATURE_NAMES,
    REQUIRED_PERMISSIONS,
    describe_permission,
    is_test_key,
    permission_in_message,
    with_dependents,
)
from megadesk_stripe.settings import StripeOptions, StripeSettings
from pydantic import ValidationError

from megadesk_core.errors import InvalidInputError
from megadesk_core.plugins import load_integrations

SECRETISH = "rk_live_" + "Zq7" * 10


def test_pinned_api_version_is_stripe_pythons() -> None:
    assert STRIPE_API_VERSION == "2026-10-28.endive"
    assert stripe.api_version == STRIPE_API_VERSION


def test_client_is_per_key_and_pinned() -> None:
    client, http_client = build_client("sk_test_abcdefgh12", StripeOptions(api_base="http://127.0.0.1:12111"))
    options = client._requestor._options  # what every request of this client is sent with
    assert options.stripe_version == STRIPE_API_VERSION
    assert options.base_addresses["api"] == "http://127.0.0.1:12111"
    assert options.max_network_retries == 2
    assert isinstance(http_client, stripe.HTTPXClient)
    assert stripe.api_key is None  # never the global key


def test_settings_defaults_and_limits() -> None:
    settings = StripeSettings.model_validate({"restricted_key": SECRETISH})
    assert settings.payment_history_limit == 10
    pasted = StripeSettings.model_validate({"restricted_key": f" {SECRETISH}\n"})
    assert pasted.restricted_key.get_secret_value() == SECRETISH
    assert SECRETISH not in repr(settings)
    assert SECRETISH not in str(settings.model_dump())
    for bad in (0, 101):
        with pytest.raises(ValidationError):
            StripeSettings.model_validate({"restricted_key": SECRETISH, "payment_history_limit": bad})
    with pytest.raises(ValidationError):
        StripeSettings.model_validate({"restricted_key": SECRETISH, "api_base": "http://evil.example"})
    with pytest.raises(ValidationError):
        StripeSettings.model_validate({})


def test_options() -> None:
    assert StripeOptions().api_base is None
    assert StripeOptions(api_base="http://127.0.0.1:9/").api_base == "http://127.0.0.1:9"
    with pytest.raises(ValidationError):
        StripeOptions(api_base="javascript:alert(1)")
    with pytest.raises(ValidationError):
        StripeOptions.model_validate({"max_network_retries": 2, "surprise": 1})


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("rk_test_" + "a1" * 20, ("rk", "test")),
        ("rk_live_" + "B2" * 20, ("rk", "live")),
        ("sk_test_emulator", ("sk", "test")),
        ("sk_live_" + "c" * 24, ("sk", "live")),
    ],
)
def test_key_form_accepts_stripe_keys(key: str, kind: tuple[str, str]) -> None:
    assert check_key_form(key) == kind


@pytest.mark.parametrize(
    "key",
    [
        "",
        "rk_test_",
        "rk_test_short",
        "pk_live_" + "x" * 30,
        "sk_prod_" + "x" * 30,
        " rk_test_" + "x" * 30,
        "rk_test_" + "x" * 30 + " ",
        "whsec_" + "x" * 30,
        "rk_test_abc-defghijk",
    ],
)
def test_key_form_rejects_and_never_echoes(key: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_key_form(key)
    assert "rk_live_ or rk_test_" in caught.value.message
    if len(key.strip()) > len("rk_test_"):
        assert key.strip() not in caught.value.message


def test_test_keys() -> None:
    assert is_test_key("rk_test_x")
    assert is_test_key("sk_test_x")
    assert not is_test_key("rk_live_x")
    assert not is_test_key("sk_live_x")


def test_permissions_list() -> None:
    codes = [p.code for p in REQUIRED_PERMISSIONS]
    assert codes == [
        "rak_customer_read",
        "rak_payment_intent_read",
        "rak_charge_read",
        "rak_refund_write",
        "rak_subscription_read",
        "rak_subscription_write",
        "rak_invoice_read",
        "rak_product_read",
        "rak_dispute_read",
        "rak_refund_read",
    ]
    assert describe_permission("rak_refund_write") == "Refunds: Write (rak_refund_write)"
    message = (
        "The provided key 'rk_test_****abcd' does not have the required permissions for this endpoint "
        "on account 'acct_1'. Having the 'rak_refund_write' permission would allow this request to continue."
    )
    assert permission_in_message(message) == "rak_refund_write"
    assert permission_in_message("nothing here") is None


def test_unavailable_features_carry_to_features_that_need_them() -> None:
    result = with_dependents({"payments": "the key lacks Charges: Read (rak_charge_read)"})
    assert set(result) == {"payments", "refunds", "refund_latest_invoice", "disputes", "refund_details"}
    assert result["refunds"] == "needs Payment history"
    assert set(with_dependents({"subscriptions": "x"})) == {
        "subscriptions",
        "cancel",
        "resume",
        "refund_latest_invoice",
        "invoice_links",
    }


def test_host_loads_the_plugin() -> None:
    registry = load_integrations(
        extra_plugins=[megadesk_stripe.plugin],
        load_entry_points=False,
        plugin_options={"stripe": {"api_base": "http://127.0.0.1:12111", "max_network_retries": 0}},
    )
    loaded = registry.get("stripe")
    assert loaded is not None, registry.rejected
    assert loaded.manifest.settings_model is StripeSettings
    assert loaded.manifest.features == FEATURE_NAMES
    assert isinstance(loaded.options, StripeOptions)
    assert loaded.options.max_network_retries == 0
    assert set(loaded.actions) == {"refund_payment", "partial_refund", "cancel_subscription", "resume_subscription"}
    for spec in loaded.actions.values():
        assert spec.requires_verified_customer
        # Only resuming is no danger: it undoes a cancellation and can itself be undone.
        assert spec.danger is (spec.name != "resume_subscription")
    refund = loaded.actions["refund_payment"].payload_model
    assert refund.model_validate({"target": "pi_123"}).identity_confirmed is False
    with pytest.raises(ValidationError):
        refund.model_validate({"target": "sub_123"})
    cancel = loaded.actions["cancel_subscription"].payload_model
    payload = cancel.model_validate({"target": "sub_1", "at_period_end": False})
    assert payload.model_dump() == {
        "target": "sub_1",
        "identity_confirmed": False,
        "at_period_end": False,
        "refund_latest_invoice": False,
    }


async def test_client_cache_one_client_per_key_never_keyed_by_the_key() -> None:
    clients = ClientCache(max_clients=2)
    options = StripeOptions(api_base="http://127.0.0.1:12111")
    first = clients.get("rk_test_" + "a" * 20, options)
    assert clients.get("rk_test_" + "a" * 20, options) is first
    assert clients.get("rk_test_" + "b" * 20, options) is not first
    assert all("rk_test_" not in fingerprint for fingerprint in clients._entries)
    clients.get("rk_test_" + "c" * 20, options)  # evicts the least recently used
    assert len(clients) == 2
    assert clients.get("rk_test_" + "a" * 20, options) is not first
    await clients.aclose()
    assert len(clients) == 0


def test_the_request_budget_follows_the_keys_mode_and_never_carries_the_key() -> None:
    from megadesk_stripe.client import LIVE_REQUESTS_PER_SECOND, TEST_REQUESTS_PER_SECOND, request_budget

    live_key, test_key = "rk_live_" + "a1" * 12, "rk_test_" + "a1" * 12
    live, test = request_budget(live_key), request_budget(test_key)
    assert (live.name, live.per_second) == ("live", LIVE_REQUESTS_PER_SECOND)
    assert (test.name, test.per_second) == ("test", TEST_REQUESTS_PER_SECOND)
    # Below Stripe's documented limits: 100 requests a second live, 25 in test mode.
    assert LIVE_REQUESTS_PER_SECOND < 100 and TEST_REQUESTS_PER_SECOND < 25
    assert "a1a1" not in live.account and live.account != request_budget("rk_live_" + "b2" * 12).account
