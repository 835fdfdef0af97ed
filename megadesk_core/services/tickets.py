"""Tickets as Megadesk sends them, and what each integration may see of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import Ticket, utcnow
from megadesk_core.types import TicketContext


async def upsert_ticket(
    session: AsyncSession,
    tenant_id: str,
    external_id: str,
    *,
    requester_email: str | None,
    subject: str | None,
    custom_data: dict[str, Any],
) -> tuple[Ticket, bool]:
    """Create or replace a ticket's context; returns the row and whether it was created.

    Megadesk may send the same new ticket twice at once: the loser of the insert race updates.
    """
    for _ in range(2):
        ticket = await get_ticket(session, tenant_id, external_id)
        created = ticket is None
        if ticket is None:
            ticket = Ticket(tenant_id=tenant_id, external_id=external_id)
        ticket.requester_email = requester_email
        ticket.subject = subject
        ticket.custom_data = custom_data
        ticket.updated_at = utcnow()
        session.add(ticket)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            continue
        return ticket, created
    raise RuntimeError(f"ticket {external_id!r} could not be saved: it keeps changing under us")


# Built once with bound parameters: building the expression costs more CPU than running it, and
# every sidebar request runs it.
_TICKET_BY_EXTERNAL_ID = select(Ticket).where(
    col(Ticket.tenant_id) == bindparam("tenant_id"), col(Ticket.external_id) == bindparam("external_id")
)


async def get_ticket(session: AsyncSession, tenant_id: str, external_id: str) -> Ticket | None:
    params = {"tenant_id": tenant_id, "external_id": external_id}
    return (await session.exec(_TICKET_BY_EXTERNAL_ID, params=params)).first()


async def list_tickets(session: AsyncSession, tenant_id: str, *, limit: int = 100) -> list[Ticket]:
    query = select(Ticket).where(Ticket.tenant_id == tenant_id).order_by(col(Ticket.updated_at).desc()).limit(limit)
    return list((await session.exec(query)).all())


def integration_block(custom_data: dict[str, Any], integration: str) -> dict[str, Any]:
    integrations = custom_data.get("integrations")
    if isinstance(integrations, dict):
        block = integrations.get(integration)
        if isinstance(block, dict):
            return block
    return {}


def ticket_context(
    ticket: Ticket, integration: str, selection: str | None = None, page: str | None = None
) -> TicketContext:
    """The ticket as one integration sees it: only its own ``integrations.<name>`` block, with
    the agent's choice among matches and the table page they asked for."""
    return TicketContext(
        ticket_id=ticket.external_id,
        requester_email=ticket.requester_email,
        subject=ticket.subject,
        custom_data=integration_block(ticket.custom_data, integration),
        selection=selection,
        page=page,
    )
