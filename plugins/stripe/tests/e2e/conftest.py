"""End to end through the host's HTTP API, Stripe being the emulator seeded with the demo world.

The demo's tickets (``megadesk_demo.tickets``) cover the situations agents meet; each test gets
a freshly seeded emulator and a fresh tenant whose Stripe key is restricted to what the plugin
needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from megadesk_demo.setup import DEMO_KEY_PERMISSIONS
from megadesk_demo.tickets import demo_tickets
from stripe_emulator.seed import DemoWorld
from stripe_emulator.server import EmulatorHandle, run_emulator

from megadesk_core.settings import Settings
from megadesk_core.testing import TenantClient


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(seed=False) as emu:
        yield emu


@pytest.fixture
def world(emulator: EmulatorHandle) -> DemoWorld:
    emulator.reset()
    return emulator.seed()


@pytest.fixture
def stripe_admin(emulator: EmulatorHandle) -> Iterator[stripe.StripeClient]:
    """A full-access client on the emulator, to look behind the plugin's back."""
    http_client = stripe.HTTPXClient(allow_sync_methods=True)
    yield stripe.StripeClient(
        emulator.secret_key,
        base_addresses={"api": emulator.base_url},
        max_network_retries=0,
        http_client=http_client,
    )
    http_client.close()  # type: ignore[no-untyped-call]  # untyped in stripe-python


@pytest.fixture
def megadesk_plugins_allow() -> list[str]:
    return ["stripe"]


@pytest.fixture
def megadesk_plugin_options(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    return {"stripe": {"api_base": emulator.base_url, "max_network_retries": 0}}


@pytest.fixture
def megadesk_settings(megadesk_settings: Settings) -> Settings:
    # The emulator has no rate limit, and a test renders far faster than an agent clicks: the
    # Stripe test-mode budget (20 requests a second) would make panels "busy" at random. The
    # budget itself is tested in the host's tests/test_request_budget.py.
    return megadesk_settings.model_copy(update={"outbound_budgets": {"stripe:test": 0}})


@pytest.fixture
def make_stripe_tenant(megadesk_tenant: Any, emulator: EmulatorHandle, world: DemoWorld) -> Any:
    async def make(slug: str = "acme", permissions: dict[str, str] | None = None) -> TenantClient:
        tenant: TenantClient = await megadesk_tenant(slug)
        key = emulator.create_restricted_key(permissions or DEMO_KEY_PERMISSIONS)
        await tenant.configure("stripe", {"restricted_key": key})
        for ticket in demo_tickets(world):
            await tenant.upsert_ticket(
                ticket.id, email=ticket.email, subject=ticket.subject, custom_data=ticket.custom_data()
            )
        return tenant

    return make


@pytest.fixture
async def acme(make_stripe_tenant: Any) -> TenantClient:
    tenant: TenantClient = await make_stripe_tenant()
    return tenant
