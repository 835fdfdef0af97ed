"""Building the demo: emulator world -> tenant, tokens, Stripe settings, tickets."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from stripe_emulator.server import EmulatorHandle

from megadesk_core.db.engine import Database
from megadesk_core.keyring import DEFAULT_KEY_FILE_NAME, write_key_file
from megadesk_core.services import configure, tickets
from megadesk_core.services.tenants import Principal, Role, create_tenant, create_token
from megadesk_core.services.webhooks import webhook_path
from megadesk_core.settings import Settings
from megadesk_core.startup import prepare
from megadesk_demo.tickets import DemoTicket, demo_tickets

DEMO_TENANT = "demo"
# What the Stripe plugin needs, and no more (see plugins/stripe/README.md).
DEMO_KEY_PERMISSIONS = {
    "customers": "read",
    "payment_intents": "read",
    "charges": "read",
    "refunds": "write",
    "subscriptions": "write",
    "invoices": "read",
    "products": "read",
    "disputes": "read",
}


@dataclass(frozen=True)
class Demo:
    agent_token: str
    admin_token: str
    tickets: list[DemoTicket]


def demo_settings(data_dir: Path, emulator_url: str, *, port: int = 8000) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=None,
        encryption_keys=None,
        encryption_keys_file=data_dir / DEFAULT_KEY_FILE_NAME,
        plugins_allow=["stripe"],
        plugin_options={"stripe": {"api_base": emulator_url}},
        port=port,
    )


def reset_data_dir(data_dir: Path) -> None:
    """Start from nothing each run: the emulator's world is new each time, so is the demo's."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    write_key_file(data_dir / DEFAULT_KEY_FILE_NAME)


async def build_demo(settings: Settings, emulator: EmulatorHandle, *, webhooks: bool = False) -> Demo:
    """The demo tenant, its Stripe settings and tickets. ``webhooks``: the emulator delivers its
    changes (a refund "in the dashboard") to the app at ``settings.host:port``, so open sidebars
    update at once."""
    world = emulator.demo or emulator.seed()
    keyring, registry = prepare(settings)
    database = Database.for_settings(settings)
    try:
        async with database.session() as session:
            tenant = await create_tenant(session, DEMO_TENANT, "Demo Inc.")
            admin_token = await create_token(session, tenant, Role.ADMIN, "demo admin")
            agent_token = await create_token(session, tenant, Role.AGENT, "demo agent")
            actor = Principal(tenant.id, tenant.slug, None, "demo setup", Role.ADMIN)
            stripe = registry.get("stripe")
            if stripe is None:
                raise RuntimeError("the Stripe plugin is not installed: pip install -e plugins/stripe")
            restricted_key = emulator.create_restricted_key(DEMO_KEY_PERMISSIONS)
            signing_secret = f"whsec_{secrets.token_urlsafe(24)}"
            row = await configure.configure(
                session,
                registry,
                keyring,
                actor,
                stripe,
                {"restricted_key": restricted_key, "webhook_signing_secret": signing_secret if webhooks else None},
                enabled=True,
                check_timeout=30,
            )
            if webhooks:
                emulator.set_webhook_endpoint(
                    f"http://{settings.host}:{settings.port}{webhook_path(row.id)}", signing_secret
                )
            created = demo_tickets(world)
            for ticket in created:
                await tickets.upsert_ticket(
                    session,
                    tenant.id,
                    ticket.id,
                    requester_email=ticket.email,
                    subject=ticket.subject,
                    custom_data=ticket.custom_data(),
                )
    finally:
        await registry.shutdown()
        await database.dispose()
    return Demo(agent_token, admin_token, created)
