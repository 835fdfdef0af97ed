"""Invalidation by object: a change reported for one upstream object drops exactly the kept panels
that show it, in memory and in Redis (every process), and a render that began before the change
cannot put its older result back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from megadesk_core.panel import SidebarPanel
from megadesk_core.panel_cache import MemoryPanelCache, PanelCache, RedisPanelCache, StoredPanel


def _panel(title: str, objects: list[str]) -> StoredPanel:
    return StoredPanel.of(SidebarPanel(integration="i", title=title, status="ok", objects=objects))


@pytest.fixture
async def memory_cache() -> AsyncIterator[PanelCache]:
    made = MemoryPanelCache(60, 60)
    yield made
    await made.close()


@pytest.fixture
async def redis_cache(redis_url: str) -> AsyncIterator[PanelCache]:
    made = RedisPanelCache(redis_url, 60, 60)
    yield made
    await made.close()


@pytest.fixture(params=["memory_cache", "redis_cache"])
def cache(request: pytest.FixtureRequest) -> PanelCache:
    made: PanelCache = request.getfixturevalue(request.param)
    return made


async def test_only_the_panels_showing_a_changed_object_are_dropped(cache: PanelCache) -> None:
    tenant, other_tenant = uuid.uuid4().hex, uuid.uuid4().hex
    ada = await cache.key(tenant, "i", "ticket-ada")
    bob = await cache.key(tenant, "i", "ticket-bob")
    ada_elsewhere = await cache.key(other_tenant, "i", "ticket-ada")
    assert ada and bob and ada_elsewhere
    await cache.put(ada, _panel("Ada", ["cus_ada", "pi_1"]))
    await cache.put(bob, _panel("Bob", ["cus_bob", "pi_2"]))
    await cache.put(ada_elsewhere, _panel("Ada", ["cus_ada", "pi_1"]))

    assert await cache.invalidate_objects(tenant, "i", ["pi_1"]) == 1
    assert await cache.get(ada) is None
    assert await cache.get(bob) is not None  # another customer's panel stays
    assert await cache.get(ada_elsewhere) is not None  # another tenant's panel stays
    assert await cache.invalidate_objects(tenant, "other", ["cus_bob"]) == 0  # another integration
    assert await cache.get(bob) is not None
    assert await cache.invalidate_objects(tenant, "i", ["pi_unknown"]) == 0


async def test_a_render_begun_before_the_change_does_not_store_its_result(cache: PanelCache) -> None:
    tenant = uuid.uuid4().hex
    key = await cache.key(tenant, "i", "ticket")
    assert key
    started = time.time()
    await cache.invalidate_objects(tenant, "i", ["cus_1"])  # the webhook lands mid-render
    await cache.put(key, _panel("old", ["cus_1"]), started_at=started)
    assert await cache.get(key) is None
    await cache.put(key, _panel("new", ["cus_1"]), started_at=time.time() + 0.001)
    kept = await cache.get(key)
    assert kept is not None and kept.title == "new" and kept.objects == ("cus_1",)


async def test_objects_survive_the_round_trip_but_are_never_served() -> None:
    stored = _panel("Ada", ["cus_ada", "pi_1", "cus_ada"])
    assert stored.objects == ("cus_ada", "pi_1")
    assert "objects" not in stored.body
    decoded = StoredPanel.decode(stored.encode())
    assert decoded == stored
    # An entry written by the previous release (five header fields) still reads.
    old = b'[1.0, "i", "I", "ok", null]\n{}'
    assert (parsed := StoredPanel.decode(old)) is not None and parsed.objects == ()


async def test_changes_reach_every_process_subscribed_to_the_tenant(redis_url: str) -> None:
    from megadesk_core.services.changes import ChangeFeed, PanelChange

    here, there = ChangeFeed(redis_url), ChangeFeed(redis_url)  # two processes' feeds
    heard: list[PanelChange] = []
    there.on_change(heard.append)
    tenant, other = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        async with there.subscribe(tenant) as mine, there.subscribe(other) as theirs:
            await here.publish(PanelChange(tenant, "stripe", ("cus_1",)))
            change = await asyncio.wait_for(mine.get(), 2)
            assert change == PanelChange(tenant, "stripe", ("cus_1",))
            assert theirs.empty()  # another tenant's stream hears nothing
            assert heard == [change]  # e.g. SharedRenders.note_change in that process
    finally:
        await here.close()
        await there.close()


async def test_without_redis_changes_reach_this_process_s_subscribers() -> None:
    from megadesk_core.services.changes import ChangeFeed, PanelChange

    feed = ChangeFeed()
    async with feed.subscribe("t") as queue:
        await feed.publish(PanelChange("t", "stripe", ("pi_1",)))
        assert queue.get_nowait().objects == ("pi_1",)
    await feed.close()
