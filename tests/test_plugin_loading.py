"""Loading plugins: entry points, allow and block lists, broken and incompatible plugins."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl, plugins
from megadesk_core.plugins import load_integrations
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
    assert registry.rejected["broken"].code == "import-failed"
    assert registry.rejected["broken"].reason.startswith("plugin broken failed to import: ModuleNotFoundError")


def test_allow_and_block_lists(fake_entry_points):
    fake_entry_points(("sample", "megadesk_sample.plugin"))
    assert list(load_integrations(allow=["sample"]).integrations) == ["sample"]
    assert list(load_integrations(allow=[]).integrations) == []
    assert list(load_integrations(block=["sample"]).integrations) == []


def test_a_misspelled_hook_implementation_is_refused_alone_with_the_hook_it_meant(fake_entry_points, monkeypatch):
    import sys
    import types

    module = types.ModuleType("megadesk_misspelled")

    @hookimpl
    def sidebar_pannel() -> None:
        pass

    module.sidebar_pannel = sidebar_pannel
    monkeypatch.setitem(sys.modules, "megadesk_misspelled", module)
    fake_entry_points(("misspelled", "megadesk_misspelled"), ("sample", "megadesk_sample.plugin"))
    registry = load_integrations()
    assert list(registry.integrations) == ["sample"]
    refusal = registry.rejected["misspelled"]
    assert refusal.code == "unknown-hook"
    assert "there is no hook named 'sidebar_pannel'. Did you mean 'sidebar_panel'?" in refusal.reason
    assert registry.plugin_manager.get_plugin("misspelled") is None


async def test_the_loader_and_the_contract_check_word_an_unknown_hook_alike():
    from megadesk_core.contract import check_plugin

    class Misspelled:
        @hookimpl
        def resolve_custmer(self) -> None:
            pass

    registry = load_integrations(extra_plugins=[Misspelled(), _plugin("fine")], load_entry_points=False)
    assert list(registry.integrations) == ["fine"]
    (refusal,) = registry.rejected.values()
    assert "Did you mean 'resolve_customer'?" in refusal.reason
    report = await check_plugin(Misspelled())
    (finding,) = [p for p in report.problems if p.code == "unknown-hook"]
    assert finding.message in refusal.reason


def test_a_plugin_without_a_required_hook_is_refused_at_load():
    class NoPanel:
        @hookimpl
        def manifest(self) -> IntegrationManifest:
            return IntegrationManifest(name="nopanel", title="No panel", settings_model=Empty)

    registry = load_integrations(extra_plugins=[NoPanel(), _plugin("fine")], load_entry_points=False)
    assert list(registry.integrations) == ["fine"]
    refusal = registry.rejected["nopanel"]
    assert (refusal.code, refusal.title) == ("missing-hook", "No panel")
    assert "the sidebar_panel hook is required" in refusal.reason


def test_a_plugin_built_for_another_hook_api_is_refused_with_a_clear_message(caplog):
    registry = load_integrations(
        extra_plugins=[_plugin("future", hook_api_version=2), _plugin("fine")], load_entry_points=False
    )
    assert list(registry.integrations) == ["fine"]
    (refusal,) = registry.rejected.values()
    assert refusal.code == "hook-api-version"
    reason = refusal.reason
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
    (refusal,) = registry.rejected.values()
    assert "built for hook API version 1, which this host no longer supports (versions 2 to 3)" in refusal.reason


def test_two_plugins_claiming_one_name_are_both_refused_and_the_others_load():
    registry = load_integrations(
        extra_plugins=[_plugin("dup"), _plugin("fine"), _plugin("dup")], load_entry_points=False
    )
    assert list(registry.integrations) == ["fine"]
    refusal = registry.rejected["dup"]
    assert refusal.code == "duplicate-name"
    assert "2 plugins claim the integration name 'dup'" in refusal.reason
    assert len(registry.plugin_manager.get_plugins()) == 1


def test_invalid_process_options_refuse_that_plugin_alone():
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
    registry = load_integrations(
        extra_plugins=[_plugin("opt", options_model=Options), _plugin("fine")],
        load_entry_points=False,
        plugin_options={"opt": {"bogus": 1}, "fine": {"x": 1}},
    )
    assert list(registry.integrations) == []
    assert registry.rejected["opt"].code == registry.rejected["fine"].code == "bad-options"
    assert "the options for 'opt' are invalid" in registry.rejected["opt"].reason
    assert "has an entry for 'fine', which takes no options" in registry.rejected["fine"].reason


def test_a_plugin_with_an_options_model_gets_its_defaults_when_the_operator_sets_none():
    class Options(BaseModel):
        retries: int = 2

    registry = load_integrations(extra_plugins=[_plugin("opt", options_model=Options)], load_entry_points=False)
    assert registry.integrations["opt"].options == Options(retries=2)


def test_bad_names_are_refused():
    registry = load_integrations(extra_plugins=[_plugin("Bad Name")], load_entry_points=False)
    assert registry.integrations == {}
    assert "must match" in next(iter(registry.rejected.values())).reason


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
    assert "plugin bad was refused" in caplog.text
    assert "surprise" in caplog.text
    assert registry.rejected["bad"].code == "hook-signature"
    assert "surprise" in registry.rejected["bad"].reason


def test_a_plugin_left_out_of_the_allow_list_is_logged_as_such(fake_entry_points, caplog):
    fake_entry_points(("sample", "megadesk_sample.plugin"))
    with caplog.at_level(logging.INFO):
        load_integrations(allow=[])
        load_integrations(block=["sample"])
    assert "plugin sample is not loaded: not in MEGADESK_PLUGINS_ALLOW" in caplog.text
    assert "plugin sample is not loaded: in MEGADESK_PLUGINS_BLOCK" in caplog.text
    assert "blocked" not in caplog.text
