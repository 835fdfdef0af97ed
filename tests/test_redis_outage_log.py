"""A Redis outage is logged once (a warning) and its end once (an info line with the count),
not once per call: with Redis down, every panel of every request used to log a traceback."""

from __future__ import annotations

import logging
import os

import pytest

from megadesk_core.panel import SidebarPanel
from megadesk_core.panel_cache import RedisPanelCache, StoredPanel
from megadesk_core.redis_health import OutageLog

pytestmark = pytest.mark.faults

REDIS_URL = os.environ.get("MEGADESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_an_outage_is_one_warning_and_its_end_one_info_line(caplog):
    now = [100.0]
    log = logging.getLogger("test.outage")
    outage = OutageLog(log, "panel cache", "rendering without it", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="test.outage"):
        outage.succeeded()  # nothing to report while Redis answers
        for _ in range(500):
            outage.failed(ConnectionError("Connection refused"))
        now[0] += 42.0
        outage.succeeded()
        outage.succeeded()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "Redis (panel cache) is unavailable: Connection refused; rendering without it until it answers "
            "again (logged once per outage)",
        ),
        ("INFO", "Redis (panel cache) answers again after 42.0 s; 500 call(s) failed meanwhile"),
    ]
    assert not any(r.exc_info for r in caplog.records)  # no traceback


async def test_the_panel_cache_logs_a_redis_outage_once(caplog):
    cache = RedisPanelCache(DEAD_REDIS_URL, 30)
    panel = StoredPanel.of(SidebarPanel(integration="x", title="X", status="ok", blocks=[]))
    try:
        with caplog.at_level(logging.INFO, logger="megadesk_core.panel_cache"):
            for _ in range(5):  # five requests, each: key, get, put; and an action's invalidation
                key = await cache.key("tenant", "x", "fingerprint")
                assert key is None
                assert await cache.get("some-key") is None
                await cache.put("some-key", panel)
            await cache.invalidate("tenant", "x")
    finally:
        await cache.close()
    records = [r for r in caplog.records if r.name == "megadesk_core.panel_cache"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelname == "WARNING" and records[0].exc_info is None
    assert "logged once per outage" in records[0].getMessage()


async def test_the_end_of_an_outage_is_logged_with_the_count(caplog):
    from redis.asyncio import Redis

    live = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await live.ping()
    except Exception:
        await live.aclose()
        if os.environ.get("MEGADESK_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis does not answer at {REDIS_URL} (MEGADESK_REQUIRE_REDIS=1)")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    await live.aclose()
    cache = RedisPanelCache(DEAD_REDIS_URL, 30)
    try:
        with caplog.at_level(logging.INFO, logger="megadesk_core.panel_cache"):
            for _ in range(3):
                await cache.key("tenant", "x", "fingerprint")
            await cache.close()
            cache._redis = Redis.from_url(REDIS_URL, socket_timeout=0.5)  # Redis is back
            assert await cache.key("tenant", "x", "fingerprint") is not None
    finally:
        await cache.close()
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "megadesk_core.panel_cache"]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]
    assert "3 call(s) failed meanwhile" in messages[1][1]
