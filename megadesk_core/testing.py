"""A pytest plugin for testing integrations the way the host uses them.

Installed with ``megadesk-core[testing]`` (it registers itself through the ``pytest11`` entry
point, so there is nothing to import). By default the app under test loads every installed
integration; a plugin author narrows that to theirs and says how to configure it::

    # conftest.py
    @pytest.fixture
    def megadesk_plugins_allow():
        return ["acme"]  # the entry-point name in your pyproject.toml

    @pytest.fixture
    def megadesk_integration_settings():
        return {"api_key": "acme_test_123456"}

    # test_panel.py
    async def test_panel(megadesk_configured_tenant):
        tenant = megadesk_configured_tenant  # "acme", your integration configured and enabled
        ticket = await tenant.new_ticket(email="ada@example.com")
        panel = await tenant.panel(ticket)
        assert panel["status"] == "ok"

    async def test_contract(megadesk_contract):
        await megadesk_contract(scenarios=[ContractScenario(...)])

Fixtures, each overridable:

* ``megadesk_plugins_allow`` (entry points to load; ``None``: all), ``megadesk_plugins`` (plugin
  objects to register directly instead of entry points), ``megadesk_plugin_options``
  (process options by integration name), ``megadesk_database_url`` (SQLite in ``tmp_path``);
* ``megadesk_settings``, ``megadesk_registry``, ``megadesk_plugin_manager``, ``megadesk_app``,
  ``megadesk_client``: the host as the server builds it;
* ``megadesk_tenant``: a factory of :class:`TenantClient` (a tenant with admin and agent tokens,
  driven through the HTTP API); ``megadesk_integration`` (the integration under test: the only
  one loaded, unless overridden), ``megadesk_integration_settings`` and
  ``megadesk_configured_tenant`` (tenant ``acme`` with it configured and enabled);
* ``megadesk_context``: a factory of ``IntegrationContext`` for calling hooks directly;
* ``megadesk_contract``: the contract check (:mod:`megadesk_core.contract`) for the integration
  under test, with the registry's plugin options;
* ``megadesk_outbound_calls``: a :class:`~megadesk_core.outbound.CallCounter` of the upstream
  calls plugins make through the app's outbound layer (``context.http``).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pluggy
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from megadesk_core.api.state import HostState
from megadesk_core.app import create_app
from megadesk_core.contract import ContractReport, ContractScenario, run_contract
from megadesk_core.keyring import generate_key_entry
from megadesk_core.outbound import CallCounter
from megadesk_core.outbound import install as install_outbound
from megadesk_core.plugins import IntegrationRegistry, load_integrations
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.settings import Settings
from megadesk_core.types import IntegrationContext

Json = dict[str, Any]


class TenantClient:
    """One tenant seen through the HTTP API, with an admin and an agent token.

    ``integration`` is the default for the helpers that take one (``new_ticket``, ``panel``).
    """

    def __init__(
        self,
        client: AsyncTestClient[Litestar],
        slug: str,
        admin_token: str,
        agent_token: str,
        *,
        integration: str | None = None,
    ) -> None:
        self.client = client
        self.slug = slug
        self.integration = integration
        self.admin_headers = {"Authorization": f"Bearer {admin_token}"}
        self.agent_headers = {"Authorization": f"Bearer {agent_token}"}
        self._ticket_numbers = itertools.count(1)

    def _integration(self, integration: str | None) -> str:
        name = integration or self.integration
        if name is None:
            raise TypeError("name the integration (or create the tenant with integration=...)")
        return name

    async def put_settings(self, integration: str, settings: Json, *, enabled: bool | None = True) -> Any:
        """Save settings as the admin; returns the raw response (to check a refusal)."""
        return await self.client.put(
            f"/api/v1/integrations/{integration}/settings",
            json={"settings": settings, "enabled": enabled},
            headers=self.admin_headers,
        )

    async def configure(self, integration: str, settings: Json, *, enabled: bool = True) -> Json:
        """Save settings (and enable) as the admin; fails the test if the host refuses them."""
        response = await self.put_settings(integration, settings, enabled=enabled)
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def enable(self, integration: str | None = None) -> Json:
        name = self._integration(integration)
        response = await self.client.post(f"/api/v1/integrations/{name}/enable", headers=self.admin_headers)
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def disable(self, integration: str | None = None) -> Json:
        name = self._integration(integration)
        response = await self.client.post(f"/api/v1/integrations/{name}/disable", headers=self.admin_headers)
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

    async def new_ticket(
        self,
        *,
        email: str | None = None,
        data: Json | None = None,
        subject: str | None = None,
        integration: str | None = None,
        ticket_id: str | None = None,
    ) -> str:
        """Create a ticket and return its id (``T-1``, ``T-2``, ... unless given).

        ``data`` is the integration's own Custom Data block: it is stored as
        ``custom_data["integrations"][<integration>]``, as Megadesk sends it.
        """
        ticket_id = ticket_id or f"T-{next(self._ticket_numbers)}"
        custom_data = {"integrations": {self._integration(integration): data}} if data is not None else None
        await self.upsert_ticket(ticket_id, email=email, custom_data=custom_data, subject=subject)
        return ticket_id

    async def sidebar(self, ticket_id: str, *, fresh: bool = False) -> Json:
        """The ticket's sidebar; ``fresh``: the agent's Reload (the host keeps rendered panels
        for ``MEGADESK_PANEL_CACHE_SECONDS``, so a change your fake upstream makes shows only
        after an action, a settings change, a ticket upsert, or a fresh render)."""
        params = {"fresh": "true"} if fresh else None
        response = await self.client.get(
            f"/api/v1/tickets/{ticket_id}/sidebar", params=params, headers=self.agent_headers
        )
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def panel(
        self, ticket_id: str, integration: str | None = None, *, select: str | None = None, fresh: bool = False
    ) -> Json:
        params = {**({"select": select} if select else {}), **({"fresh": "true"} if fresh else {})} or None
        response = await self.client.get(
            f"/api/v1/tickets/{ticket_id}/panels/{self._integration(integration)}",
            params=params,
            headers=self.agent_headers,
        )
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def actions(self, integration: str | None = None) -> list[Json]:
        """The integration's declared actions, as agents get them (with payload JSON Schemas)."""
        name = self._integration(integration)
        response = await self.client.get(f"/api/v1/integrations/{name}/actions", headers=self.agent_headers)
        assert response.status_code == 200, response.text
        body: list[Json] = response.json()
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


class TenantFactory(Protocol):
    def __call__(self, slug: str, *, integration: str | None = None) -> Awaitable[TenantClient]: ...


class ContextFactory(Protocol):
    def __call__(
        self, settings: Mapping[str, Any], *, integration: str | None = None, tenant_id: str = ...
    ) -> IntegrationContext: ...


class ContractRunner(Protocol):
    def __call__(
        self,
        integration: str | None = None,
        *,
        scenarios: Sequence[ContractScenario] = ...,
        ignore: Iterable[str] = ...,
        timeout: float = ...,
    ) -> Awaitable[ContractReport]: ...


@pytest.fixture
def megadesk_database_url(tmp_path: Path) -> str:
    """The database the app under test uses: a fresh SQLite file. Override for PostgreSQL."""
    return f"sqlite:///{tmp_path / 'megadesk.sqlite3'}"


@pytest.fixture
def megadesk_plugins() -> Iterable[object]:
    """Plugin objects to register directly. Default: none (installed entry points are loaded)."""
    return ()


@pytest.fixture
def megadesk_plugins_allow() -> list[str] | None:
    """Entry-point names to load, as MEGADESK_PLUGINS_ALLOW. Default ``None``: every installed one."""
    return None


@pytest.fixture
def megadesk_plugin_options() -> dict[str, dict[str, Any]]:
    """Process-level plugin options, as MEGADESK_PLUGIN_OPTIONS would give them."""
    return {}


@pytest.fixture
def megadesk_settings(
    tmp_path: Path,
    megadesk_database_url: str,
    megadesk_plugin_options: dict[str, dict[str, Any]],
    megadesk_plugins_allow: list[str] | None,
) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=megadesk_database_url,
        encryption_keys=SecretStr(generate_key_entry("test")),
        plugins_allow=megadesk_plugins_allow,
        plugin_options=megadesk_plugin_options,
        panel_timeout_seconds=5.0,
        auto_migrate=True,
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
def megadesk_plugin_manager(megadesk_registry: IntegrationRegistry) -> pluggy.PluginManager:
    """The pluggy manager holding the loaded plugins (``.hook.<name>`` calls every plugin)."""
    return megadesk_registry.plugin_manager


@pytest.fixture
def megadesk_app(megadesk_settings: Settings, megadesk_registry: IntegrationRegistry) -> Iterator[Litestar]:
    yield create_app(megadesk_settings, registry=megadesk_registry)
    # The app made its outbound layer the process's (budgets included): the next test starts
    # from the default, not from this test's app.
    install_outbound(None)


@pytest.fixture
async def megadesk_client(megadesk_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=megadesk_app) as client:
        yield client


@pytest.fixture
def megadesk_tenant(megadesk_app: Litestar, megadesk_client: AsyncTestClient[Litestar]) -> TenantFactory:
    """A factory: ``await megadesk_tenant("acme")`` creates a tenant with admin and agent tokens."""
    host: HostState = megadesk_app.state.host

    async def make(slug: str, *, integration: str | None = None) -> TenantClient:
        async with host.database.session() as session:
            tenant = await create_tenant(session, slug)
            admin = await create_token(session, tenant, Role.ADMIN, f"{slug} admin")
            agent = await create_token(session, tenant, Role.AGENT, f"{slug} agent")
        return TenantClient(megadesk_client, slug, admin, agent, integration=integration)

    return make


@pytest.fixture
def megadesk_integration(megadesk_registry: IntegrationRegistry) -> str:
    """The integration under test: the only one loaded. Override it when several are loaded."""
    names = sorted(megadesk_registry.integrations)
    if len(names) != 1:
        rejected = "; ".join(str(r) for r in megadesk_registry.rejected.values())
        pytest.fail(
            f"megadesk_integration: {len(names)} integrations are loaded ({', '.join(names) or 'none'}"
            f"{'; refused: ' + rejected if rejected else ''}); override the megadesk_plugins_allow fixture "
            "with your entry-point name, or megadesk_integration with the integration's name",
            pytrace=False,
        )
    return names[0]


@pytest.fixture
def megadesk_integration_settings() -> Json:
    """The settings ``megadesk_configured_tenant`` saves (secrets in clear). Override it."""
    return {}


@pytest.fixture
async def megadesk_configured_tenant(
    megadesk_tenant: TenantFactory, megadesk_integration: str, megadesk_integration_settings: Json
) -> TenantClient:
    """Tenant ``acme`` with the integration under test configured and enabled."""
    tenant = await megadesk_tenant("acme", integration=megadesk_integration)
    await tenant.configure(megadesk_integration, megadesk_integration_settings)
    return tenant


@pytest.fixture
def megadesk_context(megadesk_registry: IntegrationRegistry, request: pytest.FixtureRequest) -> ContextFactory:
    """A factory of ``IntegrationContext`` (validated settings, the registry's options) for
    calling hook functions directly: ``megadesk_context({"api_key": "..."})``."""

    def make(
        settings: Mapping[str, Any], *, integration: str | None = None, tenant_id: str = "test-tenant"
    ) -> IntegrationContext:
        name = integration or request.getfixturevalue("megadesk_integration")
        loaded = megadesk_registry.get(name)
        if loaded is None:
            raise LookupError(f"integration {name!r} is not loaded (loaded: {sorted(megadesk_registry.integrations)})")
        return IntegrationContext(
            tenant_id=tenant_id,
            integration=name,
            settings=loaded.manifest.settings_model.model_validate(dict(settings)),
            options=loaded.options,
        )

    return make


@pytest.fixture
def megadesk_contract(megadesk_registry: IntegrationRegistry, request: pytest.FixtureRequest) -> ContractRunner:
    """Run the contract check on the integration under test (or the one named); the test fails
    with every problem listed. Returns the report (with its warnings) when it passes::

        await megadesk_contract(scenarios=[ContractScenario(settings=..., ticket=TicketContext(...))])
    """

    async def run(
        integration: str | None = None,
        *,
        scenarios: Sequence[ContractScenario] = (),
        ignore: Iterable[str] = (),
        timeout: float = 10.0,
    ) -> ContractReport:
        name = integration or request.getfixturevalue("megadesk_integration")
        return await run_contract(megadesk_registry, name, scenarios=scenarios, ignore=ignore, timeout=timeout)

    return run


@pytest.fixture
def megadesk_outbound_calls(megadesk_app: Litestar) -> CallCounter:
    """Counts every upstream attempt plugins make through the app's outbound layer, per tenant,
    integration, host, method and path template (``counter.total(integration="acme")``)."""
    counter = CallCounter()
    host: HostState = megadesk_app.state["host"]
    host.outbound.add_observer(counter)
    return counter
