"""The audit log: one row per action attempt and per settings change.

An action attempt that may reach upstream is written ahead: :func:`pending_entry` builds its row
(actor, tenant, ticket, target, request, idempotency key), committed with the idempotency claim
before the plugin runs; :func:`note_customer` adds the customer once resolved, and
:func:`complete` its outcome afterwards, by the process that ran it or by recovery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import AuditEntry, utcnow
from megadesk_core.observability.context import current_request_id
from megadesk_core.services.tenants import Principal
from megadesk_core.text_safety import strip_nul

PENDING = "pending"
OPEN_OUTCOMES = (PENDING, "unknown")
"""Outcomes a later, better-informed conclusion may still replace."""


def _detail(detail: str | None) -> str | None:
    detail = strip_nul(detail)
    return detail[:2000] if detail else None


def money_of(values: dict[str, Any]) -> tuple[int | None, str | None]:
    """``amount`` (minor units, an integer) and ``currency`` when ``values`` carries them."""
    amount, currency = values.get("amount"), values.get("currency")
    return (
        amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency.lower()[:3] if isinstance(currency, str) and currency else None,
    )


def entry(
    principal: Principal,
    *,
    action: str,
    outcome: str,
    integration: str | None = None,
    ticket_external_id: str | None = None,
    target: str | None = None,
    detail: str | None = None,
    idempotency_key: str | None = None,
    request: dict[str, Any] | None = None,
) -> AuditEntry:
    # Every attempt is audited, also one whose input PostgreSQL cannot store (a NUL character
    # in a target): the row keeps what can be kept instead of being lost with a 500.
    amount, currency = money_of(request.get("payload") or {}) if request else (None, None)
    return AuditEntry(
        tenant_id=principal.tenant_id,
        actor_token_id=principal.token_id,
        actor_name=principal.name,
        actor_role=principal.role.value,
        ticket_external_id=strip_nul(ticket_external_id),
        integration=strip_nul(integration),
        action=strip_nul(action) or "",
        target=strip_nul(target),
        outcome=outcome,
        detail=_detail(detail),
        idempotency_key=strip_nul(idempotency_key),
        request=request,
        amount=amount,
        currency=currency,
        completed_at=None if outcome == PENDING else utcnow(),
        request_id=current_request_id(),  # the X-Request-ID the response carries
    )


def pending_entry(principal: Principal, **fields: Any) -> AuditEntry:
    """The row of an attempt about to reach upstream (not yet added to a session)."""
    return entry(principal, outcome=PENDING, **fields)


async def record(session: AsyncSession, principal: Principal, **fields: Any) -> None:
    """Write one finished attempt or change (``action``, ``outcome`` and the rest as in :func:`entry`)."""
    session.add(entry(principal, **fields))
    await session.commit()


async def note_customer(session: AsyncSession, entry_id: int, customer_id: str) -> None:
    await session.exec(
        update(AuditEntry)
        .where(col(AuditEntry.id) == entry_id)
        .values(customer_id=(strip_nul(customer_id) or "")[:255] or None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def complete(
    session: AsyncSession,
    entry_id: int,
    outcome: str,
    detail: str | None,
    *,
    reference: str | None = None,
    money: tuple[int | None, str | None] = (None, None),
    commit: bool = True,
) -> bool:
    """Conclude an attempt's row, unless something better informed concluded it already.
    ``money``: what the result reports (kept from the request when it reports nothing)."""
    values: dict[str, Any] = {"outcome": outcome, "detail": _detail(detail), "completed_at": utcnow()}
    if reference is not None:
        values["reference"] = (strip_nul(reference) or "")[:255]
    if money[0] is not None:
        values.update(amount=money[0], currency=money[1])
    result = await session.exec(
        update(AuditEntry)
        .where(col(AuditEntry.id) == entry_id, col(AuditEntry.outcome).in_(OPEN_OUTCOMES))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if commit:
        await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def get_entry(session: AsyncSession, tenant_id: str, entry_id: int) -> AuditEntry | None:
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id, AuditEntry.id == entry_id)
    return (await session.exec(query)).first()


async def list_entries(
    session: AsyncSession, tenant_id: str, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    query = query.order_by(col(AuditEntry.id).desc()).limit(limit)
    return list((await session.exec(query)).all())
