"""Read-only recovery: resolving action attempts whose outcome was lost.

An attempt is lost when its process died (its claim's heartbeat expired, its audit row still
``pending``) or when it ended not knowing whether upstream acted (timeout, 5xx, dropped
connection: state ``unknown``). Recovery takes such a claim over (one process wins), asks the
plugin's ``recover_action`` hook what upstream shows, and concludes both the claim and the
attempt's audit row:

* ``succeeded``: the result is stored to replay, the row says what upstream did;
* ``not_found``: the claim is released (the key may act anew), the row says nothing happened;
* ``unknown`` (or no hook, or an error): the claim is left ``unknown`` for a later pass or the
  agent's retry, which the plugin is told about (``earlier_attempt_unknown``).

Recovery never sends a write upstream: the hook's contract is read-only. It runs at start-up,
every ``recovery_interval_seconds`` in each app process, and on ``megadesk recover``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from megadesk_core.db.engine import Database, PoolLimits
from megadesk_core.db.models import AuditEntry, IdempotencyRecord, IntegrationInstallation, Ticket
from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.keyring import KeyRing
from megadesk_core.panel_cache import PanelCache
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.services import audit, idempotency
from megadesk_core.services.actions import upstream_key
from megadesk_core.services.heartbeat import ClaimTiming, kept_alive
from megadesk_core.services.installations import get_installation, integration_context
from megadesk_core.services.tickets import get_ticket, ticket_context
from megadesk_core.settings import Settings
from megadesk_core.types import RecoveredAction, ResolvedCustomer, TicketContext

log = logging.getLogger(__name__)
RECOVERED_BY = "found by recovery after the process running it stopped"


@dataclass(frozen=True)
class Recovery:
    """What recovery needs of the host."""

    database: Database
    registry: IntegrationRegistry
    keyring: KeyRing
    timing: ClaimTiming
    timeout: float
    cache: PanelCache | None = None


async def recover_orphaned(recovery: Recovery, *, limit: int = 100) -> Counter[str]:
    """One pass over the orphaned claims; counts by what became of them."""
    expiry = timedelta(seconds=recovery.timing.expiry_seconds)
    async with recovery.database.session() as session:
        records = await idempotency.orphaned(session, expiry, limit)
    counts: Counter[str] = Counter()
    for record in records:
        try:
            counts[await _recover_one(recovery, record)] += 1
        except Exception:
            log.exception("recovery of idempotency record %s failed; the next pass tries again", record.id)
            counts["error"] += 1
    if records:
        log.info("recovery: %s", ", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
    return counts


async def _recover_one(recovery: Recovery, record: IdempotencyRecord) -> str:
    db = recovery.database
    async with db.session() as session:
        entry = await audit.get_entry(session, record.tenant_id, record.audit_entry_id or 0)
        if entry is None or entry.integration is None:
            return "skipped"  # a claim from before write-ahead audit: nothing to ask about
        loaded = recovery.registry.get(entry.integration)
        row = await get_installation(session, record.tenant_id, entry.integration) if loaded else None
        ticket = await get_ticket(session, record.tenant_id, entry.ticket_external_id or "")
    if loaded is None or row is None:
        return "skipped"  # not loaded here (another process may have it) or uninstalled
    if record.state == idempotency.UNKNOWN and not recovery.registry.implements(loaded.name, "recover_action"):
        return "skipped"  # already marked unknown; only the agent's retry can tell
    owner = idempotency.process_owner()
    async with db.session() as session:
        if not await idempotency.take_over(session, record, owner, timedelta(seconds=recovery.timing.expiry_seconds)):
            return "skipped"  # another process is on it
    assert record.id is not None
    async with kept_alive(db, record.id, owner, recovery.timing.heartbeat_seconds):
        found = await _ask(recovery, entry, row, ticket)
    title = loaded.manifest.title
    async with db.session() as session:
        if found is not None and found.outcome == "succeeded" and found.result is not None:
            result = found.result
            body = {"result": result.model_dump(mode="json"), "panel": None}
            await idempotency.finish(session, record, 200, body, owner=owner, commit=False)
            await audit.complete(
                session,
                entry.id or 0,
                "succeeded",
                f"{result.message} ({RECOVERED_BY})",
                reference=result.reference,
                money=audit.money_of(result.details),
            )
        elif found is not None and found.outcome == "not_found":
            await idempotency.release(session, record, owner=owner, commit=False)
            await audit.complete(
                session, entry.id or 0, "failed", f"It never reached {title}; nothing was changed ({RECOVERED_BY})."
            )
        else:
            await idempotency.mark_unknown(session, record, owner=owner, commit=False)
            reason = found.detail if found is not None and found.detail else f"{title} could not tell what happened"
            await audit.complete(
                session,
                entry.id or 0,
                idempotency.UNKNOWN,
                f"The process running it stopped; {reason}. Retrying with the same Idempotency-Key checks "
                "before acting again.",
            )
    if found is not None and found.outcome == "succeeded" and recovery.cache is not None:
        await recovery.cache.invalidate(record.tenant_id, loaded.name)
    return found.outcome if found is not None else "unknown"


async def _ask(
    recovery: Recovery, entry: AuditEntry, row: IntegrationInstallation, ticket: Ticket | None
) -> RecoveredAction | None:
    """The plugin's answer, or ``None`` when it has none (no hook, unreadable input, an error)."""
    loaded = recovery.registry.get(row.integration)
    action = entry.action.partition(".")[2]
    spec = loaded.actions.get(action) if loaded else None
    if loaded is None or spec is None or entry.request is None or entry.idempotency_key is None:
        return None
    selection = entry.request.get("selection")
    view = (
        ticket_context(ticket, loaded.name, selection)
        if ticket is not None
        else TicketContext(ticket_id=entry.ticket_external_id or "", selection=selection)
    )
    customer = ResolvedCustomer(id=entry.customer_id, verified=False, matched_by="audit") if entry.customer_id else None
    try:
        payload = spec.payload_model.model_validate(entry.request.get("payload") or {})
        context = integration_context(row, recovery.keyring, loaded.manifest, loaded.options, "action")
        hooks = IntegrationHooks(recovery.registry, loaded)
        try:
            async with asyncio.timeout(recovery.timeout):
                return await hooks.recover_action(
                    context, view, customer, spec, payload, upstream_key(entry.tenant_id, entry.idempotency_key)
                )
        finally:
            await context.memo.aclose()
    except Exception:
        log.warning("could not ask %s about audit entry %s", loaded.name, entry.id, exc_info=True)
        return None


def recovery_for(
    settings: Settings, database: Database, registry: IntegrationRegistry, keyring: KeyRing, cache: PanelCache | None
) -> Recovery:
    return Recovery(
        database, registry, keyring, ClaimTiming.from_settings(settings), settings.action_timeout_seconds, cache
    )


async def recovery_loop(settings: Settings, registry: IntegrationRegistry, keyring: KeyRing, cache: PanelCache) -> None:
    """At start-up, then every ``recovery_interval_seconds`` (0: start-up only), until cancelled.

    With a database engine of its own, made on the loop it runs on (pooled connections belong to
    the event loop that opened them); ``cache`` is the app's, so a recovered action drops the
    panels it changed in this process's memory too."""
    database = Database(settings.resolved_database_url(), PoolLimits(size=1, overflow=1))
    recovery = recovery_for(settings, database, registry, keyring, cache)
    try:
        while True:
            try:
                await recover_orphaned(recovery)
            except Exception:
                log.exception("recovery pass failed; the next one tries again")
            if settings.recovery_interval_seconds <= 0:
                return
            await asyncio.sleep(settings.recovery_interval_seconds)
    finally:
        await database.dispose()  # the cache is the app's: it closes it
