"""The whole loop, for real: the app served by uvicorn, the emulator delivering signed webhooks
to it, an agent's sidebar stream open. A change made in Stripe behind Megadesk's back (the
dashboard) reaches the open stream within a second, with no polling."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
import uvicorn
from megadesk_demo.setup import DEMO_KEY_PERMISSIONS
from stripe_emulator.seed import DemoWorld
from stripe_emulator.server import EmulatorHandle

from megadesk_core.api.state import HostState
from megadesk_core.app import create_app
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.settings import Settings

SIGNING_SECRET = "whsec_live_sidebar_test"


class LiveApp:
    """The app on a free port, served from a background thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=lambda: self.loop.run_until_complete(self.server.serve(sockets=[sock])), daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.02)

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live(megadesk_settings: Settings) -> Iterator[LiveApp]:
    live = LiveApp(megadesk_settings.model_copy(update={"panel_cache_seconds": 600}))
    yield live
    live.stop()


def _tokens(live: LiveApp) -> tuple[str, str]:
    host: HostState = live.app.state.host

    async def make() -> tuple[str, str]:
        async with host.database.session() as session:
            tenant = await create_tenant(session, "acme")
            admin = await create_token(session, tenant, Role.ADMIN, "acme admin")
            agent = await create_token(session, tenant, Role.AGENT, "acme agent")
        return admin, agent

    result: tuple[str, str] = live.run(make())
    return result


def _read_stream(url: str, token: str, events: queue.Queue[tuple[str, dict[str, Any]]], stop: threading.Event) -> None:
    """Read server-sent events as a browser's fetch would: token in the header, lines as they come."""
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
        client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        kind = "message"
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                events.put((kind, json.loads(line.partition(":")[2])))
                kind = "message"


def _next(events: queue.Queue[tuple[str, dict[str, Any]]], kind: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got_kind, data = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if got_kind == kind:
            return data


def test_a_dashboard_change_reaches_the_open_stream_within_a_second(
    live: LiveApp, emulator: EmulatorHandle, world: DemoWorld, stripe_admin: stripe.StripeClient
) -> None:
    admin, agent = _tokens(live)
    http = httpx.Client(base_url=live.base_url, timeout=10, headers={"Authorization": f"Bearer {admin}"})
    settings = http.put(
        "/api/v1/integrations/stripe/settings",
        json={
            "settings": {
                "restricted_key": emulator.create_restricted_key(DEMO_KEY_PERMISSIONS),
                "webhook_signing_secret": SIGNING_SECRET,
            },
            "enabled": True,
        },
    )
    assert settings.status_code == 200, settings.text
    emulator.set_webhook_endpoint(live.base_url + settings.json()["webhook_path"], SIGNING_SECRET)
    customer = world.ada.id
    ticket = http.put(
        "/api/v1/tickets/T-ada",
        json={"requester_email": None, "custom_data": {"integrations": {"stripe": {"customerId": customer}}}},
    )
    assert ticket.status_code in (200, 201), ticket.text

    events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_stream, args=(f"{live.base_url}/api/v1/stream?ticket=T-ada", agent, events, stop), daemon=True
    )
    reader.start()
    first = _next(events, "panel", timeout=10)
    assert first["ticket_id"] == "T-ada" and first["updated"] is False
    assert "Ada Renamed" not in json.dumps(first["panel"])

    changed_at = time.monotonic()
    stripe_admin.v1.customers.update(customer, {"name": "Ada Renamed"})  # "in the dashboard"
    stale = _next(events, "stale", timeout=1)
    assert stale == {"ticket_id": "T-ada", "integration": "stripe"}
    update = _next(events, "panel", timeout=1)
    elapsed = time.monotonic() - changed_at
    assert update["updated"] is True and "Ada Renamed" in json.dumps(update["panel"])
    assert elapsed < 1.0, f"the change took {elapsed:.2f}s to reach the stream"

    # Forged: the same event body signed with another secret is refused and changes nothing.
    event = emulator.store.webhooks.delivered[-1]
    body = json.dumps(event)
    forged = httpx.post(
        live.base_url + settings.json()["webhook_path"],
        content=body,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body, "whsec_forged"),
        },
    )
    assert forged.status_code == 400
    stop.set()
    http.close()
