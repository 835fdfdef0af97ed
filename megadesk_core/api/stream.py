"""One stream per agent: the panels of the tickets they have open, as each is ready, then again
whenever one changes upstream.

``GET /api/v1/stream?ticket=T-1&ticket=T-2`` answers with server-sent events, read with
``fetch`` so the token stays in the ``Authorization`` header. Opening or closing a ticket means
opening a new stream with the new list (the old one is closed): one connection per agent,
however many tickets are open. Events:

* ``panel``: ``{"ticket_id", "updated", "panel"}``, one per panel as soon as it is rendered (a
  slow integration delays only its own); ``updated`` is true when it replaces a panel the
  stream sent before because the data changed;
* ``stale``: ``{"ticket_id", "integration"}``, the panel's data just changed upstream; its new
  render follows as a ``panel`` event;
* ``missing``: ``{"ticket_id"}``, no such ticket (for this tenant).

Only the caller's tenant's tickets and changes reach the stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from megadesk_core.api.state import HostState
from megadesk_core.errors import RequestError
from megadesk_core.panel_cache import StoredPanel
from megadesk_core.services.changes import PanelChange
from megadesk_core.services.installations import ticket_and_enabled_installations
from megadesk_core.services.tenants import Principal

log = logging.getLogger(__name__)

MAX_STREAM_TICKETS = 20
KEEPALIVE_SECONDS = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""


@dataclass(frozen=True)
class _Rendered:
    ticket_id: str
    panel: StoredPanel
    updated: bool


@dataclass(frozen=True)
class _Missing:
    ticket_id: str


def _panel_event(rendered: _Rendered) -> ServerSentEventMessage:
    head = json.dumps({"ticket_id": rendered.ticket_id, "updated": rendered.updated}, separators=(",", ":"))
    return ServerSentEventMessage(data=f'{head[:-1]},"panel":{rendered.panel.body}}}', event="panel")


class SidebarStream:
    """The panels of one agent's open tickets, and their updates (see the module docstring)."""

    def __init__(self, host: HostState, tenant_id: str, ticket_ids: list[str]) -> None:
        self.host = host
        self.tenant_id = tenant_id
        self.ticket_ids = list(dict.fromkeys(ticket_ids))
        self.ready: asyncio.Queue[_Rendered | _Missing | PanelChange] = asyncio.Queue()
        self.shown: dict[tuple[str, str], frozenset[str]] = {}
        """(ticket, integration) -> the objects its last panel showed."""
        self.tasks: set[asyncio.Task[None]] = set()

    async def _render(self, ticket_id: str, integration: str | None, *, updated: bool) -> None:
        """Every enabled integration's panel of the ticket (or one), each queued when ready."""
        async with self.host.database.session() as session:
            ticket, installations = await ticket_and_enabled_installations(session, self.tenant_id, ticket_id)
        if ticket is None:
            self.ready.put_nowait(_Missing(ticket_id))
            return
        renderer = self.host.renderer

        async def one(row_integration: str) -> None:
            row = next(r for r in installations if r.integration == row_integration)
            loaded = self.host.registry.get(row.integration)
            if loaded is None:
                return
            stored = await renderer.stored_panel(ticket, row, loaded)
            self.ready.put_nowait(_Rendered(ticket_id, stored, updated))

        names = [r.integration for r in installations if integration is None or r.integration == integration]
        await asyncio.gather(*(one(name) for name in names))

    def _start(self, ticket_id: str, integration: str | None = None, *, updated: bool = False) -> None:
        task = asyncio.create_task(self._render(ticket_id, integration, updated=updated))
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a streamed panel failed to render", exc_info=task.exception())

    def _affected(self, change: PanelChange) -> list[tuple[str, str]]:
        changed = set(change.objects)
        return [
            (ticket_id, integration)
            for (ticket_id, integration), objects in self.shown.items()
            if integration == change.integration and objects & changed
        ]

    async def events(self) -> AsyncIterator[ServerSentEventMessage]:
        async with self.host.changes.subscribe(self.tenant_id) as changes:
            forward = asyncio.create_task(self._forward(changes))
            try:
                for ticket_id in self.ticket_ids:
                    self._start(ticket_id)
                while True:
                    try:
                        async with asyncio.timeout(KEEPALIVE_SECONDS):
                            item = await self.ready.get()
                    except TimeoutError:
                        yield ServerSentEventMessage(comment="keep-alive")
                        continue
                    if isinstance(item, _Missing):
                        yield ServerSentEventMessage(data=json.dumps({"ticket_id": item.ticket_id}), event="missing")
                        continue
                    if isinstance(item, _Rendered):
                        self.shown[(item.ticket_id, item.panel.integration)] = frozenset(item.panel.objects)
                        yield _panel_event(item)
                        continue
                    for ticket_id, integration in self._affected(item):
                        data = json.dumps({"ticket_id": ticket_id, "integration": integration})
                        yield ServerSentEventMessage(data=data, event="stale")
                        self._start(ticket_id, integration, updated=True)
            finally:
                forward.cancel()
                for task in list(self.tasks):
                    task.cancel()
                await asyncio.gather(forward, *self.tasks, return_exceptions=True)

    async def _forward(self, changes: asyncio.Queue[PanelChange]) -> None:
        while True:
            change = await changes.get()
            if change.tenant_id == self.tenant_id:
                self.ready.put_nowait(change)


@get(
    "/api/v1/stream",
    operation_id="streamSidebars",
    summary="The agent's open tickets' panels as each is ready, then their updates (server-sent events)",
    tags=["tickets"],
)
async def stream_sidebars(
    host: NamedDependency[HostState],
    agent: NamedDependency[Principal],
    ticket: Annotated[
        list[Annotated[str, QueryParameter(min_length=1, max_length=128)]] | None,
        QueryParameter(
            max_items=MAX_STREAM_TICKETS, description="The ids of the tickets the agent has open (1 to 20)."
        ),
    ] = None,
) -> ServerSentEvent:
    # Optional in the signature and checked here, so that the token is checked first (401).
    if not ticket or len(ticket) > MAX_STREAM_TICKETS or any(not 0 < len(t) <= 128 for t in ticket):
        raise RequestError(
            400,
            "invalid_request",
            f"Send 1 to {MAX_STREAM_TICKETS} 'ticket' ids of 1 to 128 characters each.",
            errors=[{"field": "ticket", "message": "too many, none, or too long"}],
        )
    stream = SidebarStream(host, agent.tenant_id, ticket)
    return ServerSentEvent(stream.events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
