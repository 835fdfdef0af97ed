"""What decides whether a ticket's kept panels are still the ones to serve, read cheaply.

A warm sidebar is served from kept panel JSON; all it needs from the database is the ticket's
and each enabled installation's ``updated_at`` (they are part of every panel's cache key). This
reads just those, in one query on a plain connection (:meth:`Database.quick_read`): no ORM
objects, no JSON columns decoded.
Only when a panel has to be rendered are the full rows read (``ticket_and_enabled_installations``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select

from megadesk_core.db.engine import Database
from megadesk_core.db.models import IntegrationInstallation, Ticket
from megadesk_core.hashing import fingerprint


@dataclass(frozen=True)
class SidebarState:
    """A ticket's ``updated_at`` and its tenant's enabled integrations' (name, ``updated_at``)."""

    ticket_updated_at: datetime
    installations: tuple[tuple[str, datetime], ...]


_ticket = Ticket.__table__  # type: ignore[attr-defined]
_installation = IntegrationInstallation.__table__  # type: ignore[attr-defined]
_SIDEBAR_STATE = (
    select(_ticket.c.updated_at, _installation.c.integration, _installation.c.updated_at)
    .select_from(
        _ticket.outerjoin(
            _installation,
            and_(_installation.c.tenant_id == _ticket.c.tenant_id, _installation.c.enabled.is_(True)),
        )
    )
    .where(_ticket.c.tenant_id == bindparam("tenant_id"), _ticket.c.external_id == bindparam("external_id"))
)


async def sidebar_state(database: Database, tenant_id: str, external_id: str) -> SidebarState | None:
    """``None`` when the tenant has no such ticket."""
    rows = await database.quick_read(_SIDEBAR_STATE, {"tenant_id": tenant_id, "external_id": external_id})
    if not rows:
        return None
    # (ticket updated_at, integration, installation updated_at), one row per enabled integration
    installations = tuple((name, updated_at) for _, name, updated_at in rows if name is not None)
    return SidebarState(ticket_updated_at=rows[0][0], installations=installations)


def panel_state(
    ticket_external_id: str,
    ticket_updated_at: datetime,
    selection: str | None,
    installation_updated_at: datetime,
    page: str | None = None,
) -> str:
    """The part of a panel's cache key that the request, the ticket and the settings decide: a
    ticket upsert or a settings change makes a new key by itself."""
    return fingerprint(
        ticket_external_id, ticket_updated_at.isoformat(), selection, installation_updated_at.isoformat(), page
    )
