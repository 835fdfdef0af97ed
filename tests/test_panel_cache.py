"""The panel cache in Redis: reuse, explicit refresh, invalidation after actions."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.panel_cache import RedisPanelCache, StoredPanel
from megadesk_core.plugins import load_integrations
from megadesk_core.types import IntegrationManifest, KeyValueBlock, KeyValueItem, Panel


class CountingSettings(BaseModel):
    pass


class CountingPlugin:
    def __init__(self) -> None:
        self.renders = 0

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="counting", title="Counting", settings_model=CountingSettings)

    @hookimpl
    def sidebar_panel(self) -> Panel:
        self.renders += 1
        return Panel(title="Counting", blocks=[KeyValueBlock(items=[KeyValueItem(label="n", value=str(self.renders))])])


@pytest.fixture
def counting():
    return CountingPlugin()


@pytest.fixture
def megadesk_settings(megadesk_settings, redis_url):
    return megadesk_settings.model_copy(update={"redis_url": redis_url, "panel_cache_seconds": 30})


@pytest.fixture
def megadesk_registry(megadesk_settings, counting):
    return load_integrations(extra_plugins=[counting], load_entry_points=True)


async def test_panels_are_reused_until_refreshed_or_changed(megadesk_tenant, counting):
    acme = await megadesk_tenant("acme")
    await acme.client.post("/api/v1/integrations/counting/enable", headers=acme.admin_headers)
    await acme.upsert_ticket("T-1", email="a@example.com")
    first = await acme.panel("T-1", "counting")
    again = await acme.panel("T-1", "counting")
    assert first == again and counting.renders == 1
    fresh = await acme.client.get(
        "/api/v1/tickets/T-1/panels/counting", params={"fresh": "true"}, headers=acme.agent_headers
    )
    assert fresh.json()["blocks"][0]["items"][0]["value"] == "2"
    # Megadesk sending the ticket again (new Custom Data, say) changes the key.
    await acme.upsert_ticket("T-1", email="b@example.com")
    assert (await acme.sidebar("T-1"))["panels"][0]["blocks"][0]["items"][0]["value"] == "3"
    assert counting.renders == 3


async def test_an_action_invalidates_the_tenants_cached_panels(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": "sample-secret-token"})
    data = {"integrations": {"sample": {"contactId": "c-1"}}}
    await acme.upsert_ticket("T-1", custom_data=data)
    await acme.upsert_ticket("T-2", custom_data=data)
    assert (await acme.panel("T-2", "sample"))["blocks"][0]["items"][1]["value"] == "0"
    done = await acme.run_action("T-1", "sample", "add_note", {"target": "c-1", "text": "hello"})
    assert done.status_code == 200
    # The same customer on another ticket: its cached panel is gone too.
    assert (await acme.panel("T-2", "sample"))["blocks"][0]["items"][1]["value"] == "1"


async def test_redis_failures_degrade_to_no_cache():
    cache = RedisPanelCache("redis://127.0.0.1:1/0", fresh_seconds=5)
    assert await cache.key("t", "i", "k") is None
    assert await cache.get("megadesk:any") is None
    await cache.invalidate("t", "i")  # logged, not raised: the action already happened
    lease = await cache.lease("megadesk:any", 1)
    assert lease.leader  # this process renders on its own
    await cache.close()


async def test_an_unreadable_entry_is_a_miss_and_a_slow_render_cannot_overwrite_a_newer_state(redis_url):
    from redis.asyncio import Redis

    from megadesk_core.panel import SidebarPanel

    cache = RedisPanelCache(redis_url, fresh_seconds=30, prefix="megadesk-test")
    tenant = uuid.uuid4().hex
    key = await cache.key(tenant, "i", "state")
    assert key is not None
    raw = Redis.from_url(redis_url)
    await raw.set(key, b'{"not": "a panel"}')  # e.g. written by another release
    assert await cache.get(key) is None
    await raw.aclose()

    # A render that started before an action keeps the key it began with.
    stale = StoredPanel.of(SidebarPanel(integration="i", title="I", status="ok", blocks=[]))
    await cache.invalidate(tenant, "i")
    fresh_key = await cache.key(tenant, "i", "state")
    assert fresh_key is not None
    fresh = StoredPanel.of(SidebarPanel(integration="i", title="I (after the action)", status="ok", blocks=[]))
    await cache.put(fresh_key, fresh)
    await cache.put(key, stale)  # the slow render finishes last
    assert await cache.get(fresh_key) == fresh
    await cache.close()
