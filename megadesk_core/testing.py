"""A pytest plugin for testing integrations the way the host uses them.

Installed with ``megadesk-core[testing]`` (it registers itself through the ``pytest11`` entry
point). A plugin author overrides ``megadesk_plugins`` to register their plugin module and,
if it needs them, ``megadesk_plugin_options``; then::

    async def test_panel(megadesk_tenant):
        tenant = await megadesk_tenant("acme")
        await tenant.configure("acme_crm", {"api_key": "k-123456"})
        await tenant.upsert_ticket("T-1", email="ada@example.com")
        panel = await tenant.panel("T-1", "acme_crm")
        assert panel["status"] == "ok"

Fixtures: ``megadesk_settings``, ``megadesk_registry``, ``megadesk_app``, ``megadesk_client``,
``megadesk_tenant`` (a factory of :class:`TenantClient`), ``megadesk_contract`` (the contract
check, see :mod:`megadesk_core.contract`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from megadesk_core.api.state import HostState
from megadesk_core.app import create_app
from megadesk_core.keyring import generate_key_entry
from megadesk_core.plugins import IntegrationRegistry, load_integrations
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.settings import Settings

Json = dict[str, Any]


class TenantClient:
    """One tenant seen through the HTTP API, with an admin and an agent token."""

    def __init__(self, client: AsyncTestClient[Litestar], slug: str, admin_token: str, agent_token: str) -> None:
        self.client = client
        self.slug = slug
        self.admin_headers = {"Authorization": f"Bearer {admin_token}"}
        self.agent_headers = {"Authorization": f"Bearer {agent_token}"}

    async def configure(self, integration: str, settings: Json, *, enabled: bool = True) -> Json:
        response = await self.client.put(
            f"/api/v1/integrations/{integration}/settings",
            json={"settings": settings, "enabled": enabled},
            headers=self.admin_headers,
        )
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def upsert_ticket(
        self, ticket_id: str, *, email: str | None = None, custom_data: Json | None = None, subject: str | None = None
    ) -> Json:
        response = await self.client.put(
            f"/api/v1/tickets/{ticket_id}",
            json={"requester_email": email, "subject": subject, "custom_data": custom_data or {}},
            headers=self.admin_headers,
        )
        assert response.status_code in (200, 201), response.text
        body: Json = response.json()
        return body

    async def sidebar(self, ticket_id: str) -> Json:
        response = await self.client.get(f"/api/v1/tickets/{ticket_id}/sidebar", headers=self.agent_headers)
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def panel(self, ticket_id: str, integration: str, *, select: str | None = None) -> Json:
        params = {"select": select} if select else None
        response = await self.client.get(
            f"/api/v1/tickets/{ticket_id}/panels/{integration}", params=params, headers=self.agent_headers
        )
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def run_action(
        self,
        ticket_id: str,
        integration: str,
        action: str,
        payload: Json,
        *,
        idempotency_key: str | None = None,
        select: str | None = None,
    ) -> Any:
        """Run an action as the agent; returns the raw response (status and body to check)."""
        return await self.client.post(
            f"/api/v1/tickets/{ticket_id}/panels/{integration}/actions/{action}",
            json=payload,
            params={"select": select} if select else None,
            headers={**self.agent_headers, "Idempotency-Key": idempotency_key or uuid.uuid4().hex},
        )


@pytest.fixture
def megadesk_database_url(tmp_path: Path) -> str:
    """The database the app under test uses: a fresh SQLite file. Override for PostgreSQL."""
    return f"sqlite:///{tmp_path / 'megadesk.sqlite3'}"


@pytest.fixture
def megadesk_plugins() -> Iterable[object]:
    """Plugin modules to register directly. Default: none (installed entry points are loaded)."""
    return ()


@pytest.fixture
def megadesk_plugin_options() -> dict[str, dict[str, Any]]:
    """Process-level plugin options, as MEGADESK_PLUGIN_OPTIONS would give them."""
    return {}


@pytest.fixture
def megadesk_settings(
    tmp_path: Path, megadesk_database_url: str, megadesk_plugin_options: dict[str, dict[str, Any]]
) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=megadesk_database_url,
        encryption_keys=SecretStr(generate_key_entry("test")),
        plugin_options=megadesk_plugin_options,
        panel_timeout_seconds=5.0,
    )


@pytest.fixture
def megadesk_registry(megadesk_settings: Settings, megadesk_plugins: Iterable[object]) -> IntegrationRegistry:
    """Registered plugins if ``megadesk_plugins`` names any, else the installed entry points."""
    plugins = list(megadesk_plugins)
    return load_integrations(
        allow=megadesk_settings.plugins_allow,
        block=megadesk_settings.plugins_block,
        plugin_options=megadesk_settings.plugin_options,
        extra_plugins=plugins,
        load_entry_points=not plugins,
    )


@pytest.fixture
def megadesk_app(megadesk_settings: Settings, megadesk_registry: IntegrationRegistry) -> Litestar:
    return create_app(megadesk_settings, registry=megadesk_registry)


@pytest.fixture
async def megadesk_client(megadesk_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=megadesk_app) as client:
        yield client


@pytest.fixture
def megadesk_tenant(
    megadesk_app: Litestar, megadesk_client: AsyncTestClient[Litestar]
) -> Callable[[str], Awaitable[TenantClient]]:
    """A factory: ``await megadesk_tenant("acme")`` creates a tenant with admin and agent tokens."""
    host: HostState = megadesk_app.state.host

    async def make(slug: str) -> TenantClient:
        async with host.database.session() as session:
            tenant = await create_tenant(session, slug)
            admin = await create_token(session, tenant, Role.ADMIN, f"{slug} admin")
            agent = await create_token(session, tenant, Role.AGENT, f"{slug} agent")
        return TenantClient(megadesk_client, slug, admin, agent)

    return make
