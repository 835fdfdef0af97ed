"""Panels render concurrently: two plugins that each wait for the other to have started."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.plugins import load_integrations
from megadesk_core.types import IntegrationManifest, Panel


class NoSettings(BaseModel):
    pass


class Rendezvous:
    """Both panels finish only once both have started; rendered one after the other, the
    first would wait for the second until its deadline and come back as an error panel."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.everyone: asyncio.Event | None = None

    async def wait(self) -> None:
        if self.everyone is None:
            self.everyone = asyncio.Event()
        self.arrived += 1
        if self.arrived == self.parties:
            self.everyone.set()
        await self.everyone.wait()


def _plugin(name: str, rendezvous: Rendezvous) -> object:
    class Plugin:
        @hookimpl
        def manifest(self) -> IntegrationManifest:
            return IntegrationManifest(name=name, title=name.title(), settings_model=NoSettings)

        @hookimpl
        async def sidebar_panel(self) -> Panel:
            await rendezvous.wait()
            return Panel(title=name.title())

    return Plugin()


@pytest.fixture
def megadesk_settings(megadesk_settings):
    return megadesk_settings.model_copy(update={"panel_timeout_seconds": 2.0})


@pytest.fixture
def megadesk_registry():
    meeting = Rendezvous(parties=2)
    return load_integrations(
        extra_plugins=[_plugin("left", meeting), _plugin("right", meeting)], load_entry_points=False
    )


async def test_panels_render_concurrently(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    for name in ("left", "right"):
        assert (await acme.client.post(f"/api/v1/integrations/{name}/enable", headers=acme.admin_headers)).is_success
    await acme.upsert_ticket("T-1", email="a@example.com")
    sidebar = await acme.sidebar("T-1")
    assert [(p["integration"], p["status"]) for p in sidebar["panels"]] == [("left", "ok"), ("right", "ok")]
