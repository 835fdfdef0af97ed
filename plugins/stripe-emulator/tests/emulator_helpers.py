"""Shared helpers for the emulator tests."""

from __future__ import annotations

from typing import Any

import stripe
from stripe_emulator.server import EmulatorHandle

# Server-side confirmation without a return_url needs redirects turned off, as in Stripe.
CARD_ONLY: dict[str, Any] = {"automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}}


def make_client(
    emulator: EmulatorHandle,
    api_key: str | None = None,
    *,
    allow_sync: bool = True,
    max_network_retries: int = 0,
) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
    """A client for ``emulator`` and its HTTP client (close it: ``close()`` or ``close_async()``).

    ``allow_sync=False`` builds it the way the plugin does: an async-only HTTPXClient.
    """
    # stripe.HTTPXClient() refuses synchronous calls unless allow_sync_methods=True.
    http_client = stripe.HTTPXClient(allow_sync_methods=allow_sync)
    client = stripe.StripeClient(
        api_key or emulator.secret_key,
        base_addresses={"api": emulator.base_url},
        max_network_retries=max_network_retries,
        http_client=http_client,
    )
    return client, http_client


def pay(
    client: stripe.StripeClient,
    amount: int = 2000,
    currency: str = "usd",
    customer: str | None = None,
    card: str = "pm_card_visa",
    **extra: Any,
) -> stripe.PaymentIntent:
    """A confirmed PaymentIntent (raises stripe.CardError for declining cards)."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "payment_method": card,
        "confirm": True,
        **CARD_ONLY,
        **extra,
    }
    if customer is not None:
        params["customer"] = customer
    return client.v1.payment_intents.create(params=params)
