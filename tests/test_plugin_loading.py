"""Loading plugins: entry points, allow and block lists, broken and incompatible plugins."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl, plugins
from megadesk_core.plugins import PluginConfigurationError, load_integrations
from megadesk_core.types import IntegrationManifest, Panel


class Empty(BaseModel):
    pass


def _plugin(name: str, **manifest_fields):
    class Plugin:
        @hookimpl
        def manifest(self) -> IntegrationManifest:
            return IntegrationManifest(name=name, title=name.title(), settings_model=Empty, **manifest_fields)

        @hookimpl
        def sidebar_panel(self) -> Panel:
            return Panel(title=name.title())

    return Plugin()


@pytest.fixture
def fake_entry_points(monkeypatch):
    def install(*points: tuple[str, str]):
        eps = [EntryPoint(name=n, value=v, group="megadesk.integrations") for n, v in points]
        monkeypatch.setattr(plugins, "entry_points", lambda group: eps)

    return install


def test_a_plugin_that_fails_to_import_is_logged_and_skipped(fake_entry_points, caplog):
    fake_entry_points(("broken", "megadesk_no_such_module.plugin"), ("sample", "megadesk_sample.plugin"))
    with caplog.at_level(logging.ERROR):
        registry = load_integrations()
    assert list(registry.integrations) == ["sample"]
    assert "plugin broken (megadesk_no_such_module.plugin) failed to import and is skipped" in caplog.text
    assert registry.rejected["broken"].startswith("plugin broken failed to import: ModuleNotFoundError")


def test_allow_and_block_lists(fake_entry_points):
    fake_entry_points(("sample", "megadesk_sample.plugin"))
    assert list(load_integrations(allow=["sample"]).integrations) == ["sample"]
    assert list(load_integrations(allow=[]).integrations) == []
    assert list(load_integrations(block=["sample"]).integrations) == []


def test_a_misspelled_hook_implementation_fails_loudly():
    class Misspelled:
        @hookimpl
        def sidebar_pannel(self) -> None:
            pass

    with pytest.raises(PluginConfigurationError, match="sidebar_pannel"):
        load_integrations(extra_plugins=[Misspelled()], load_entry_points=False)


def test_a_plugin_built_for_another_hook_api_is_refused_with_a_clear_message(caplog):
    registry = load_integrations(
        extra_plugins=[_plugin("future", hook_api_version=2), _plugin("fine")], load_entry_points=False
    )
    assert list(registry.integrations) == ["fine"]
    (reason,) = registry.rejected.values()
    assert "built for hook API version 2, newer than this host's (version 1)" in reason
    assert "upgrade megadesk-core, or install a release of the plugin made for this host" in reason


def test_the_host_loads_plugins_built_for_any_hook_api_version_it_supports(monkeypatch):
    # A host of hook API version 3 that still calls version-2 plugins correctly.
    monkeypatch.setattr("megadesk_core.declaration_rules.HOOK_API_VERSION", 3)
    monkeypatch.setattr("megadesk_core.declaration_rules.MIN_HOOK_API_VERSION", 2)
    registry = load_integrations(
        extra_plugins=[_plugin("older", hook_api_version=2), _plugin("ancient", hook_api_version=1)],
        load_entry_points=False,
    )
    assert list(registry.integrations) == ["older"]
    (reason,) = registry.rejected.values()
    assert "built for hook API version 1, which this host no longer supports (versions 2 to 3)" in reason


def test_two_plugins_claiming_one_name_stop_the_host():
    with pytest.raises(PluginConfigurationError, match="two plugins claim the integration name 'dup'"):
        load_integrations(extra_plugins=[_plugin("dup"), _plugin("dup")], load_entry_points=False)


def test_invalid_process_options_stop_the_host():
    class Options(BaseModel):
        model_config = {"extra": "forbid"}
        api_base: str | None = None

    registry = load_integrations(
        extra_plugins=[_plugin("opt", options_model=Options)],
        load_entry_points=False,
        plugin_options={"opt": {"api_base": "http://127.0.0.1:1"}},
    )
    options = registry.integrations["opt"].options
    assert isinstance(options, Options) and options.api_base == "http://127.0.0.1:1"
    with pytest.raises(PluginConfigurationError, match="plugin_options for 'opt' are invalid"):
        load_integrations(
            extra_plugins=[_plugin("opt", options_model=Options)],
            load_entry_points=False,
            plugin_options={"opt": {"bogus": 1}},
        )


def test_bad_names_are_refused():
    registry = load_integrations(extra_plugins=[_plugin("Bad Name")], load_entry_points=False)
    assert registry.integrations == {}
    assert "must match" in next(iter(registry.rejected.values()))


def test_a_hook_with_an_argument_the_spec_lacks_is_refused_not_fatal(fake_entry_points, monkeypatch, caplog):
    import sys
    import types

    module = types.ModuleType("megadesk_bad_signature")

    @hookimpl
    def sidebar_panel(context, ticket, customer, surprise):  # "surprise" is not in the spec
        return None

    module.sidebar_panel = sidebar_panel
    monkeypatch.setitem(sys.modules, "megadesk_bad_signature", module)
    fake_entry_points(("bad", "megadesk_bad_signature"), ("sample", "megadesk_sample.plugin"))
    with caplog.at_level(logging.ERROR):
        registry = load_integrations()
    assert list(registry.integrations) == ["sample"]
    assert "plugin bad (megadesk_bad_signature) is refused" in caplog.text
    assert "surprise" in caplog.text
