"""Sidebar latency against the seeded Stripe emulator: uncached renders vs the Redis panel cache.

Run with ``nox -s bench`` (or ``python plugins/stripe/benchmarks/sidebar_latency.py`` in a venv
with the project installed). The app runs in-process (Litestar's TestClient); Stripe is the
emulator on localhost with no injected latency, so the numbers are the host's and the plugin's
own cost plus local HTTP, not Stripe's network latency. Redis is used when it answers on
127.0.0.1:6379 (database 14).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient
from megadesk_demo.setup import build_demo, demo_settings, reset_data_dir
from stripe_emulator.server import run_emulator

from megadesk_core.app import create_app
from megadesk_core.settings import Settings

REQUESTS = 40
REDIS_URL = "redis://127.0.0.1:6379/14"


def measure(client: TestClient[Litestar], token: str, path: str, *, fresh: bool) -> str:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(
            path, headers={"Authorization": f"Bearer {token}"}, params={"fresh": "true"} if fresh else None
        )
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    return f"median {statistics.median(times):6.1f} ms   p90 {times[int(REQUESTS * 0.9) - 1]:6.1f} ms"


def main() -> None:
    data_dir = Path(tempfile.mkdtemp()) / "demo"
    reset_data_dir(data_dir)
    with run_emulator(seed=True) as emulator:
        settings = demo_settings(data_dir, emulator.base_url)
        demo = asyncio.run(build_demo(settings, emulator))
        variants: list[tuple[str, Settings]] = [
            ("no cache", settings),
            ("redis cache", settings.model_copy(update={"redis_url": REDIS_URL})),
        ]
        print(f"{REQUESTS} sequential GET /api/v1/tickets/<id>/sidebar each")
        for label, variant in variants:
            with TestClient(create_app(variant)) as client:
                for ticket, fresh in [("T-1001", True), ("T-1001", False), ("T-1003", True)]:
                    mode = "rendered" if fresh else "repeat  "
                    path = f"/api/v1/tickets/{ticket}/sidebar"
                    print(f"{label:12} {ticket} {mode}  {measure(client, demo.agent_token, path, fresh=fresh)}")


if __name__ == "__main__":
    main()
