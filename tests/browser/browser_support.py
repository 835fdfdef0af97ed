"""Serving the app for real and setting up a tenant, for browser tests (see conftest.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
import uvicorn
from litestar import Litestar
from pydantic import SecretStr

from megadesk_core.api.state import HostState
from megadesk_core.keyring import generate_key_entry
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Page

T = TypeVar("T")


@dataclass
class LiveServer:
    """An app served by uvicorn on a free localhost port, in a background thread."""

    base_url: str
    loop: asyncio.AbstractEventLoop
    server: uvicorn.Server
    thread: threading.Thread

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run a coroutine on the server's event loop, e.g. one that uses the app's database."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_live_server(app: Litestar) -> LiveServer:
    # Binding the socket here, not in uvicorn, gives a free port without a race.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test thread below
            failure.append(exc)
        finally:
            loop.close()
            sock.close()

    thread = threading.Thread(target=serve, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(f"the app did not start: {failure[0] if failure else 'uvicorn exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the app did not start within 15 seconds")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", loop, server, thread)


def live_settings(directory: Path, **overrides: Any) -> Settings:
    """Settings for a live app: a SQLite file and a fresh key ring in ``directory``."""
    values: dict[str, Any] = {
        "data_dir": directory / "data",
        "database_url": f"sqlite:///{directory / 'megadesk.sqlite3'}",
        "encryption_keys": SecretStr(generate_key_entry("browser")),
        "panel_timeout_seconds": 5.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)


# --- a tenant --------------------------------------------------------------------------------


@dataclass
class LiveTenant:
    """A tenant of a live server, with an admin and an agent token, driven over HTTP."""

    server: LiveServer
    slug: str
    admin_token: str
    agent_token: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.base_url, timeout=10)

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(method, path, json=body, headers={"Authorization": f"Bearer {self.admin_token}"})
        assert response.status_code in (200, 201), response.text
        data: dict[str, Any] = response.json()
        return data

    def configure(self, integration: str, settings: dict[str, Any], *, enabled: bool = True) -> dict[str, Any]:
        return self._admin(
            "PUT", f"/api/v1/integrations/{integration}/settings", {"settings": settings, "enabled": enabled}
        )

    def upsert_ticket(
        self,
        ticket_id: str,
        *,
        email: str | None = None,
        subject: str | None = None,
        custom_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._admin(
            "PUT",
            f"/api/v1/tickets/{quote(ticket_id, safe='')}",
            {"requester_email": email, "subject": subject, "custom_data": custom_data or {}},
        )

    def close(self) -> None:
        self.http.close()

    def preview_url(self, ticket_id: str | None = None, *, token: str | None = None) -> str:
        """The preview page signed in as the agent (token in the fragment), on ``ticket_id``."""
        fragment = f"token={quote(token or self.agent_token, safe='')}"
        if ticket_id:
            fragment += f"&ticket={quote(ticket_id, safe='')}"
        return f"{self.server.base_url}/preview#{fragment}"


def create_live_tenant(server: LiveServer, app: Litestar, slug: str) -> LiveTenant:
    """Create a tenant and its tokens through the services, on the server's own loop and database."""
    host: HostState = app.state.host

    async def make() -> tuple[str, str]:
        async with host.database.session() as session:
            tenant = await create_tenant(session, slug)
            admin = await create_token(session, tenant, Role.ADMIN, f"{slug} admin")
            agent = await create_token(session, tenant, Role.AGENT, f"{slug} agent")
        return admin, agent

    admin, agent = server.run(make())
    return LiveTenant(server, slug, admin, agent)


def show_ticket(page: Page, tenant: LiveTenant, ticket_id: str, panels: int) -> None:
    """Open the preview on ``ticket_id`` and wait for its sidebar. Once the page is loaded only
    the fragment changes, so the page stays: wait for this ticket's panels, not the last one's."""
    from playwright.sync_api import expect

    page.goto(tenant.preview_url(ticket_id))
    expect(page.locator(".ticket-header__id")).to_have_text(f"Ticket {ticket_id}")
    expect(page.locator("#panels")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#panels .panel")).to_have_count(panels)
