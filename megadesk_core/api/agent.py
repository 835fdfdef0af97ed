"""Agent endpoints: tickets, the sidebar, one panel, and running an action."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.api.integrations_views import action_out
from megadesk_core.api.schemas import NO_NUL, ActionOut, TicketOut, TicketUpsert
from megadesk_core.api.state import HostState
from megadesk_core.db.models import IntegrationInstallation, Ticket
from megadesk_core.errors import RequestError, not_found
from megadesk_core.observability.context import integration_scope
from megadesk_core.panel import Sidebar, SidebarPanel
from megadesk_core.plugins import LoadedIntegration
from megadesk_core.services import tickets
from megadesk_core.services.actions import ActionCall, run_action
from megadesk_core.services.idempotency import MAX_KEY_LENGTH
from megadesk_core.services.installations import get_installation, ticket_and_enabled_installations
from megadesk_core.services.sidebar import sidebar_json
from megadesk_core.services.sidebar_state import sidebar_state
from megadesk_core.services.tenants import Principal

FRESH_DESCRIPTION = "Skip the shared panel cache (e.g. an agent's explicit reload)."
MAX_SELECTIONS = 20
MAX_SELECT_LENGTH = 255
TICKET_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""What the database and Megadesk's screens can hold: no control characters (NUL included)."""
SELECT_DESCRIPTION = "The agent's choice among several matching records (from a choice block)."
PAGE_DESCRIPTION = (
    "A table's next page: the cursor of its next_page ('show more'). The panel's table of the same title "
    "then holds the rows from there on."
)


def _ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        id=ticket.external_id,
        requester_email=ticket.requester_email,
        subject=ticket.subject,
        custom_data=ticket.custom_data,
        updated_at=ticket.updated_at,
    )


async def _ticket(db_session: AsyncSession, principal: Principal, ticket_id: str) -> Ticket:
    ticket = await tickets.get_ticket(db_session, principal.tenant_id, ticket_id)
    if ticket is None:
        raise not_found(f"Ticket {ticket_id!r}")
    return ticket


async def _enabled(
    host: HostState, db_session: AsyncSession, principal: Principal, name: str
) -> tuple[LoadedIntegration, IntegrationInstallation]:
    """The integration if this tenant enabled it; otherwise it does not exist for them (404)."""
    integration = host.registry.get(name)
    row = await get_installation(db_session, principal.tenant_id, name) if integration else None
    if integration is None or row is None or not row.enabled:
        raise not_found(f"Integration {name!r}")
    return integration, row


class TicketController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    @put(
        "/{ticket_id:str}",
        operation_id="upsertTicket",
        summary="Megadesk sends a ticket's context",
        responses={201: ResponseSpec(TicketOut, description="The ticket was new.")},
    )
    async def upsert(
        self,
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        ticket_id: Annotated[
            str,
            PathParameter(
                min_length=1,
                max_length=128,
                pattern=TICKET_ID_PATTERN,
                description="Megadesk's ticket id: 1 to 128 characters, no control characters.",
            ),
        ],
        data: JSONBody[TicketUpsert],
    ) -> Response[TicketOut]:
        ticket, created = await tickets.upsert_ticket(
            db_session,
            admin.tenant_id,
            ticket_id,
            requester_email=data.requester_email,
            subject=data.subject,
            custom_data=data.custom_data,
        )
        return Response(_ticket_out(ticket), status_code=201 if created else 200)

    @get("/", operation_id="listTickets")
    async def list_tickets(
        self,
        agent: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[TicketOut]:
        return [_ticket_out(t) for t in await tickets.list_tickets(db_session, agent.tenant_id, limit=limit)]

    @get("/{ticket_id:str}", operation_id="getTicket")
    async def get_ticket(
        self, agent: NamedDependency[Principal], db_session: NamedDependency[AsyncSession], ticket_id: FromPath[str]
    ) -> TicketOut:
        return _ticket_out(await _ticket(db_session, agent, ticket_id))

    @get(
        "/{ticket_id:str}/sidebar",
        operation_id="getSidebar",
        summary="Every enabled integration's panel",
        responses={
            200: ResponseSpec(Sidebar, description="Every enabled integration's panel.", generate_examples=False)
        },
    )
    async def sidebar(
        self,
        host: NamedDependency[HostState],
        agent: NamedDependency[Principal],
        ticket_id: FromPath[str],
        select: Annotated[
            list[Annotated[str, QueryParameter(max_length=MAX_SELECT_LENGTH)]] | None,
            QueryParameter(
                max_items=MAX_SELECTIONS,
                description="Choices as 'integration:value', e.g. stripe:cus_123 (repeatable).",
            ),
        ] = None,
        fresh: Annotated[bool, QueryParameter(description=FRESH_DESCRIPTION)] = False,
    ) -> Response[bytes]:
        # Read, release the connection, then render: plugins wait on remote APIs, and a pooled
        # connection held through that wait would cap concurrent renders at the pool's size.
        # Declared in the parameter's schema; Litestar does not enforce it on a repeated parameter.
        if select and (len(select) > MAX_SELECTIONS or any(len(item) > MAX_SELECT_LENGTH for item in select)):
            raise RequestError(
                400,
                "invalid_request",
                f"Send at most {MAX_SELECTIONS} 'select' values of at most {MAX_SELECT_LENGTH} characters each.",
                errors=[{"field": "select", "message": "too many or too long"}],
            )
        selection = dict(item.partition(":")[::2] for item in select or [] if ":" in item)
        if not fresh:  # the warm path: one small query, then the kept panels' JSON as stored
            state = await sidebar_state(host.database, agent.tenant_id, ticket_id)
            if state is None:
                raise not_found(f"Ticket {ticket_id!r}")
            kept = await host.renderer.kept_sidebar(agent.tenant_id, ticket_id, state, selection=selection)
            if kept is not None:
                return Response(sidebar_json(ticket_id, kept), media_type="application/json")
        # Something to render: read the full rows, release the connection, then render.
        async with host.database.session() as db_session:
            ticket, installations = await ticket_and_enabled_installations(db_session, agent.tenant_id, ticket_id)
        if ticket is None:
            raise not_found(f"Ticket {ticket_id!r}")
        panels = await host.renderer.stored_sidebar(ticket, installations, selection=selection, fresh=fresh)
        return Response(sidebar_json(ticket.external_id, panels), media_type="application/json")

    @get(
        "/{ticket_id:str}/panels/{integration:str}",
        operation_id="getPanel",
        summary="One integration's panel",
        responses={200: ResponseSpec(SidebarPanel, description="The integration's panel.", generate_examples=False)},
    )
    async def panel(
        self,
        host: NamedDependency[HostState],
        agent: NamedDependency[Principal],
        ticket_id: FromPath[str],
        integration: FromPath[str],
        select: Annotated[str | None, QueryParameter(max_length=255, description=SELECT_DESCRIPTION)] = None,
        fresh: Annotated[bool, QueryParameter(description=FRESH_DESCRIPTION)] = False,
        page: Annotated[
            str | None, QueryParameter(max_length=255, pattern=NO_NUL, description=PAGE_DESCRIPTION)
        ] = None,
    ) -> Response[bytes]:
        async with host.database.session() as db_session:
            ticket = await _ticket(db_session, agent, ticket_id)
            loaded, row = await _enabled(host, db_session, agent, integration)
        stored = await host.renderer.stored_panel(ticket, row, loaded, select, fresh=fresh, page=page)
        return Response(stored.body.encode(), media_type="application/json")

    @post(
        "/{ticket_id:str}/panels/{integration:str}/actions/{action:str}",
        operation_id="runAction",
        summary="Run an integration's action on this ticket",
        status_code=200,
    )
    async def run(
        self,
        host: NamedDependency[HostState],
        agent: NamedDependency[Principal],
        ticket_id: FromPath[str],
        integration: FromPath[str],
        action: FromPath[str],
        data: JSONBody[dict[str, Any]],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                max_length=MAX_KEY_LENGTH,
                description="Required. The same key replays the first result.",
            ),
        ] = None,
        select: Annotated[str | None, QueryParameter(max_length=255, description=SELECT_DESCRIPTION)] = None,
    ) -> Response[dict[str, Any]]:
        async with host.database.session() as db_session:
            ticket = await _ticket(db_session, agent, ticket_id)
            loaded, row = await _enabled(host, db_session, agent, integration)
        spec = loaded.actions.get(action)
        if spec is None:
            raise not_found(f"Action {action!r} of {integration!r}")
        if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
            raise RequestError(
                400,
                "idempotency_key_required",
                f"Send an Idempotency-Key header (1 to {MAX_KEY_LENGTH} characters, e.g. a UUID) so that a "
                "retry never runs the action twice.",
            )
        with integration_scope(integration, action):  # for the log lines of the action's work
            outcome = await run_action(
                host.database,
                host.renderer,
                ActionCall(agent, ticket, row, loaded, spec, data, idempotency_key, select),
                timeout=host.settings.action_timeout_seconds,
                timing=host.claim_timing,
            )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        media_type = "application/json" if outcome.status < 400 else "application/problem+json"
        return Response(outcome.body, status_code=outcome.status, headers=headers, media_type=media_type)


class IntegrationActionsController(Controller):
    path = "/api/v1/integrations"
    tags = ["agents"]

    @get("/{name:str}/actions", operation_id="listActions", summary="An enabled integration's declared actions")
    async def list_actions(
        self,
        host: NamedDependency[HostState],
        agent: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
    ) -> list[ActionOut]:
        loaded, row = await _enabled(host, db_session, agent, name)
        return action_out(loaded, row)
