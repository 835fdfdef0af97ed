"""``Idempotency-Key`` for action requests: the same key replays the first result.

The first request with a key claims it (a unique row); a concurrent duplicate sees it in
progress; a finished one is replayed; the same key with a different request is refused.
Failures that are worth retrying (upstream down, rate limits) release the key.

A claim whose process died before finishing would block its key for good, so a retry may take
over a claim older than ``stale_after``. That is safe for money: the plugin derives its
upstream idempotency keys (Stripe's) from this key, so if the dead request's write did reach
upstream, the retry's write is answered with the same result instead of acting twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import IdempotencyRecord, utcnow

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ``record`` is ours to finish, or ``replay`` is set."""

    record: IdempotencyRecord | None
    replay: IdempotencyRecord | None = None
    conflict: str | None = None


async def _find(session: AsyncSession, tenant_id: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key)
    return (await session.exec(query)).first()


async def _take_over(session: AsyncSession, record: IdempotencyRecord, stale_after: timedelta) -> bool:
    """Claim a stale running record for this request; only one of several retries wins."""
    result = await session.exec(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.id) == record.id,
            col(IdempotencyRecord.state) == "running",
            col(IdempotencyRecord.created_at) < utcnow() - stale_after,
        )
        .values(created_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    await session.refresh(record)
    return isinstance(result, CursorResult) and result.rowcount == 1


async def claim(
    session: AsyncSession,
    tenant_id: str,
    key: str,
    request_fingerprint: str,
    *,
    stale_after: timedelta = timedelta(minutes=5),
) -> Claim:
    existing = await _find(session, tenant_id, key)
    if existing is None:
        record = IdempotencyRecord(tenant_id=tenant_id, key=key, fingerprint=request_fingerprint, state="running")
        session.add(record)
        try:
            await session.commit()
            return Claim(record=record)
        except IntegrityError:
            await session.rollback()  # another request claimed it first
            existing = await _find(session, tenant_id, key)
            if existing is None:
                raise
    if existing.fingerprint != request_fingerprint:
        return Claim(
            record=None,
            conflict="This Idempotency-Key was already used for a different request; use a new key.",
        )
    if existing.state != "done":
        if await _take_over(session, existing, stale_after):
            return Claim(record=existing)
        return Claim(record=None, conflict="A request with this Idempotency-Key is still running; retry shortly.")
    return Claim(record=None, replay=existing)


async def finish(session: AsyncSession, record: IdempotencyRecord, status_code: int, response: dict[str, Any]) -> None:
    """Store the result to replay. ``record`` may come from another (closed) session: the
    claim and its conclusion are separate short units of work around the plugin call."""
    await session.exec(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.id) == record.id)
        .values(state="done", status_code=status_code, response=response)
    )
    await session.commit()


async def release(session: AsyncSession, record: IdempotencyRecord) -> None:
    """Forget the claim, so that the same key may be used again (nothing happened upstream)."""
    await session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == record.id))
    await session.commit()


async def prune(session: AsyncSession, older_than: timedelta) -> int:
    """Forget finished records older than ``older_than`` (their keys can no longer replay)."""
    result = await session.exec(
        delete(IdempotencyRecord)
        .where(col(IdempotencyRecord.state) == "done", col(IdempotencyRecord.created_at) < utcnow() - older_than)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return result.rowcount if isinstance(result, CursorResult) else 0
