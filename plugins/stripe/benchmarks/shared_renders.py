"""The benchmark's figures for shared renders (docs/performance.md):

* ``stampede_stripe_request_sets_*``: 50 concurrent opens of one uncached ticket, in Stripe
  requests divided by what one render asks (goal 1): on the one-process server without Redis,
  and on ``megadesk serve --workers 2`` sharing Redis.
* ``warm_rps_over_hello_rps``: requests a second of a kept sidebar over ``/healthz`` on the same
  server in the same run, both with ``wrk -c32`` (goal >= 0.5).
* ``k16_over_k1``: an uncached sidebar with Stripe and 15 synthetic integrations of the same
  latency, over Stripe alone (goal <= 1.2).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

import httpx
from stripe_emulator.server import EmulatorHandle

from megadesk_core.db.engine import Database
from megadesk_core.services import configure, tickets
from megadesk_core.services.tenants import Principal, Role, create_tenant, create_token, get_tenant_by_slug
from megadesk_core.settings import Settings
from megadesk_core.startup import prepare

STAMPEDE_OPENS = 50
STAMPEDE_TICKETS = ("STAMPEDE-1", "STAMPEDE-2")
K16_TICKET = "K-1"
SYNTHETIC = [f"synthetic{n:02d}" for n in range(1, 16)]
WRK_SECONDS = 5
WRK_CONNECTIONS = 32


@dataclass(frozen=True)
class K16Tenant:
    agent_token: str
    synthetic: bool
    """Whether the 15 synthetic integrations are installed (``nox -s bench`` installs them)."""


def synthetic_installed() -> bool:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="megadesk.integrations")}
    return all(name in names for name in SYNTHETIC)


async def add_shared_render_data(
    settings: Settings, emulator: EmulatorHandle, custom_data: dict[str, object], key_permissions: object
) -> K16Tenant:
    """The stampede tickets (the verified customer, never rendered before) and the k16 tenant."""
    keyring, registry = prepare(settings)
    database = Database.for_settings(settings)
    try:
        async with database.session() as session:
            demo = await get_tenant_by_slug(session, "demo")
            assert demo is not None
            for ticket in STAMPEDE_TICKETS:
                await tickets.upsert_ticket(
                    session, demo.id, ticket, requester_email=None, subject="stampede", custom_data=custom_data
                )
            tenant = await create_tenant(session, "k16", "Sixteen Integrations Inc.")
            token = await create_token(session, tenant, Role.AGENT, "bench agent")
            actor = Principal(tenant.id, tenant.slug, None, "bench setup", Role.ADMIN)
            stripe = registry.get("stripe")
            assert stripe is not None
            key = emulator.create_restricted_key(key_permissions)  # type: ignore[arg-type]
            await configure.configure(
                session, registry, keyring, actor, stripe, {"restricted_key": key}, enabled=True, check_timeout=30
            )
            present = [name for name in SYNTHETIC if registry.get(name) is not None]
            for name in present:
                loaded = registry.get(name)
                assert loaded is not None
                await configure.configure(session, registry, keyring, actor, loaded, {}, enabled=True, check_timeout=5)
            await tickets.upsert_ticket(
                session,
                tenant.id,
                K16_TICKET,
                requester_email="k16@example.com",
                subject="k16",
                custom_data=custom_data,
            )
    finally:
        await registry.shutdown()
        await database.dispose()
    return K16Tenant(token, len(present) == len(SYNTHETIC))


async def stampede(base_url: str, token: str, ticket: str) -> list[int]:
    """50 agents open ``ticket`` at once (each its own connection); their status codes."""
    limits = httpx.Limits(max_connections=STAMPEDE_OPENS + 10, max_keepalive_connections=STAMPEDE_OPENS + 10)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.get(f"/api/v1/tickets/{ticket}/sidebar") for _ in range(STAMPEDE_OPENS))
        )
    return [r.status_code for r in responses]


def stampede_request_sets(
    emulator: EmulatorHandle, base_url: str, token: str, ticket: str, requests_per_render: float
) -> float:
    """Stripe requests of 50 concurrent opens of ``ticket`` over one render's. Product names are
    reference data a process keeps (a new worker fetches them once): not counted."""
    emulator.store.requests.reset()
    statuses = asyncio.run(stampede(base_url, token, ticket))
    if any(status != 200 for status in statuses):
        raise RuntimeError(f"the stampede on {ticket} had failures: {sorted(set(statuses))}")
    counts = emulator.store.requests.by_endpoint()
    panel_reads = sum(n for endpoint, n in counts.items() if "/v1/products" not in endpoint)
    return round(panel_reads / requests_per_render, 2)


def wrk_rps(url: str, token: str | None) -> float:
    """Requests a second ``wrk`` sustains on ``url`` with 32 connections for 5 s."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk; nox -s bench installs it)")
    command = [wrk, "-t2", f"-c{WRK_CONNECTIONS}", f"-d{WRK_SECONDS}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw failed responses on {url}:\n{output}")
    match = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(match.group(1))


def warm_over_hello(base_url: str, token: str, ticket: str) -> tuple[float, float]:
    """(kept sidebar, /healthz) requests a second on the same server."""
    httpx.get(
        f"{base_url}/api/v1/tickets/{ticket}/sidebar", headers={"Authorization": f"Bearer {token}"}
    ).raise_for_status()
    warm = wrk_rps(f"{base_url}/api/v1/tickets/{ticket}/sidebar", token)
    hello = wrk_rps(f"{base_url}/healthz", None)
    return warm, hello


def k16_over_k1(base_url: str, k1_token: str, k1_ticket: str, k16_token: str, renders: int) -> tuple[float, float]:
    """Median uncached sidebar (ms) of Stripe alone and of Stripe + 15 synthetic integrations,
    measured alternately so that both see the same machine."""
    k1, k16 = [], []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for _ in range(renders):
            for token, ticket, times in ((k1_token, k1_ticket, k1), (k16_token, K16_TICKET, k16)):
                started = time.perf_counter()
                response = client.get(
                    f"/api/v1/tickets/{ticket}/sidebar",
                    params={"fresh": "true"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                panels = response.json()["panels"]
                if any(p["status"] == "error" for p in panels):
                    raise RuntimeError(f"{ticket} rendered an error panel: {panels}")
    return statistics.median(k1), statistics.median(k16)
