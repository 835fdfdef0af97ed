"""Running an integration's action on a ticket: checks, idempotency, the plugin call, audit.

Order matters: the payload is validated before the key is claimed (a fixed request may reuse
the key); identity is checked before anything reaches the plugin; every attempt is audited, and
one that may reach upstream is audited *ahead*: its ``pending`` row is committed with the claim,
before the plugin runs, and completed afterwards. A process that dies in between leaves a
pending row and a claim whose heartbeat stops: recovery resolves both (docs/reliability.md).

No database connection is held while the plugin runs: the claim is one short unit of work, the
plugin call (and the panel re-render) none, the heartbeat one short UPDATE now and then, and the
conclusion (idempotency result, audit row) another. A slow upstream then costs the pool nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.engine import Database
from megadesk_core.db.models import IdempotencyRecord, IntegrationInstallation, Ticket
from megadesk_core.errors import (
    IntegrationError,
    RateLimitedError,
    RequestError,
    SettingsUnreadableError,
    UpstreamUnavailableError,
    field_errors,
    problem_body,
)
from megadesk_core.hashing import fingerprint
from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.observability import metrics
from megadesk_core.plugins import LoadedIntegration
from megadesk_core.services import audit, idempotency
from megadesk_core.services.heartbeat import ClaimTiming, kept_alive
from megadesk_core.services.idempotency import UNKNOWN
from megadesk_core.services.installations import integration_context
from megadesk_core.services.sidebar import PanelRenderer
from megadesk_core.services.tenants import Principal, Role
from megadesk_core.services.tickets import ticket_context
from megadesk_core.text_safety import nul_errors
from megadesk_core.types import ActingPrincipal, ActionResult, ActionSpec

log = logging.getLogger(__name__)


def upstream_key(tenant_id: str, idempotency_key: str) -> str:
    """The key plugins pass to upstream writes: stable per tenant and Idempotency-Key, 64 hex
    characters whatever the agent sent (Stripe caps its keys at 255), and no tenant id leaks."""
    return hashlib.sha256(f"{tenant_id}\x1f{idempotency_key}".encode()).hexdigest()


Conclusion = Callable[[AsyncSession], Awaitable[None]]
"""What becomes of an idempotency claim, written in the same session as the audit row."""


@dataclass(frozen=True)
class ActionOutcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class ActionCall:
    principal: Principal
    ticket: Ticket
    installation: IntegrationInstallation
    integration: LoadedIntegration
    spec: ActionSpec
    payload: dict[str, Any]
    idempotency_key: str
    selection: str | None


async def run_action(
    database: Database,
    renderer: PanelRenderer,
    call: ActionCall,
    *,
    timeout: float,
    timing: ClaimTiming | None = None,
) -> ActionOutcome:
    name = call.integration.name
    ticket_id = call.ticket.external_id
    raw_target = call.payload.get("target")
    target = str(raw_target)[:255] if raw_target is not None else None  # audited even when invalid

    timing = timing or ClaimTiming()

    async def log_attempt(outcome: str, detail: str | None) -> None:
        """Audit an attempt that ends before the claim (nothing can have reached upstream)."""
        metrics.action_outcome(name, call.spec.name, outcome)
        async with database.session() as session:
            await audit.record(
                session,
                call.principal,
                action=f"{name}.{call.spec.name}",
                outcome=outcome,
                integration=name,
                ticket_external_id=ticket_id,
                target=target,
                detail=detail,
                idempotency_key=call.idempotency_key,
            )

    if nul_problems := nul_errors(call.payload):  # PostgreSQL cannot store NUL: invalid, audited
        await log_attempt("invalid", "; ".join(f"{e['field']}: {e['message']}" for e in nul_problems))
        raise RequestError(422, "invalid_payload", "The action's payload is invalid.", nul_problems)
    try:
        payload = call.spec.payload_model.model_validate(call.payload)
    except ValidationError as exc:
        errors = field_errors(exc)
        await log_attempt("invalid", "; ".join(f"{e['field']}: {e['message']}" for e in errors))
        raise RequestError(422, "invalid_payload", "The action's payload is invalid.", errors) from exc

    title = call.integration.manifest.title
    try:
        context = integration_context(
            call.installation, renderer.keyring, call.integration.manifest, call.integration.options, "action"
        )
    except SettingsUnreadableError as exc:
        await log_attempt("failed", exc.message)
        raise
    check = context.settings_check
    if check is not None and (reason := check.unavailable_reason(call.spec.feature)) is not None:
        message = f"{call.spec.title} is unavailable with the current {title} settings: {reason}"
        await log_attempt("refused", message)
        raise RequestError(424, "feature_unavailable", message)

    request_print = fingerprint(name, call.spec.name, ticket_id, call.selection, payload.model_dump(mode="json"))
    owner = idempotency.process_owner()
    attempt = audit.pending_entry(
        call.principal,
        action=f"{name}.{call.spec.name}",
        integration=name,
        ticket_external_id=ticket_id,
        target=target,
        idempotency_key=call.idempotency_key,
        request={"payload": payload.model_dump(mode="json"), "selection": call.selection},
    )
    async with database.session() as session:
        claim = await idempotency.claim(
            session,
            call.principal.tenant_id,
            call.idempotency_key,
            request_print,
            owner=owner,
            expiry=timedelta(seconds=timing.expiry_seconds),
            attempt=attempt,
        )
    if claim.conflict is not None:
        await log_attempt("idempotency_conflict", claim.conflict)
        raise RequestError(409, "idempotency_conflict", claim.conflict)
    if claim.replay is not None:
        await log_attempt("replayed", None)
        return ActionOutcome(claim.replay.status_code or 200, claim.replay.response or {}, replayed=True)
    record = claim.record
    assert record is not None
    assert record.id is not None
    assert attempt.id is not None
    attempt_id = attempt.id
    # Nothing happened now; after an attempt of unknown outcome, the key keeps that doubt.
    nothing_happened = _unknown(record, owner) if claim.earlier_attempt_unknown else _releasing(record, owner)

    async def conclude(
        outcome: str, detail: str | None, conclusion: Conclusion, result: ActionResult | None = None
    ) -> None:
        """Conclude the claim and complete the attempt's audit row: one short transaction."""
        metrics.action_outcome(name, call.spec.name, outcome)
        async with database.session() as session:
            await conclusion(session)
            await audit.complete(
                session,
                attempt_id,
                outcome,
                detail,
                reference=result.reference if result else None,
                money=audit.money_of(result.details) if result else (None, None),
            )

    hooks = IntegrationHooks(renderer.registry, call.integration)
    view = ticket_context(call.ticket, name, call.selection)
    async with kept_alive(database, record.id, owner, timing.heartbeat_seconds):
        try:
            async with asyncio.timeout(timeout):
                customer = await hooks.resolve_customer(context, view)
                if customer is None:
                    raise RequestError(409, "no_customer", f"{title} found no customer for this ticket.")
                async with database.session() as session:
                    await audit.note_customer(session, attempt_id, customer.id)
                if call.spec.requires_verified_customer and not customer.verified and not payload.identity_confirmed:
                    raise RequestError(
                        409,
                        "identity_not_confirmed",
                        "This customer was matched by email only and is not verified. Confirm the customer's "
                        "identity, then send the action again with identity_confirmed set to true.",
                    )
                key = upstream_key(call.principal.tenant_id, call.idempotency_key)
                result = await hooks.run_action(
                    context,
                    view,
                    customer,
                    call.spec,
                    payload,
                    key,
                    principal=acting(call.principal),
                    earlier_attempt_unknown=claim.earlier_attempt_unknown,
                )
        except RequestError as exc:
            # The host refused before the plugin acted: nothing happened, so the key stays usable
            # for the corrected request (e.g. with identity_confirmed).
            await conclude("refused", exc.message, nothing_happened)
            raise
        except RateLimitedError as exc:
            await conclude("failed", exc.message, nothing_happened)  # refused upstream: retry with the same key
            raise
        except UpstreamUnavailableError as exc:
            # A 5xx or a dropped connection: upstream may have acted. Recovery or a retry looks.
            await conclude(UNKNOWN, exc.message, _unknown(record, owner))
            raise
        except IntegrationError as exc:
            problem = problem_body(exc.status, exc.code, exc.message)
            await conclude(
                "refused" if exc.status < 500 else "failed", exc.message, _finishing(record, owner, exc.status, problem)
            )
            raise
        except TimeoutError as exc:
            await conclude(UNKNOWN, f"no answer within {timeout:.0f}s", _unknown(record, owner))
            raise UpstreamUnavailableError(
                f"{title} did not answer in time, so whether it acted is unknown. Retry with the same "
                "Idempotency-Key: the retry checks what happened before acting again."
            ) from exc
        except Exception:
            log.exception("action %s.%s failed", name, call.spec.name)
            await conclude(UNKNOWN, "unexpected plugin error (logged)", _unknown(record, owner))
            raise
        finally:
            await context.memo.aclose()

        # The action changed upstream state: every process must stop serving this integration's
        # cached panels for the tenant, and the agent sees the new state right away.
        await renderer.cache.invalidate(call.principal.tenant_id, name)
        panel = await renderer.stored_panel(
            call.ticket, call.installation, call.integration, call.selection, fresh=True, customer=customer
        )
        body = {"result": result.model_dump(mode="json"), "panel": json.loads(panel.body)}
        await conclude("succeeded", result.message, _finishing(record, owner, 200, body), result)
    return ActionOutcome(200, body)


def acting(principal: Principal) -> ActingPrincipal:
    """What a plugin is told of who runs the action (never the token itself)."""
    role: Literal["agent", "admin"] = "admin" if principal.role is Role.ADMIN else "agent"
    return ActingPrincipal(name=principal.name, role=role, token_id=principal.token_id)


def _releasing(record: IdempotencyRecord, owner: str) -> Conclusion:
    async def conclude(session: AsyncSession) -> None:
        await idempotency.release(session, record, owner=owner, commit=False)

    return conclude


def _unknown(record: IdempotencyRecord, owner: str) -> Conclusion:
    async def conclude(session: AsyncSession) -> None:
        await idempotency.mark_unknown(session, record, owner=owner, commit=False)

    return conclude


def _finishing(record: IdempotencyRecord, owner: str, status: int, body: dict[str, Any]) -> Conclusion:
    async def conclude(session: AsyncSession) -> None:
        await idempotency.finish(session, record, status, body, owner=owner, commit=False)

    return conclude
