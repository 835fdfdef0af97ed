"""Idempotency records: a claim left by a dead process is taken over once; old records are pruned."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from megadesk_core.db.engine import Database
from megadesk_core.db.models import utcnow
from megadesk_core.migrate import upgrade_database
from megadesk_core.services import idempotency
from megadesk_core.services.tenants import create_tenant


async def _tenant(db: Database) -> str:
    async with db.session() as session:
        return (await create_tenant(session, "acme")).id


async def _age(db: Database, key: str, minutes: int) -> None:
    async with db.session() as session:
        await session.exec(
            sa.text("UPDATE idempotency_record SET created_at = :at, heartbeat_at = :at WHERE key = :key").bindparams(
                at=utcnow() - timedelta(minutes=minutes), key=key
            )
        )
        await session.commit()


async def test_a_stale_running_claim_is_taken_over_by_exactly_one_retry(megadesk_database_url):
    upgrade_database(megadesk_database_url)
    db = Database(megadesk_database_url)
    try:
        tenant = await _tenant(db)
        async with db.session() as session:
            first = await idempotency.claim(session, tenant, "k", "print")
            assert first.record is not None
        async with db.session() as session:  # a retry while the first may still be running
            busy = await idempotency.claim(session, tenant, "k", "print")
            assert busy.conflict is not None and "still running" in busy.conflict
        await _age(db, "k", minutes=10)  # the first request's process died long ago

        async def retry() -> idempotency.Claim:
            async with db.session() as session:
                return await idempotency.claim(
                    session, tenant, "k", "print", owner="retry", expiry=timedelta(minutes=5)
                )

        results = await asyncio.gather(retry(), retry())
        assert sum(r.record is not None for r in results) == 1
        assert sum(r.conflict is not None for r in results) == 1
    finally:
        await db.dispose()


async def test_prune_forgets_old_finished_records_only(megadesk_database_url):
    upgrade_database(megadesk_database_url)
    db = Database(megadesk_database_url)
    try:
        tenant = await _tenant(db)
        async with db.session() as session:
            for key in ("old", "new", "running"):
                claim = await idempotency.claim(session, tenant, key, "print")
                assert claim.record is not None
                if key != "running":
                    await idempotency.finish(session, claim.record, 200, {"ok": True})
        await _age(db, "old", minutes=60 * 72)
        await _age(db, "running", minutes=60 * 72)
        async with db.session() as session:
            assert await idempotency.prune(session, timedelta(hours=48)) == 1
            replay = await idempotency.claim(session, tenant, "new", "print")
            assert replay.replay is not None
            fresh = await idempotency.claim(session, tenant, "old", "print")
            assert fresh.record is not None  # forgotten: the key acts anew
    finally:
        await db.dispose()
