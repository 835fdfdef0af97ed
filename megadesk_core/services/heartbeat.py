"""Keeping a claim alive while its action runs: a heartbeat in short sessions of its own.

The heartbeat is what tells a running action from one whose process died: another process
takes a claim over, or recovery resolves it, only once its heartbeat is older than the expiry
(``claim_expiry_seconds``). Each beat is one short UPDATE; no session is held in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from megadesk_core.db.engine import Database
from megadesk_core.services import idempotency
from megadesk_core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimTiming:
    """How often an owner renews its claims, and after how long silence a claim is orphaned."""

    heartbeat_seconds: float = 5.0
    expiry_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ClaimTiming:
        return cls(settings.claim_heartbeat_seconds, settings.claim_expiry_seconds)


async def _beat(database: Database, record_id: int, owner: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            async with database.session() as session:
                if not await idempotency.renew(session, record_id, owner):
                    log.warning("claim %s is no longer held by this process (taken over after a stall?)", record_id)
                    return
        except Exception:  # a database hiccup: the next beat tries again, well before the expiry
            log.warning("could not renew claim %s", record_id, exc_info=True)


@asynccontextmanager
async def kept_alive(database: Database, record_id: int, owner: str, every: float) -> AsyncIterator[None]:
    """Renew the claim every ``every`` seconds while the body runs."""
    task = asyncio.create_task(_beat(database, record_id, owner, every), name=f"claim-heartbeat-{record_id}")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
