"""The audit log: one row per action attempt and per settings change."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import AuditEntry
from megadesk_core.observability.context import current_request_id
from megadesk_core.services.tenants import Principal
from megadesk_core.text_safety import strip_nul


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    outcome: str,
    integration: str | None = None,
    ticket_external_id: str | None = None,
    target: str | None = None,
    detail: str | None = None,
    idempotency_key: str | None = None,
) -> None:
    # Every attempt is audited, also one whose input PostgreSQL cannot store (a NUL character
    # in a target): the row keeps what can be kept instead of being lost with a 500.
    detail = strip_nul(detail)
    session.add(
        AuditEntry(
            tenant_id=principal.tenant_id,
            actor_token_id=principal.token_id,
            actor_name=principal.name,
            actor_role=principal.role.value,
            ticket_external_id=strip_nul(ticket_external_id),
            integration=strip_nul(integration),
            action=strip_nul(action) or "",
            target=strip_nul(target),
            outcome=outcome,
            detail=detail[:2000] if detail else None,
            idempotency_key=strip_nul(idempotency_key),
            request_id=current_request_id(),  # the X-Request-ID the response carries
        )
    )
    await session.commit()


async def list_entries(
    session: AsyncSession, tenant_id: str, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    query = query.order_by(col(AuditEntry.id).desc()).limit(limit)
    return list((await session.exec(query)).all())
