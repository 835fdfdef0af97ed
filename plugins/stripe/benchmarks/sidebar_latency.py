"""The sidebar's cost against a Stripe that answers after L ms, on a real ``megadesk serve``.

Run with ``nox -s bench`` (``nox -s bench -- --latency-ms 300 --renders 100`` for more). The
Stripe emulator runs in this process with every ``/v1`` request delayed by L (like a real
network), seeded with the demo's world; the app runs as ``megadesk serve`` in its own process
(SQLite, the embedded default). Results go to ``.bench/results.json``; docs/performance.md
explains each figure.

* ``cold_verified_over_L``: median time of an uncached sidebar (``?fresh=true``) of T-1001, whose
  Custom Data names the customer, divided by L (goal <= 1.3: one round trip).
* ``cold_unverified_over_L``: the same for a ticket from the same customer's email with no
  Custom Data, matched by email (goal <= 2.3; the search, then the panel's reads).
* ``stripe_requests_cold_verified`` / ``_unverified``: Stripe requests one such render makes
  (counted by the emulator; goal <= 4).
* ``host_ms_per_render``: the verified render's median minus its whole round trips (``floor(t/L) x L``).
* ``slow_plugin_100_concurrent_s``: 100 sidebars of 100 different tickets at once, for a tenant
  whose only integration is an async plugin taking 1 s (the sample plugin); about 1 s means no
  waves.
* ``worker_rss_mib``: the server's resident memory at the end.
* ``stampede_stripe_request_sets_*``, ``warm_rps_over_hello_rps``, ``k16_over_k1``: shared renders,
  see ``shared_renders.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from megadesk_demo.setup import DEMO_KEY_PERMISSIONS, DEMO_TENANT, build_demo, demo_settings, reset_data_dir
from shared_renders import (
    STAMPEDE_TICKETS,
    SYNTHETIC,
    add_shared_render_data,
    k16_over_k1,
    stampede_request_sets,
    synthetic_installed,
    warm_over_hello,
)
from stripe_emulator.server import EmulatorHandle, run_emulator

from megadesk_core.db.engine import Database
from megadesk_core.services import configure, tickets
from megadesk_core.services.tenants import Principal, Role, create_tenant, create_token, get_tenant_by_slug
from megadesk_core.settings import Settings
from megadesk_core.startup import prepare

ROOT = Path(__file__).resolve().parents[3]
VERIFIED_TICKET = "T-1001"
UNVERIFIED_TICKET = "B-EMAIL"
SLOW_TICKETS = 100
SLOW_PLUGIN_SECONDS = 1.0
GOALS = {
    "cold_verified_over_L": ("<=", 1.3),
    "cold_unverified_over_L": ("<=", 2.3),
    "stripe_requests_cold_verified": ("<=", 4),
    "slow_plugin_100_concurrent_s": ("<=", 1.5),
    "stampede_stripe_request_sets": ("<=", 1),
    "warm_rps_over_hello_rps": (">=", 0.5),
    "k16_over_k1": ("<=", 1.2),
}
REDIS_URL = os.environ.get("MEGADESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def add_email_ticket(settings: Settings, email: str) -> None:
    """The verified ticket's customer writing in without Custom Data: matched by email only."""
    database = Database.for_settings(settings)
    try:
        async with database.session() as session:
            tenant = await get_tenant_by_slug(session, DEMO_TENANT)
            assert tenant is not None
            await tickets.upsert_ticket(
                session, tenant.id, UNVERIFIED_TICKET, requester_email=email, subject="by email", custom_data={}
            )
    finally:
        await database.dispose()


async def add_slow_tenant(settings: Settings) -> str:
    """A tenant whose only integration is the sample plugin, sleeping 1 s on every ticket."""
    keyring, registry = prepare(settings)
    database = Database.for_settings(settings)
    try:
        async with database.session() as session:
            tenant = await create_tenant(session, "slow", "Slow Inc.")
            token = await create_token(session, tenant, Role.AGENT, "bench agent")
            actor = Principal(tenant.id, tenant.slug, None, "bench setup", Role.ADMIN)
            sample = registry.get("sample")
            if sample is None:
                raise RuntimeError("the sample plugin is not installed: pip install -e tests/plugins/sample")
            await configure.configure(
                session, registry, keyring, actor, sample, {"api_token": "bench-token"}, enabled=True, check_timeout=5
            )
            for number in range(SLOW_TICKETS):
                await tickets.upsert_ticket(
                    session,
                    tenant.id,
                    f"S-{number}",
                    requester_email=f"person{number}@example.com",
                    subject="slow",
                    custom_data={"integrations": {"sample": {"sleep": SLOW_PLUGIN_SECONDS}}},
                )
    finally:
        await registry.shutdown()
        await database.dispose()
    return token


def start_server(settings: Settings, port: int, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MEGADESK_DATA_DIR": str(settings.data_dir),
        "MEGADESK_ENCRYPTION_KEYS_FILE": str(settings.encryption_keys_file),
        "MEGADESK_PLUGINS_ALLOW": ",".join(settings.plugins_allow or []),
        "MEGADESK_PLUGIN_OPTIONS": json.dumps(settings.plugin_options),
        "MEGADESK_PORT": str(port),
        "MEGADESK_LOG_LEVEL": "WARNING",
        "MEGADESK_PANEL_TIMEOUT_SECONDS": "20",
        # The emulator has no rate limit, and back-to-back cold renders at L = 100 ms ask ~23
        # requests a second of one test key: the 20/s test-mode budget would make some "busy".
        "MEGADESK_OUTBOUND_BUDGETS": json.dumps({"stripe:test": 0}),
        **extra_env,
    }
    megadesk = Path(sys.executable).with_name("megadesk")
    server = subprocess.Popen([str(megadesk), "serve"], env=env, cwd=settings.data_dir)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("megadesk serve exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("megadesk serve did not answer within 60 s")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_renders(
    client: httpx.Client, emulator: EmulatorHandle, path: str, renders: int
) -> tuple[list[float], list[int], dict[str, int]]:
    """Times (ms) and Stripe requests of ``renders`` uncached sidebars, one after another."""
    times, requests = [], []
    by_endpoint: dict[str, int] = {}
    for _ in range(renders):
        emulator.store.requests.reset()
        started = time.perf_counter()
        response = client.get(path, params={"fresh": "true"})
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        panels = response.json()["panels"]
        if any(p["status"] == "error" for p in panels):
            raise RuntimeError(f"{path} rendered an error panel: {panels}")
        requests.append(emulator.store.requests.total)
        by_endpoint = emulator.store.requests.by_endpoint()
    return times, requests, by_endpoint


async def concurrent_slow_sidebars(base_url: str, token: str) -> tuple[float, int]:
    """Seconds for 100 sidebars at once (a fresh client: new connections, as 100 agents'
    browsers would open), and how many of them failed."""
    limits = httpx.Limits(max_connections=SLOW_TICKETS + 10, max_keepalive_connections=SLOW_TICKETS + 10)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=120) as client:

        async def sidebar(number: int) -> bool:
            try:
                response = await client.get(f"/api/v1/tickets/S-{number}/sidebar", params={"fresh": "true"})
            except httpx.TransportError:
                return False
            return response.status_code == 200 and response.json()["panels"][0]["status"] == "ok"

        started = time.perf_counter()
        succeeded = await asyncio.gather(*(sidebar(n) for n in range(SLOW_TICKETS)))
        return time.perf_counter() - started, succeeded.count(False)


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    checks: dict[str, Callable[[float, float], bool]] = {
        "<=": lambda value, goal: value <= goal,
        ">=": lambda value, goal: value >= goal,
    }
    return {
        name: checks[op](results[name], goal) for name, (op, goal) in GOALS.items() if results.get(name) is not None
    }


def redis_answers() -> bool:
    from redis import Redis

    try:
        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=100, help="Stripe's injected latency L (default 100)")
    parser.add_argument("--renders", type=int, default=30, help="renders per median (at least 30)")
    parser.add_argument("--output", type=Path, default=ROOT / ".bench" / "results.json")
    args = parser.parse_args()
    latency = args.latency_ms
    renders = max(30, args.renders)

    data_dir = Path(tempfile.mkdtemp(prefix="megadesk-bench-")) / "data"
    reset_data_dir(data_dir)
    synthetic = synthetic_installed()
    with run_emulator(seed=True) as emulator:
        settings = demo_settings(data_dir, emulator.base_url)
        settings = settings.model_copy(
            update={
                "plugins_allow": ["stripe", "sample", *(SYNTHETIC if synthetic else [])],
                "plugin_options": {
                    **settings.plugin_options,
                    **({name: {"latency_ms": latency} for name in SYNTHETIC} if synthetic else {}),
                },
            }
        )
        demo = asyncio.run(build_demo(settings, emulator))
        verified = next(t for t in demo.tickets if t.id == VERIFIED_TICKET)
        assert verified.email is not None
        asyncio.run(add_email_ticket(settings, verified.email))
        slow_token = asyncio.run(add_slow_tenant(settings))
        k16 = asyncio.run(add_shared_render_data(settings, emulator, verified.custom_data(), DEMO_KEY_PERMISSIONS))
        port = free_port()
        server = start_server(settings, port)
        try:
            base_url = f"http://127.0.0.1:{port}"
            emulator.set_latency(latency)
            headers = {"Authorization": f"Bearer {demo.agent_token}"}
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
                for ticket in (VERIFIED_TICKET, UNVERIFIED_TICKET):  # warm: connections, product names
                    cold_renders(client, emulator, f"/api/v1/tickets/{ticket}/sidebar", 3)
                verified_times, verified_requests, verified_endpoints = cold_renders(
                    client, emulator, f"/api/v1/tickets/{VERIFIED_TICKET}/sidebar", renders
                )
                unverified, unverified_requests, unverified_endpoints = cold_renders(
                    client, emulator, f"/api/v1/tickets/{UNVERIFIED_TICKET}/sidebar", renders
                )
            asyncio.run(concurrent_slow_sidebars(base_url, slow_token))  # warm-up
            slow_runs = [asyncio.run(concurrent_slow_sidebars(base_url, slow_token)) for _ in range(3)]
            per_render = statistics.median(verified_requests)
            stampede_one = stampede_request_sets(emulator, base_url, demo.agent_token, STAMPEDE_TICKETS[0], per_render)
            warm_rps, hello_rps = warm_over_hello(base_url, demo.agent_token, VERIFIED_TICKET)
            k1_ms, k16_ms = (
                k16_over_k1(base_url, demo.agent_token, VERIFIED_TICKET, k16.agent_token, renders)
                if k16.synthetic
                else (float("nan"), float("nan"))
            )
            rss = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        stampede_two = None
        if redis_answers():
            port = free_port()
            server = start_server(settings, port, MEGADESK_REDIS_URL=REDIS_URL, MEGADESK_WORKERS="2")
            try:
                stampede_two = stampede_request_sets(
                    emulator, f"http://127.0.0.1:{port}", demo.agent_token, STAMPEDE_TICKETS[1], per_render
                )
            finally:
                server.terminate()
                server.wait(timeout=30)

    verified_ms = statistics.median(verified_times)
    results: dict[str, Any] = {
        "latency_ms": latency,
        "renders": renders,
        "cold_verified_ms": round(verified_ms, 1),
        "cold_verified_over_L": round(verified_ms / latency, 2),
        "cold_unverified_ms": round(statistics.median(unverified), 1),
        "cold_unverified_over_L": round(statistics.median(unverified) / latency, 2),
        "stripe_requests_cold_verified": statistics.median(verified_requests),
        "stripe_requests_cold_unverified": statistics.median(unverified_requests),
        "stripe_endpoints_cold_verified": verified_endpoints,
        "stripe_endpoints_cold_unverified": unverified_endpoints,
        "host_ms_per_render": round(verified_ms - math.floor(verified_ms / latency) * latency, 1),
        "slow_plugin_100_concurrent_s": round(statistics.median(seconds for seconds, _ in slow_runs), 2),
        "slow_plugin_100_concurrent_failures": sum(failed for _, failed in slow_runs),
        "worker_rss_mib": round(rss, 1),
        "stampede_stripe_request_sets_one_process": stampede_one,
        "stampede_stripe_request_sets_two_processes_redis": stampede_two,
        "stampede_stripe_request_sets": max(stampede_one, stampede_two or 0),
        "warm_sidebar_rps": round(warm_rps),
        "hello_rps": round(hello_rps),
        "warm_rps_over_hello_rps": round(warm_rps / hello_rps, 2),
        "k1_sidebar_ms": round(k1_ms, 1) if k16.synthetic else None,
        "k16_sidebar_ms": round(k16_ms, 1) if k16.synthetic else None,
        "k16_over_k1": round(k16_ms / k1_ms, 2) if k16.synthetic else None,
    }
    results["meets_goals"] = verdicts(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    width = max(len(k) for k in results)
    for key, value in results.items():
        if not isinstance(value, dict):
            print(f"{key:{width}}  {value}")
    print(f"{'meets_goals':{width}}  {results['meets_goals']}")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
