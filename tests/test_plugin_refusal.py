"""A broken plugin is refused alone: the host starts with the others, says why, and its tenants see it."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from megadesk_core import hookimpl, plugins
from megadesk_core.app import create_app
from megadesk_core.cli import main
from megadesk_core.keyring import generate_key_entry
from megadesk_core.startup import StartupError
from megadesk_core.testing import TenantClient


@pytest.fixture
def misspelled_plugin(monkeypatch):
    """Installed entry points: sample, and one whose panel hook is misspelled."""
    module = types.ModuleType("megadesk_misspelled_plugin")

    @hookimpl
    def sidebar_pannel(context, ticket, customer):
        return None

    module.sidebar_pannel = sidebar_pannel
    monkeypatch.setitem(sys.modules, "megadesk_misspelled_plugin", module)
    points = [
        EntryPoint(name="sample", value="megadesk_sample.plugin", group="megadesk.integrations"),
        EntryPoint(name="misspelled", value="megadesk_misspelled_plugin", group="megadesk.integrations"),
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: points)


def test_integrations_list_shows_the_refused_plugin_with_its_code_and_the_hook_it_meant(
    tmp_path, megadesk_database_url, misspelled_plugin
):
    key_file = tmp_path / "keys"
    key_file.write_text(generate_key_entry("k1") + "\n")
    env = {
        "MEGADESK_DATABASE_URL": megadesk_database_url,
        "MEGADESK_ENCRYPTION_KEYS_FILE": str(key_file),
        "MEGADESK_DATA_DIR": str(tmp_path / "data"),
    }
    result = CliRunner().invoke(main, ["integrations", "list"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("sample\t") for line in lines)
    (refused,) = [line for line in lines if line.startswith("misspelled\t")]
    assert "REFUSED unknown-hook" in refused
    assert "Did you mean 'sidebar_panel'?" in refused


async def test_tenants_that_enabled_a_refused_plugin_see_an_error_panel_naming_it(megadesk_settings):
    allowed = megadesk_settings.model_copy(update={"plugins_allow": ["sample"]})
    async with AsyncTestClient(app=create_app(allowed)) as client:
        host = client.app.state.host
        from megadesk_core.services.tenants import Role, create_tenant, create_token

        async with host.database.session() as session:
            tenant = await create_tenant(session, "acme")
            admin = await create_token(session, tenant, Role.ADMIN, "admin")
            agent = await create_token(session, tenant, Role.AGENT, "agent")
        acme = TenantClient(client, "acme", admin, agent, integration="sample")
        await acme.configure("sample", {"api_token": "tok-123456"})
        ticket = await acme.new_ticket(email="ada@example.com")

    # The next release of the process refuses the plugin (here: options it does not take).
    refusing = allowed.model_copy(update={"plugin_options": {"sample": {"no_such_option": 1}}})
    async with AsyncTestClient(app=create_app(refusing)) as client:
        acme.client = client
        sidebar = await acme.sidebar(ticket)
    (panel,) = sidebar["panels"]
    assert panel["integration"] == "sample"
    assert panel["status"] == "error"
    assert panel["error"]["code"] == "plugin_refused"
    assert "refused to load the 'sample' plugin (bad-options)" in panel["error"]["message"]
    assert "no_such_option" not in panel["error"]["message"]  # the reason is for operators


def test_a_required_plugin_that_is_refused_stops_start_up_only_with_fail_fast(megadesk_settings, misspelled_plugin):
    settings = megadesk_settings.model_copy(update={"plugins_allow": None, "plugins_required": ["misspelled"]})
    app = create_app(settings)  # starts, serves sample, /readyz says 503 (tests/test_readiness.py)
    assert list(app.state.host.registry.integrations) == ["sample"]
    with pytest.raises(StartupError, match=r"MEGADESK_PLUGINS_REQUIRED.*\[unknown-hook\] plugin misspelled"):
        create_app(settings.model_copy(update={"plugins_fail_fast": True}))
    missing = settings.model_copy(update={"plugins_fail_fast": True, "plugins_required": ["stripe"]})
    with pytest.raises(StartupError, match="plugin stripe is not loaded: not installed"):
        create_app(missing)
    create_app(settings.model_copy(update={"plugins_fail_fast": True, "plugins_required": ["sample"]}))
