"""``Idempotency-Key`` for action requests: the same key replays the first result.

The first request with a key claims it (a unique row, committed together with the attempt's
``pending`` audit row); a concurrent duplicate sees it in progress; a finished one is replayed;
the same key with a different request is refused. Failures that are certainly harmless (the
host refused, upstream rate-limited) release the key.

A claim has an owner (:func:`process_owner`) that renews its heartbeat while the action runs
(:mod:`megadesk_core.services.heartbeat`). A claim whose heartbeat expired belongs to a process
presumed dead, and one in state ``unknown`` ended without knowing whether upstream acted: both
are resolved by recovery (:mod:`megadesk_core.services.recovery`, read-only) or taken over by a
retry, which the plugin is told about (``earlier_attempt_unknown``) so that it looks before it
writes. Even a plugin that writes again is safe for money: its upstream idempotency keys
(Stripe's) derive from this key, so upstream replays the first write instead of acting twice.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import AuditEntry, IdempotencyRecord, utcnow

MAX_KEY_LENGTH = 255
DEFAULT_EXPIRY = timedelta(seconds=30)
RUNNING, UNKNOWN, DONE = "running", "unknown", "done"

_owner: tuple[int, str] | None = None


def process_owner() -> str:
    """This process, as the owner of the claims it runs: host, pid and a nonce drawn at start
    (a pid is reused after a restart, a nonce is not). Drawn again in a forked worker."""
    global _owner
    if _owner is None or _owner[0] != os.getpid():
        _owner = (os.getpid(), f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(6)}")
    return _owner[1]


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ``record`` is ours to finish, or ``replay`` is set.

    ``earlier_attempt_unknown``: we took the claim over from an attempt whose outcome nobody
    knows (its process died, or it timed out): upstream may already have acted on this key."""

    record: IdempotencyRecord | None
    replay: IdempotencyRecord | None = None
    conflict: str | None = None
    earlier_attempt_unknown: bool = False


def _last_sign_of_life() -> Any:
    return func.coalesce(col(IdempotencyRecord.heartbeat_at), col(IdempotencyRecord.created_at))


def _orphaned(expiry: timedelta) -> Any:
    """A claim nobody is running any more: its outcome is unknown, or its owner stopped renewing it."""
    return or_(
        col(IdempotencyRecord.state) == UNKNOWN,
        and_(col(IdempotencyRecord.state) == RUNNING, _last_sign_of_life() < utcnow() - expiry),
    )


async def _find(session: AsyncSession, tenant_id: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key)
    return (await session.exec(query)).first()


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


async def take_over(
    session: AsyncSession,
    record: IdempotencyRecord,
    owner: str,
    expiry: timedelta,
    attempt: AuditEntry | None = None,
) -> bool:
    """Make an orphaned claim ours; of several processes trying at once, exactly one wins.

    ``attempt`` (a new ``pending`` audit row) becomes the claim's attempt; the one it replaces,
    if still pending, is marked ``unknown`` and points at the new one. One transaction."""
    previous = record.audit_entry_id
    if attempt is not None:
        session.add(attempt)
        await session.flush()
    values: dict[str, Any] = {
        "state": RUNNING,
        "owner": owner,
        "heartbeat_at": utcnow(),
        "audit_entry_id": attempt.id if attempt is not None else previous,
    }
    result = await session.exec(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.id) == record.id, _orphaned(expiry))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    won = _rowcount(result) == 1
    if not won:
        await session.rollback()
        return False
    if attempt is not None and previous is not None:
        await session.exec(
            update(AuditEntry)
            .where(col(AuditEntry.id) == previous, col(AuditEntry.outcome) == "pending")
            .values(
                outcome=UNKNOWN,
                detail=f"The process running this attempt stopped; audit entry {attempt.id} retried it.",
                completed_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
    await session.commit()
    for name, value in values.items():  # ``record`` may belong to another (closed) session
        setattr(record, name, value)
    return True


async def claim(
    session: AsyncSession,
    tenant_id: str,
    key: str,
    request_fingerprint: str,
    *,
    owner: str | None = None,
    expiry: timedelta = DEFAULT_EXPIRY,
    attempt: AuditEntry | None = None,
) -> Claim:
    """Claim ``key`` for this request. ``attempt``, the attempt's ``pending`` audit row, is
    committed with the claim (and only with it: a replay or conflict does not add it)."""
    owner = owner or process_owner()
    existing = await _find(session, tenant_id, key)
    if existing is None:
        record = IdempotencyRecord(
            tenant_id=tenant_id,
            key=key,
            fingerprint=request_fingerprint,
            state=RUNNING,
            owner=owner,
            heartbeat_at=utcnow(),
        )
        session.add(record)
        try:
            if attempt is not None:
                session.add(attempt)
                await session.flush()
                record.audit_entry_id = attempt.id
            await session.commit()
            return Claim(record=record)
        except IntegrityError:
            await session.rollback()  # another request claimed it first
            if attempt is not None:
                attempt.id = None  # not written: the take-over below may write it
            existing = await _find(session, tenant_id, key)
            if existing is None:
                raise
    if existing.fingerprint != request_fingerprint:
        return Claim(
            record=None,
            conflict="This Idempotency-Key was already used for a different request; use a new key.",
        )
    if existing.state == DONE:
        return Claim(record=None, replay=existing)
    if await take_over(session, existing, owner, expiry, attempt):
        return Claim(record=existing, earlier_attempt_unknown=True)
    return Claim(record=None, conflict="A request with this Idempotency-Key is still running; retry shortly.")


async def renew(session: AsyncSession, record_id: int, owner: str) -> bool:
    """The owner's heartbeat; ``False`` once the claim is no longer this owner's."""
    result = await session.exec(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.id) == record_id,
            col(IdempotencyRecord.owner) == owner,
            col(IdempotencyRecord.state) == RUNNING,
        )
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return _rowcount(result) == 1


def _owned(record: IdempotencyRecord, owner: str | None) -> Any:
    clause = col(IdempotencyRecord.id) == record.id
    return and_(clause, col(IdempotencyRecord.owner) == owner) if owner is not None else clause


async def finish(
    session: AsyncSession,
    record: IdempotencyRecord,
    status_code: int,
    response: dict[str, Any],
    *,
    owner: str | None = None,
    commit: bool = True,
) -> None:
    """Store the result to replay. ``record`` may come from another (closed) session: the
    claim and its conclusion are separate short units of work around the plugin call. With
    ``owner``, only while the claim is still that owner's. ``commit=False``: the caller commits
    (with the attempt's audit row, so that the two never disagree)."""
    await session.exec(
        update(IdempotencyRecord)
        .where(_owned(record, owner))
        .values(state=DONE, status_code=status_code, response=response, owner=None)
        .execution_options(synchronize_session=False)
    )
    if commit:
        await session.commit()


async def mark_unknown(
    session: AsyncSession, record: IdempotencyRecord, *, owner: str | None = None, commit: bool = True
) -> None:
    """The attempt ended and nobody knows whether upstream acted: recovery or a retry finds out."""
    await session.exec(
        update(IdempotencyRecord)
        .where(_owned(record, owner))
        .values(state=UNKNOWN, owner=None)
        .execution_options(synchronize_session=False)
    )
    if commit:
        await session.commit()


async def release(
    session: AsyncSession, record: IdempotencyRecord, *, owner: str | None = None, commit: bool = True
) -> None:
    """Forget the claim, so that the same key may be used again (nothing happened upstream)."""
    await session.exec(delete(IdempotencyRecord).where(_owned(record, owner)))
    if commit:
        await session.commit()


async def orphaned(session: AsyncSession, expiry: timedelta, limit: int = 100) -> list[IdempotencyRecord]:
    """Claims nobody runs any more (dead owner, or outcome unknown), oldest first."""
    query = select(IdempotencyRecord).where(_orphaned(expiry)).order_by(col(IdempotencyRecord.id)).limit(limit)
    return list((await session.exec(query)).all())


async def prune(session: AsyncSession, older_than: timedelta) -> int:
    """Forget finished records older than ``older_than`` (their keys can no longer replay)."""
    result = await session.exec(
        delete(IdempotencyRecord)
        .where(col(IdempotencyRecord.state) == DONE, col(IdempotencyRecord.created_at) < utcnow() - older_than)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return _rowcount(result)
