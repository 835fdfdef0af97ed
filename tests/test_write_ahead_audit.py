"""Write-ahead audit, owned claims and read-only recovery, with a plugin that keeps a ledger.

The ledger plugin's ``pay`` action writes one entry per idempotency key (a retry with the key
writes nothing new, as Stripe does), and its ``recover_action`` looks the key up without
writing. Tests hold the action inside the plugin to look at the database while it runs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import select

from megadesk_core import hookimpl
from megadesk_core.db.engine import Database
from megadesk_core.db.models import AuditEntry, IdempotencyRecord, utcnow
from megadesk_core.errors import ActionRefusedError, UpstreamUnavailableError
from megadesk_core.plugins import load_integrations
from megadesk_core.services.heartbeat import ClaimTiming
from megadesk_core.services.recovery import recover_orphaned, recovery_for
from megadesk_core.types import (
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationManifest,
    Panel,
    RecoveredAction,
    ResolvedCustomer,
    TicketContext,
)


class NoSettings(BaseModel):
    pass


class Pay(ActionPayload):
    amount: int = Field(gt=0)
    currency: str = "eur"


class LedgerPlugin:
    def __init__(self) -> None:
        self.writes: dict[str, int] = {}
        self.calls: list[bool] = []  # earlier_attempt_unknown of each run
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.fail_with: Exception | None = None
        self.fail_after_write = False
        self.recovery: str | None = None  # force an answer: "unknown", "error"
        self.unreadable: set[str] = set()  # keys recovery cannot tell about

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="ledger", title="Ledger", settings_model=NoSettings)

    @hookimpl
    def resolve_customer(self, ticket: TicketContext) -> ResolvedCustomer:
        return ResolvedCustomer(id=f"cus-{ticket.ticket_id}", verified=True)

    @hookimpl
    def sidebar_panel(self) -> Panel:
        return Panel(title="Ledger")

    @hookimpl
    def actions(self) -> list[ActionSpec]:
        return [ActionSpec(name="pay", title="Pay", payload_model=Pay, confirmation="Pay?")]

    @hookimpl
    async def run_action(self, payload: Pay, idempotency_key: str, earlier_attempt_unknown: bool) -> ActionResult:
        self.calls.append(earlier_attempt_unknown)
        self.entered.set()
        await self.release.wait()
        if self.fail_with is not None and not self.fail_after_write:
            raise self.fail_with
        if earlier_attempt_unknown and idempotency_key in self.writes:
            return self._result(payload, idempotency_key)  # looked first: written already
        self.writes.setdefault(idempotency_key, payload.amount)
        if self.fail_with is not None:
            raise self.fail_with
        return self._result(payload, idempotency_key)

    def _result(self, payload: Pay, key: str) -> ActionResult:
        return ActionResult(
            message=f"Paid {payload.amount}",
            target=payload.target,
            reference=f"w-{key[:8]}",
            details={"amount": self.writes[key], "currency": payload.currency},
        )

    @hookimpl
    async def recover_action(self, payload: Pay, idempotency_key: str) -> RecoveredAction:
        if self.recovery == "error":
            raise RuntimeError("upstream unreadable")
        if self.recovery == "unknown" or idempotency_key in self.unreadable:
            return RecoveredAction(outcome="unknown", detail="the ledger is down")
        if idempotency_key not in self.writes:
            return RecoveredAction(outcome="not_found")
        return RecoveredAction(outcome="succeeded", result=self._result(payload, idempotency_key))


@pytest.fixture
def ledger() -> LedgerPlugin:
    return LedgerPlugin()


@pytest.fixture
def megadesk_registry(ledger):
    return load_integrations(extra_plugins=[ledger], load_entry_points=False)


@pytest.fixture
def megadesk_settings(megadesk_settings):
    return megadesk_settings.model_copy(
        update={"claim_heartbeat_seconds": 0.1, "claim_expiry_seconds": 0.6, "recovery_interval_seconds": 0}
    )


@pytest.fixture
async def acme(megadesk_tenant):
    tenant = await megadesk_tenant("acme")
    assert (await tenant.client.post("/api/v1/integrations/ledger/enable", headers=tenant.admin_headers)).is_success
    await tenant.upsert_ticket("T-1", email="ada@example.com")
    await tenant.upsert_ticket("T-2", email="ada@example.com")
    return tenant


@pytest.fixture
async def database(megadesk_settings):
    db = Database(megadesk_settings.resolved_database_url())
    yield db
    await db.dispose()


@pytest.fixture
async def concurrent(megadesk_app):
    transport = httpx.ASGITransport(app=megadesk_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://megadesk.test") as client:
        yield client


def _pay(tenant: Any, key: str, ticket: str = "T-1", amount: int = 1200) -> Any:
    return tenant.run_action(ticket, "ledger", "pay", {"target": "cus", "amount": amount}, idempotency_key=key)


async def _rows(database: Database) -> list[AuditEntry]:
    async with database.session() as session:
        return list((await session.exec(select(AuditEntry).where(AuditEntry.action == "ledger.pay"))).all())


async def _claims(database: Database) -> list[IdempotencyRecord]:
    async with database.session() as session:
        return list((await session.exec(select(IdempotencyRecord))).all())


async def _post(client: httpx.AsyncClient, tenant, key: str, amount: int = 1200) -> httpx.Response:
    return await client.post(
        "/api/v1/tickets/T-1/panels/ledger/actions/pay",
        json={"target": "cus", "amount": amount},
        headers={**tenant.agent_headers, "Idempotency-Key": key},
    )


async def test_the_audit_row_is_written_before_the_plugin_runs_and_completed_after(acme, ledger, database, concurrent):
    ledger.release.clear()
    running = asyncio.create_task(_post(concurrent, acme, "k1"))
    await asyncio.wait_for(ledger.entered.wait(), 10)
    (row,) = await _rows(database)
    assert (row.outcome, row.completed_at, row.reference) == ("pending", None, None)
    assert (row.actor_name, row.actor_role, row.ticket_external_id, row.target) == ("acme agent", "agent", "T-1", "cus")
    assert (row.customer_id, row.amount, row.currency, row.idempotency_key) == ("cus-T-1", 1200, "eur", "k1")
    assert row.request == {
        "payload": {"target": "cus", "amount": 1200, "currency": "eur", "identity_confirmed": False},
        "selection": None,
    }
    (claim,) = await _claims(database)
    assert (claim.state, claim.audit_entry_id) == ("running", row.id)
    assert claim.owner and claim.owner.count(":") == 2  # host:pid:nonce

    ledger.release.set()
    response = await asyncio.wait_for(running, 10)
    assert response.status_code == 200, response.text
    (row,) = await _rows(database)
    assert (row.outcome, row.detail, row.amount, row.currency) == ("succeeded", "Paid 1200", 1200, "eur")
    assert row.reference is not None and row.reference.startswith("w-")
    assert row.completed_at is not None
    (claim,) = await _claims(database)
    assert (claim.state, claim.owner, claim.status_code) == ("done", None, 200)


async def test_a_double_click_waits_for_a_live_claim_whose_heartbeat_outlasts_the_expiry(
    acme, ledger, database, concurrent
):
    ledger.release.clear()
    first = asyncio.create_task(_post(concurrent, acme, "k1"))
    await asyncio.wait_for(ledger.entered.wait(), 10)
    await asyncio.sleep(1.2)  # twice the expiry: only the heartbeat keeps the claim alive
    second = await _post(concurrent, acme, "k1")
    assert second.status_code == 409
    assert "still running" in second.json()["detail"]
    ledger.release.set()
    assert (await asyncio.wait_for(first, 10)).status_code == 200
    assert ledger.calls == [False] and len(ledger.writes) == 1
    outcomes = sorted(row.outcome for row in await _rows(database))
    assert outcomes == ["idempotency_conflict", "succeeded"]


async def _dead_claim(database: Database, key: str, *, seconds_ago: float = 5) -> None:
    """As if the process running it had been killed: its heartbeat stopped."""
    async with database.session() as session:
        await session.exec(
            sa.update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(owner="dead-host:1:00", heartbeat_at=utcnow() - timedelta(seconds=seconds_ago), state="running")
        )
        await session.commit()


async def _reopen(database: Database, key: str) -> None:
    """The attempt's audit row as a killed process leaves it: pending."""
    async with database.session() as session:
        await session.exec(
            sa.update(AuditEntry)
            .where(AuditEntry.idempotency_key == key)
            .values(outcome="pending", completed_at=None, reference=None)
        )
        await session.commit()


async def test_recovery_resolves_dead_claims_by_asking_the_plugin(
    acme, ledger, database, megadesk_app, megadesk_settings
):
    host = megadesk_app.state.host
    for key in ("written", "never-sent", "ledger-down"):
        assert (await _pay(acme, key)).status_code == 200
        await _dead_claim(database, key)
        await _reopen(database, key)
    ledger.writes.clear()
    from megadesk_core.services.actions import upstream_key

    tenant = (await _claims(database))[0].tenant_id
    ledger.writes[upstream_key(tenant, "written")] = 1200
    recovery = recovery_for(megadesk_settings, database, host.registry, host.keyring, None)

    ledger.unreadable.add(upstream_key(tenant, "ledger-down"))
    counts = await recover_orphaned(recovery)
    assert dict(counts) == {"succeeded": 1, "not_found": 1, "unknown": 1}
    rows = {row.idempotency_key: row for row in await _rows(database)}
    assert rows["written"].outcome == "succeeded" and "found by recovery" in (rows["written"].detail or "")
    assert rows["written"].reference is not None and rows["written"].amount == 1200
    assert rows["never-sent"].outcome == "failed" and "never reached Ledger" in (rows["never-sent"].detail or "")
    assert rows["ledger-down"].outcome == "unknown" and "the ledger is down" in (rows["ledger-down"].detail or "")
    claims = {claim.key: claim for claim in await _claims(database)}
    assert claims["written"].state == "done" and claims["written"].response["panel"] is None
    assert "never-sent" not in claims  # released: the key may act anew
    assert (claims["ledger-down"].state, claims["ledger-down"].owner) == ("unknown", None)

    replay = await _pay(acme, "written")
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["result"]["message"] == "Paid 1200"
    calls_before = len(ledger.calls)
    ledger.unreadable.clear()
    retried = await _pay(acme, "ledger-down")  # the agent's retry: told, and it looks first
    assert retried.status_code == 200
    assert ledger.calls[calls_before:] == [True]
    assert await recover_orphaned(recovery) == {}  # nothing left


async def test_a_live_claim_is_not_recovered_and_recovery_never_runs_the_action(
    acme, ledger, database, megadesk_app, megadesk_settings
):
    host = megadesk_app.state.host
    assert (await _pay(acme, "k1")).status_code == 200
    await _dead_claim(database, "k1", seconds_ago=0)  # renewed just now: alive
    recovery = recovery_for(megadesk_settings, database, host.registry, host.keyring, None)
    assert await recover_orphaned(recovery) == {}
    await _dead_claim(database, "k1", seconds_ago=5)
    calls = len(ledger.calls)
    ledger.recovery = "error"
    assert dict(await recover_orphaned(recovery)) == {"unknown": 1}  # an error is no answer
    assert len(ledger.calls) == calls  # read-only: run_action was never called


@pytest.mark.parametrize(
    ("failure", "status", "outcome", "state"),
    [
        (UpstreamUnavailableError("Ledger returned an error (500)."), 502, "unknown", "unknown"),
        (RuntimeError("a bug after the write"), 500, "unknown", "unknown"),
        (ActionRefusedError("Not this customer's."), 409, "refused", "done"),
    ],
)
async def test_what_each_failure_leaves_behind_and_what_a_retry_is_told(
    acme, ledger, database, failure, status, outcome, state
):
    ledger.fail_with = failure
    ledger.fail_after_write = not isinstance(failure, ActionRefusedError)
    first = await _pay(acme, "k1")
    assert first.status_code == status
    (row,) = await _rows(database)
    assert row.outcome == outcome and row.completed_at is not None
    (claim,) = await _claims(database)
    assert claim.state == state
    ledger.fail_with = None
    again = await _pay(acme, "k1")
    if state == "done":  # a refusal replays as it was: same status, same body
        original = {k: v for k, v in first.json().items() if k != "instance"}  # added by the handler
        assert (again.status_code, again.json()) == (first.status_code, original)
        assert again.headers["idempotent-replayed"] == "true"
        assert ledger.calls == [False]
    else:  # upstream may have acted: the retry is told, looks, and writes nothing new
        assert again.status_code == 200
        assert ledger.calls == [False, True]
        assert len(ledger.writes) == 1


async def test_a_timeout_leaves_the_outcome_unknown_and_the_retry_looks(acme, ledger, database, megadesk_app):
    megadesk_app.state.host.settings.action_timeout_seconds = 1.0
    ledger.release.clear()
    slow = await _pay(acme, "k1")
    assert slow.status_code == 502
    assert "whether it acted is unknown" in slow.json()["detail"]
    (row,) = await _rows(database)
    assert (row.outcome, row.detail) == ("unknown", "no answer within 1s")
    ledger.release.set()
    megadesk_app.state.host.settings.action_timeout_seconds = 30.0
    assert (await _pay(acme, "k1")).status_code == 200
    assert ledger.calls == [False, True]


async def test_the_key_is_scoped_to_ticket_action_payload_and_tenant(acme, ledger, megadesk_tenant):
    assert (await _pay(acme, "k1")).status_code == 200
    for other in (_pay(acme, "k1", ticket="T-2"), _pay(acme, "k1", amount=1300)):
        response = await other
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_conflict"
    selected = await acme.client.post(
        "/api/v1/tickets/T-1/panels/ledger/actions/pay",
        params={"select": "ledger:other"},
        json={"target": "cus", "amount": 1200},
        headers={**acme.agent_headers, "Idempotency-Key": "k1"},
    )
    assert selected.status_code == 409
    other = await megadesk_tenant("other")
    assert (await other.client.post("/api/v1/integrations/ledger/enable", headers=other.admin_headers)).is_success
    await other.upsert_ticket("T-1", email="ada@example.com")
    theirs = await _pay(other, "k1")  # the same key in another tenant is another request
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
    assert len(ledger.writes) == 2


def test_claim_timing_needs_an_expiry_of_two_heartbeats():
    from megadesk_core.settings import Settings

    with pytest.raises(ValueError, match="at least twice"):
        Settings(_env_file=None, claim_heartbeat_seconds=5, claim_expiry_seconds=9)
    assert ClaimTiming.from_settings(Settings(_env_file=None)) == ClaimTiming(5.0, 30.0)


def test_migration_0002_goes_down_and_up_again(megadesk_database_url):
    from alembic import command

    from megadesk_core.db.engine import make_sync_engine
    from megadesk_core.migrate import alembic_config, database_revision, upgrade_database

    upgrade_database(megadesk_database_url)
    engine = make_sync_engine(megadesk_database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert database_revision(megadesk_database_url) == "0001"
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("idempotency_record")}
        assert "heartbeat_at" not in columns
    finally:
        engine.dispose()
    upgrade_database(megadesk_database_url, "0002")
    assert database_revision(megadesk_database_url) == "0002"
