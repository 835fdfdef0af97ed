"""The panel deadline holds for a plain (sync) hook that blocks, as for an async one."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.plugins import load_integrations
from megadesk_core.types import IntegrationManifest, Panel


class Empty(BaseModel):
    pass


class BlockingPlugin:
    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="blocking", title="Blocking", settings_model=Empty)

    @hookimpl
    def sidebar_panel(self) -> Panel:
        time.sleep(2)  # a blocking client call, say
        return Panel(title="Blocking")


@pytest.fixture
def megadesk_settings(megadesk_settings):
    return megadesk_settings.model_copy(update={"panel_timeout_seconds": 0.3})


@pytest.fixture
def megadesk_registry():
    return load_integrations(extra_plugins=[BlockingPlugin()], load_entry_points=False)


async def test_a_blocking_sync_panel_hook_becomes_a_timeout_panel_on_time(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    await acme.configure("blocking", {})
    await acme.upsert_ticket("T-1", email="ada@example.com")
    started = time.monotonic()
    sidebar = await acme.sidebar("T-1")
    elapsed = time.monotonic() - started
    (panel,) = sidebar["panels"]
    assert panel["error"]["code"] == "timeout"
    assert elapsed < 1.5, f"the 0.3 s deadline fired after {elapsed:.1f} s"
