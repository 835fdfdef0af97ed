"""Stripe calls saved by webhooks, on a realistic mix (docs/performance.md).

Many agents open tickets of a few hundred customers (some tickets far more often than others)
while a trickle of changes happens in Stripe behind Megadesk's back. Two runs of the same
traffic against the emulator, on a real server (the emulator's webhooks need one):

* ``ttl``: no webhooks, the default fresh time (15 s) and stale time (600 s);
* ``webhooks``: the emulator delivers signed events, the fresh time is 10 minutes.

Times are scaled down by ``--scale`` (default 10: 15 s becomes 1.5 s, a 300 s run 30 s), so a
run takes about a minute. Reported per run: Stripe requests made by Megadesk (the emulator's
count, less the benchmark's own writes), sidebars served, and sidebars that showed a customer's
name after it had changed ("outdated views"; with webhooks only those that raced the delivery).

    python plugins/stripe/benchmarks/webhook_savings.py [--agents 20 --tickets 300 --seconds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from megadesk_demo.setup import DEMO_KEY_PERMISSIONS
from pydantic import SecretStr
from stripe_emulator.server import EmulatorHandle, run_emulator

from megadesk_core.app import create_app
from megadesk_core.keyring import generate_key_entry
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.settings import Settings

SECRET = "whsec_benchmark"


def serve(settings: Settings) -> tuple[str, Any, uvicorn.Server, threading.Thread, asyncio.AbstractEventLoop]:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", app, server, thread, loop


def tokens(app: Any, loop: asyncio.AbstractEventLoop) -> tuple[str, str]:
    host = app.state.host

    async def make() -> tuple[str, str]:
        async with host.database.session() as session:
            tenant = await create_tenant(session, "bench")
            return (
                await create_token(session, tenant, Role.ADMIN, "admin"),
                await create_token(session, tenant, Role.AGENT, "agent"),
            )

    result: tuple[str, str] = asyncio.run_coroutine_threadsafe(make(), loop).result(10)
    return result


def run_mix(emulator: EmulatorHandle, customers: list[str], args: argparse.Namespace, webhooks: bool) -> dict[str, Any]:
    scale = args.scale
    fresh = (600.0 if webhooks else 15.0) / scale
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            _env_file=None,
            data_dir=Path(directory) / "data",
            database_url=f"sqlite:///{directory}/bench.sqlite3",
            encryption_keys=SecretStr(generate_key_entry("bench")),
            plugins_allow=["stripe"],
            plugin_options={"stripe": {"api_base": emulator.base_url, "max_network_retries": 0}},
            outbound_budgets={"stripe:test": 0},
            panel_cache_seconds=fresh,
            panel_stale_seconds=600.0 / scale,
            log_level="WARNING",
        )
        base_url, app, server, thread, loop = serve(settings)
        try:
            admin, agent = tokens(app, loop)
            stripe_settings: dict[str, Any] = {"restricted_key": emulator.create_restricted_key(DEMO_KEY_PERMISSIONS)}
            if webhooks:
                stripe_settings["webhook_signing_secret"] = SECRET
            with httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {admin}"}) as http:
                saved = http.put(
                    "/api/v1/integrations/stripe/settings", json={"settings": stripe_settings, "enabled": True}
                )
                saved.raise_for_status()
                for n, customer in enumerate(customers):
                    data = {"integrations": {"stripe": {"customerId": customer}}}
                    http.put(f"/api/v1/tickets/T-{n}", json={"custom_data": data}).raise_for_status()
            if webhooks:
                emulator.set_webhook_endpoint(base_url + saved.json()["webhook_path"], SECRET)
            tag = "webhooks" if webhooks else "ttl"
            return asyncio.run(traffic(base_url, agent, emulator, customers, args, scale, tag))
        finally:
            emulator.store.webhooks.clear()
            server.should_exit = True
            thread.join(timeout=15)


async def traffic(
    base_url: str,
    agent: str,
    emulator: EmulatorHandle,
    customers: list[str],
    args: argparse.Namespace,
    scale: float,
    tag: str,
) -> dict[str, Any]:
    rng = random.Random(16)  # noqa: S311  # a repeatable mix, not a secret
    weights = [1 / (rank + 1) for rank in range(len(customers))]  # a few hot tickets, a long tail
    names = {customer: "unchanged" for customer in customers}
    changed_at: dict[str, float] = {}
    outdated = served = 0
    own_writes = 0
    before = emulator.store.requests.total
    deadline = time.monotonic() + args.seconds / scale

    async def agent_loop(client: httpx.AsyncClient) -> None:
        nonlocal outdated, served
        while time.monotonic() < deadline:
            n = rng.choices(range(len(customers)), weights)[0]
            expected = names[customers[n]]
            response = await client.get(f"/api/v1/tickets/T-{n}/sidebar")
            served += 1
            if expected != "unchanged" and expected not in response.text:
                outdated += 1
            await asyncio.sleep(rng.expovariate(1 / (args.think_seconds / scale)))

    async def changes(client: httpx.AsyncClient) -> None:
        nonlocal own_writes
        count = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(args.change_every / scale)
            customer = rng.choices(customers, weights)[0]
            count += 1
            name = f"Renamed {tag} #{count:05d}"
            await client.post(f"{emulator.base_url}/v1/customers/{customer}", data={"name": name})
            own_writes += 1
            names[customer] = name  # expected from now on (the webhook may still be in flight)
            changed_at[customer] = time.monotonic()

    headers = {"Authorization": f"Bearer {agent}"}
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client,
        httpx.AsyncClient(headers={"Authorization": f"Bearer {emulator.secret_key}"}, timeout=30) as stripe_client,
    ):
        await asyncio.gather(*(agent_loop(client) for _ in range(args.agents)), changes(stripe_client))
    await asyncio.sleep(0.5)  # let background refreshes finish and be counted
    stripe_requests = emulator.store.requests.total - before - own_writes
    return {"sidebars": served, "stripe_requests": stripe_requests, "outdated_views": outdated, "changes": own_writes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=300, help="simulated duration")
    parser.add_argument("--think-seconds", type=float, default=20, help="mean time between an agent's opens")
    parser.add_argument("--change-every", type=float, default=10, help="a Stripe change this often")
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--output", type=Path, default=Path(".bench/webhook_savings.json"))
    args = parser.parse_args()
    with run_emulator(seed=False) as emulator:
        with httpx.Client(headers={"Authorization": f"Bearer {emulator.secret_key}"}) as client:
            customers = [
                client.post(
                    f"{emulator.base_url}/v1/customers", data={"name": "unchanged", "email": f"c{n}@example.com"}
                )
                .raise_for_status()
                .json()["id"]
                for n in range(args.tickets)
            ]
        results = {mode: run_mix(emulator, customers, args, mode == "webhooks") for mode in ("ttl", "webhooks")}
    ttl, hooked = results["ttl"], results["webhooks"]
    results["stripe_requests_saved"] = 1 - hooked["stripe_requests"] / max(1, ttl["stripe_requests"])
    results["parameters"] = vars(args) | {"output": str(args.output)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
