"""A stateful Stripe API emulator for tests and demos (test mode only).

Quick start (in-process)::

    import stripe
    from stripe_emulator.server import run_emulator

    with run_emulator(seed=True) as emulator:
        client = stripe.StripeClient(
            emulator.secret_key,
            base_addresses={"api": emulator.base_url},
            http_client=stripe.HTTPXClient(allow_sync_methods=True),
        )
        client.v1.customers.list(params={"email": "ada@example.com"})

Or as a process: ``python -m stripe_emulator --port 12111 --seed demo``.
"""

from __future__ import annotations

from stripe_emulator.keys import ACCOUNT_ID, FULL_SECRET_KEY

__all__ = ["ACCOUNT_ID", "FULL_SECRET_KEY"]
__version__ = "0.1.0"
