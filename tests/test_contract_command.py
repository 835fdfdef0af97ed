"""The contract check's deadlines for plain hooks, findings at the plugin's own line, and `megadesk contract`."""

from __future__ import annotations

import inspect
import sys
import time
import types
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.cli import main
from megadesk_core.contract import ContractScenario, check_plugin
from megadesk_core.types import IntegrationManifest, Panel, TicketContext

HERE = "tests/test_contract_command.py"


class Empty(BaseModel):
    pass


class SleepyPlugin:
    """A plain (sync) panel hook that blocks far past the deadline."""

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="sleepy", title="Sleepy", settings_model=Empty)

    @hookimpl
    def sidebar_panel(self) -> Panel:
        time.sleep(3)
        return Panel(title="Sleepy")


class CrashingPlugin:
    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="crashing", title="Crashing", settings_model=Empty)

    @hookimpl
    def sidebar_panel(self) -> Panel:
        return _render_crashes()


def _render_crashes() -> Panel:
    raise KeyError("customer")


def _line_of(function, text: str) -> int:
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


SCENARIO = ContractScenario(settings={}, ticket=TicketContext(ticket_id="T-1", requester_email="ada@example.com"))


async def test_a_sync_hook_gets_the_same_deadline_as_an_async_one():
    started = time.monotonic()
    report = await check_plugin(SleepyPlugin(), scenarios=[SCENARIO], timeout=0.3)
    elapsed = time.monotonic() - started
    assert "timeout" in report.codes
    assert elapsed < 2, f"the deadline fired after {elapsed:.1f}s, not 0.3s"
    problem = next(p for p in report.problems if p.code == "timeout")
    assert problem.location == f"{HERE}:{inspect.getsourcelines(SleepyPlugin.sidebar_panel)[1]}"


async def test_a_bare_exception_points_at_the_plugins_own_line():
    report = await check_plugin(CrashingPlugin(), scenarios=[SCENARIO])
    problem = next(p for p in report.problems if p.code == "bare-exception")
    assert problem.location == f"{HERE}:{_line_of(_render_crashes, 'raise KeyError')}"
    assert f"at {HERE}:" in str(problem)


@pytest.fixture
def installed_misspelled(monkeypatch):
    module = types.ModuleType("megadesk_contract_misspelled")

    @hookimpl
    def manifest() -> IntegrationManifest:
        return IntegrationManifest(name="misspelled", title="Misspelled", settings_model=Empty)

    @hookimpl
    def sidebar_pannel() -> Panel:
        return Panel(title="Misspelled")

    module.manifest = manifest
    module.sidebar_pannel = sidebar_pannel
    monkeypatch.setitem(sys.modules, "megadesk_contract_misspelled", module)
    point = EntryPoint(name="misspelled", value="megadesk_contract_misspelled", group="megadesk.integrations")
    monkeypatch.setattr("megadesk_core.contract.loading.entry_points", lambda group: [point])
    return sidebar_pannel


def test_megadesk_contract_prints_coded_findings_at_the_plugins_lines_and_exits_1(installed_misspelled):
    result = CliRunner().invoke(main, ["contract", "misspelled"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "breaks the Megadesk plugin contract" in result.output
    assert "error [unknown-hook] hook sidebar_pannel: there is no hook named 'sidebar_pannel'." in result.output
    assert "Did you mean 'sidebar_panel'?" in result.output
    line = inspect.getsourcelines(installed_misspelled)[1]
    assert f"at {HERE}:{line}" in result.output
    assert "error [missing-hook] hook sidebar_panel" in result.output


def test_megadesk_contract_passes_an_installed_plugin_and_runs_a_scenario_from_a_settings_file():
    result = CliRunner().invoke(main, ["contract", "sample"], catch_exceptions=False)
    assert (result.exit_code, result.output.strip()) == (
        0,
        "integration 'sample' meets the Megadesk plugin contract (0 scenarios)",
    )
    result = CliRunner().invoke(
        main,
        ["contract", "sample", "--settings-file", "-"],
        input='{"api_token": "tok-123456"}',
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "(1 scenario)" in result.output
    result = CliRunner().invoke(
        main, ["contract", "sample", "--settings-file", "-"], input='{"api_token": 5}', catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "error [" in result.output
