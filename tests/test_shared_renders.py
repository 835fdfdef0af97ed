"""Shared renders: one render for concurrent opens (in a process and across processes through
Redis), stale-while-revalidate, the last good panel when the upstream fails, never after an
action, and the request budget refusing a burst."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.errors import UpstreamUnavailableError
from megadesk_core.panel import SidebarPanel
from megadesk_core.panel_cache import MemoryPanelCache, RedisPanelCache, StoredPanel
from megadesk_core.plugins import load_integrations
from megadesk_core.services.shared_renders import SharedRenders
from megadesk_core.types import (
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationManifest,
    KeyValueBlock,
    KeyValueItem,
    Panel,
    ResolvedCustomer,
)


class NoSettings(BaseModel):
    pass


class Mark(ActionPayload):
    pass


class SlowCRM:
    """A plugin whose panel takes a while, counts its renders and can be told to fail."""

    def __init__(self) -> None:
        self.renders = 0
        self.failing = False
        self.delay = 0.2

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="slowcrm", title="Slow CRM", settings_model=NoSettings)

    @hookimpl
    def resolve_customer(self) -> ResolvedCustomer:
        return ResolvedCustomer(id="c-1", verified=True)

    @hookimpl
    async def sidebar_panel(self) -> Panel:
        self.renders += 1
        await asyncio.sleep(self.delay)
        if self.failing:
            raise UpstreamUnavailableError("Slow CRM answered 503.")
        return Panel(title="Slow CRM", blocks=[KeyValueBlock(items=[KeyValueItem(label="n", value=str(self.renders))])])

    @hookimpl
    def actions(self) -> list[ActionSpec]:
        return [ActionSpec(name="mark", title="Mark", payload_model=Mark, confirmation="Mark?")]

    @hookimpl
    def run_action(self) -> ActionResult:
        return ActionResult(message="Marked.", target="c-1")


@pytest.fixture
def crm() -> SlowCRM:
    return SlowCRM()


@pytest.fixture
def megadesk_registry(megadesk_settings, crm):
    return load_integrations(extra_plugins=[crm], load_entry_points=False)


async def _tenant(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    enabled = await acme.client.post("/api/v1/integrations/slowcrm/enable", headers=acme.admin_headers)
    assert enabled.status_code == 200, enabled.text
    await acme.upsert_ticket("T-1", email="pat@example.com")
    return acme


async def _until(condition, seconds: float = 5.0) -> None:
    """Wait for a background render (no fixed sleep: the machine may be slow)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the background render did not finish in time")


def _value(panel: dict) -> str:
    return panel["blocks"][0]["items"][0]["value"]


def _cache_events(event: str) -> float:
    from prometheus_client import REGISTRY

    labels = {"integration": "slowcrm", "event": event, "tenant": ""}
    return REGISTRY.get_sample_value("megadesk_panel_cache_events_total", labels) or 0.0


async def test_fifty_concurrent_opens_of_one_ticket_render_once(megadesk_tenant, crm):
    acme = await _tenant(megadesk_tenant)
    before = {event: _cache_events(event) for event in ("miss", "join", "hit")}
    sidebars = await asyncio.gather(*(acme.sidebar("T-1") for _ in range(50)))
    assert crm.renders == 1
    # The metrics say so too: one render started; the other requests joined it or found it kept.
    after = {event: _cache_events(event) - before[event] for event in before}
    assert after["miss"] == 1 and after["join"] + after["hit"] == 49
    assert {_value(s["panels"][0]) for s in sidebars} == {"1"}
    # Kept, and the same JSON for the next agent; Reload renders again.
    assert (await acme.sidebar("T-1")) == sidebars[0] and crm.renders == 1
    reloaded = await acme.client.get("/api/v1/tickets/T-1/sidebar?fresh=true", headers=acme.agent_headers)
    assert _value(reloaded.json()["panels"][0]) == "2"


async def test_a_warm_sidebar_reads_one_small_row_set_and_no_full_row(megadesk_tenant, crm, monkeypatch):
    from megadesk_core.api import agent

    acme = await _tenant(megadesk_tenant)
    full_reads = 0
    full_read = agent.ticket_and_enabled_installations

    async def counting(*args, **kwargs):
        nonlocal full_reads
        full_reads += 1
        return await full_read(*args, **kwargs)

    monkeypatch.setattr(agent, "ticket_and_enabled_installations", counting)
    first = await acme.sidebar("T-1")
    assert full_reads == 1
    for _ in range(3):
        assert await acme.sidebar("T-1") == first
    assert full_reads == 1 and crm.renders == 1
    # A ticket upsert changes the key: the next sidebar reads the rows and renders again.
    await acme.upsert_ticket("T-1", email="sam@example.com")
    assert _value((await acme.sidebar("T-1"))["panels"][0]) == "2" and full_reads == 2


async def test_while_a_refresh_runs_the_warm_path_serves_the_stale_panel(
    megadesk_tenant, crm, megadesk_app, monkeypatch
):
    from megadesk_core.api import agent

    acme = await _tenant(megadesk_tenant)
    await acme.sidebar("T-1")
    megadesk_app.state.host.renders.cache.fresh_seconds = 0.05
    await asyncio.sleep(0.1)
    crm.delay = 1.0  # the refresh is still running at the next request, however slow the machine
    started = await acme.sidebar("T-1")  # expired: served stale, one refresh starts
    assert started["panels"][0]["stale"]["reason"] == "refreshing"

    async def no_full_read(*args, **kwargs):
        raise AssertionError("the warm path read the full rows")

    monkeypatch.setattr(agent, "ticket_and_enabled_installations", no_full_read)
    during = await acme.sidebar("T-1")
    assert during["panels"][0]["stale"]["reason"] == "refreshing" and _value(during["panels"][0]) == "1"
    await _until(lambda: not megadesk_app.state.host.renders.background)
    assert crm.renders == 2


async def test_a_waiter_giving_up_does_not_cancel_the_shared_render():
    renders = SharedRenders(MemoryPanelCache(30, 60), 5.0)
    started = 0

    async def render() -> StoredPanel:
        nonlocal started
        started += 1
        await asyncio.sleep(0.2)
        return _stored(str(started))

    first = asyncio.ensure_future(renders.serve("k", "k", "i", "I", render))
    await asyncio.sleep(0.05)
    assert len(renders.flights) == 1
    first.cancel()  # e.g. the agent closed the ticket
    second = await renders.serve("k", "k", "i", "I", render)
    assert started == 1 and '"1"' in second.body
    assert await renders.cache.get("k") == second  # the shared render refilled the cache


async def test_an_expired_panel_is_served_at_once_with_its_age_while_one_render_refreshes_it(
    megadesk_tenant, crm, megadesk_app
):
    acme = await _tenant(megadesk_tenant)
    cache = megadesk_app.state.host.renders.cache
    await acme.sidebar("T-1")
    cache.fresh_seconds = 0.05  # as if the panel's fresh time went by
    await asyncio.sleep(0.1)
    served = await asyncio.gather(*(acme.panel("T-1", "slowcrm") for _ in range(5)))
    assert {_value(p) for p in served} == {"1"}
    assert {p["stale"]["reason"] for p in served} == {"refreshing"}
    assert served[0]["stale"]["message"].startswith("Updated ")
    await _until(lambda: crm.renders == 2 and not megadesk_app.state.host.renders.background)  # one refresh
    assert crm.renders == 2
    cache.fresh_seconds = 30
    assert "stale" not in await acme.panel("T-1", "slowcrm")
    assert _value(await acme.panel("T-1", "slowcrm")) == "2"


async def test_when_the_upstream_fails_the_last_good_panel_is_served_with_a_warning(megadesk_tenant, crm, megadesk_app):
    acme = await _tenant(megadesk_tenant)
    await acme.sidebar("T-1")
    crm.failing = True
    # The agent's Reload while the upstream answers 503: the last good panel, marked.
    reloaded = await acme.client.get("/api/v1/tickets/T-1/panels/slowcrm?fresh=true", headers=acme.agent_headers)
    panel = reloaded.json()
    assert panel["status"] == "ok" and _value(panel) == "1"
    assert panel["stale"]["reason"] == "upstream_unavailable"
    assert panel["stale"]["message"].startswith("Slow CRM did not answer; showing what it said ")
    # Expired while failing: served at once; after the failed refresh it says why.
    megadesk_app.state.host.renders.cache.fresh_seconds = 0.01
    await asyncio.sleep(0.05)
    assert (await acme.panel("T-1", "slowcrm"))["stale"]["reason"] == "refreshing"
    await _until(lambda: not megadesk_app.state.host.renders.background)
    assert (await acme.panel("T-1", "slowcrm"))["stale"]["reason"] == "upstream_unavailable"


async def test_a_panel_an_action_changed_is_never_served_stale(megadesk_tenant, crm):
    acme = await _tenant(megadesk_tenant)
    assert _value(await acme.panel("T-1", "slowcrm")) == "1"
    crm.failing = True  # from the action on: even the panel the action renders after itself fails
    done = await acme.run_action("T-1", "slowcrm", "mark", {"target": "c-1"})
    assert done.status_code == 200, done.text
    for fresh in ("false", "true"):
        response = await acme.client.get(
            f"/api/v1/tickets/T-1/panels/slowcrm?fresh={fresh}", headers=acme.agent_headers
        )
        panel = response.json()
        assert panel["status"] == "error" and panel["error"]["code"] == "upstream_unavailable"
        assert "stale" not in panel


# Across processes: two apps' worth of shared renders (each its own single-flight) on one Redis.


def _stored(value: str) -> StoredPanel:
    panel = SidebarPanel(
        integration="i", title="I", status="ok", blocks=[KeyValueBlock(items=[KeyValueItem(label="n", value=value)])]
    )
    return StoredPanel.of(panel)


async def test_concurrent_renders_in_two_processes_share_one_through_redis(redis_url):
    processes = [SharedRenders(RedisPanelCache(redis_url, 30, prefix="megadesk-test"), 5.0) for _ in range(2)]
    renders = 0

    async def render() -> StoredPanel:
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.2)
        return _stored(str(renders))

    tenant = uuid.uuid4().hex
    try:
        keys = [await p.cache.key(tenant, "i", "state") for p in processes]
        assert keys[0] == keys[1] and keys[0] is not None
        served = await asyncio.gather(
            *(processes[n % 2].serve(keys[n % 2], f"{tenant}:i", "i", "I", render) for n in range(50))
        )
        assert renders == 1
        assert {p.body for p in served} == {served[0].body}
    finally:
        for p in processes:
            await p.close()
            await p.cache.close()


async def test_a_follower_renders_itself_when_the_leader_vanishes(redis_url):
    cache = RedisPanelCache(redis_url, 30, prefix="megadesk-test")
    key = f"megadesk-test:{uuid.uuid4().hex}"
    try:
        dead_leader = await cache.lease(key, 0.2)  # its process dies: it never finishes
        assert dead_leader.leader
        follower = await cache.lease(key, 5)
        assert not follower.leader and follower.flight == dead_leader.flight
        assert await cache.wait(follower, 2) is None  # the lease expired without a result
        renders = SharedRenders(cache, 5.0)

        async def render() -> StoredPanel:
            return _stored("mine")

        assert '"mine"' in (await renders.serve(key, key, "i", "I", render)).body
    finally:
        await cache.close()


async def test_the_memory_cache_keeps_fresh_then_stale_then_nothing():
    cache = MemoryPanelCache(fresh_seconds=0.05, stale_seconds=0.1)
    key = await cache.key("t", "i", "state")
    assert key is not None
    await cache.put(key, _stored("1"))
    assert await cache.get(key) is not None
    await asyncio.sleep(0.2)
    assert await cache.get(key) is None
    await cache.invalidate("t", "i")
    assert await cache.key("t", "i", "state") != key
