"""Run in a virtualenv that holds only the megadesk-core and megadesk-stripe wheels (and what
they depend on): the Stripe panel for one customer, rendered through the host's HTTP API.

    python sidebar_in_clean_venv.py DATA_DIR EMULATOR_URL RESTRICTED_KEY EMAIL

Prints the sidebar JSON. Uses nothing but the host's public pieces: no test tools, no emulator.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from litestar.testing import AsyncTestClient

from megadesk_core.app import create_app
from megadesk_core.db.engine import Database
from megadesk_core.keyring import DEFAULT_KEY_FILE_NAME, write_key_file
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.settings import Settings
from megadesk_core.startup import prepare


async def main(data_dir: Path, emulator_url: str, restricted_key: str, email: str) -> None:
    write_key_file(data_dir / DEFAULT_KEY_FILE_NAME)
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        encryption_keys_file=data_dir / DEFAULT_KEY_FILE_NAME,
        plugins_allow=["stripe"],
        plugins_required=["stripe"],
        plugins_fail_fast=True,
        plugin_options={"stripe": {"api_base": emulator_url}},
    )
    _keyring, registry = prepare(settings)  # migrates the new SQLite database
    await registry.shutdown()
    database = Database.for_settings(settings)
    try:
        async with database.session() as session:
            tenant = await create_tenant(session, "acme")
            admin = {"Authorization": f"Bearer {await create_token(session, tenant, Role.ADMIN, 'admin')}"}
            agent = {"Authorization": f"Bearer {await create_token(session, tenant, Role.AGENT, 'agent')}"}
    finally:
        await database.dispose()
    async with AsyncTestClient(app=create_app(settings)) as client:
        saved = await client.put(
            "/api/v1/integrations/stripe/settings",
            headers=admin,
            json={"settings": {"restricted_key": restricted_key}, "enabled": True},
        )
        saved.raise_for_status()
        ticket = await client.put("/api/v1/tickets/T-1", headers=admin, json={"requester_email": email})
        ticket.raise_for_status()
        sidebar = await client.get("/api/v1/tickets/T-1/sidebar", headers=agent)
        sidebar.raise_for_status()
        print(json.dumps(sidebar.json()))


if __name__ == "__main__":
    data, url, key, address = sys.argv[1:5]
    asyncio.run(main(Path(data), url, key, address))
