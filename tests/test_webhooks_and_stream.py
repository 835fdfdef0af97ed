"""The webhook endpoint and the sidebar stream, with a small plugin that signs like most
upstreams do (an HMAC of the body): a verified event drops exactly the kept panels that show a
changed object, and an open stream sends the new panel; forged, replayed, duplicate, oversized
and too frequent deliveries are refused or ignored."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from sqlmodel import select

from megadesk_core import hookimpl
from megadesk_core.api.state import HostState
from megadesk_core.api.stream import SidebarStream
from megadesk_core.db.models import Tenant
from megadesk_core.errors import WebhookRejectedError
from megadesk_core.plugins import load_integrations
from megadesk_core.services.webhooks import MAX_WEBHOOK_BYTES
from megadesk_core.types import (
    IntegrationContext,
    IntegrationManifest,
    KeyValueBlock,
    KeyValueItem,
    Panel,
    TicketContext,
    WebhookResult,
)

SECRET = "whsec_test_secret"


class CrmSettings(BaseModel):
    signing_secret: SecretStr


class CrmPlugin:
    """A CRM whose panel shows the contact named after the requester's email."""

    def __init__(self) -> None:
        self.renders: dict[str, int] = {}
        self.slow: set[str] = set()
        self.names: dict[str, str] = {}

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="crm", title="CRM", settings_model=CrmSettings)

    @hookimpl
    async def sidebar_panel(self, ticket: TicketContext) -> Panel:
        contact = f"contact-{ticket.requester_email}"
        self.renders[contact] = self.renders.get(contact, 0) + 1
        if contact in self.slow:
            await asyncio.sleep(1.5)
        name = self.names.get(contact, "unnamed")
        return Panel(
            title="CRM", objects=[contact], blocks=[KeyValueBlock(items=[KeyValueItem(label="Name", value=name)])]
        )

    @hookimpl
    def webhook(self, context: IntegrationContext, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        secret = context.settings.signing_secret.get_secret_value().encode()  # type: ignore[attr-defined]
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-signature", "")):
            raise WebhookRejectedError("The signature does not match.")
        event = json.loads(body)
        return WebhookResult(
            event_id=event["id"], changed=event["changed"], occurred_at=datetime.fromtimestamp(event["sent"], UTC)
        )


class NoSettings(BaseModel):
    pass


class SlowPlugin:
    """Another integration, slow to render: it must not hold back the CRM's panel."""

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="slowpoke", title="Slowpoke", settings_model=NoSettings)

    @hookimpl
    async def sidebar_panel(self) -> Panel:
        await asyncio.sleep(2)
        return Panel(title="Slowpoke")


@pytest.fixture
def crm() -> CrmPlugin:
    return CrmPlugin()


@pytest.fixture
def megadesk_settings(megadesk_settings: Any) -> Any:
    return megadesk_settings.model_copy(update={"panel_cache_seconds": 600, "webhook_rate_per_minute": 30})


@pytest.fixture
def megadesk_registry(megadesk_settings: Any, crm: CrmPlugin) -> Any:
    return load_integrations(extra_plugins=[crm, SlowPlugin()], load_entry_points=False)


def _signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Signature": signature, "Content-Type": "application/json"}


def _event(event_id: str, changed: list[str], sent: float | None = None) -> dict[str, Any]:
    return {"id": event_id, "changed": changed, "sent": time.time() if sent is None else sent}


async def _crm_tenant(megadesk_tenant: Any, slug: str) -> tuple[Any, str]:
    tenant = await megadesk_tenant(slug)
    settings = await tenant.configure("crm", {"signing_secret": SECRET})
    await tenant.upsert_ticket("T-ada", email="ada@example.com")
    await tenant.upsert_ticket("T-bob", email="bob@example.com")
    return tenant, settings["webhook_path"]


async def test_a_verified_event_drops_exactly_the_panels_showing_what_changed(megadesk_tenant, crm) -> None:
    acme, path = await _crm_tenant(megadesk_tenant, "acme")
    assert path.startswith("/api/v1/webhooks/") and len(path.rsplit("/", 1)[1]) == 32
    await acme.panel("T-ada", "crm")
    await acme.panel("T-bob", "crm")
    assert crm.renders == {"contact-ada@example.com": 1, "contact-bob@example.com": 1}

    crm.names["contact-ada@example.com"] = "Ada Lovelace"
    body, headers = _signed(_event("evt_1", ["contact-ada@example.com"]))
    response = await acme.client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "event_id": "evt_1", "duplicate": False}

    panel = await acme.panel("T-ada", "crm")
    assert panel["blocks"][0]["items"][0]["value"] == "Ada Lovelace"  # not the kept panel, not stale
    assert "stale" not in panel or panel["stale"] is None
    await acme.panel("T-bob", "crm")
    assert crm.renders == {"contact-ada@example.com": 2, "contact-bob@example.com": 1}

    # The same event again (Stripe retries): acknowledged, nothing dropped.
    again = await acme.client.post(path, content=body, headers=headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    await acme.panel("T-ada", "crm")
    assert crm.renders["contact-ada@example.com"] == 2


async def test_forged_replayed_oversized_and_unknown_deliveries_are_refused(megadesk_tenant, crm, caplog) -> None:
    acme, path = await _crm_tenant(megadesk_tenant, "acme")
    await acme.panel("T-ada", "crm")

    body, headers = _signed(_event("evt_forged", ["contact-ada@example.com"]), secret="whsec_guessed")
    with caplog.at_level(logging.WARNING):
        forged = await acme.client.post(path, content=body, headers=headers)
    assert forged.status_code == 400 and forged.json()["code"] == "webhook_rejected"
    assert "contact-ada" not in caplog.text and "evt_forged" not in caplog.text  # logged without the body

    old, headers = _signed(_event("evt_old", ["contact-ada@example.com"], sent=time.time() - 3600))
    replayed = await acme.client.post(path, content=old, headers=headers)
    assert replayed.status_code == 400 and replayed.json()["code"] == "webhook_too_old"

    huge, headers = _signed({**_event("evt_huge", []), "pad": "x" * MAX_WEBHOOK_BYTES})
    assert (await acme.client.post(path, content=huge, headers=headers)).status_code == 413

    body, headers = _signed(_event("evt_2", ["contact-ada@example.com"]))
    unknown = await acme.client.post("/api/v1/webhooks/" + "0" * 32, content=body, headers=headers)
    assert unknown.status_code == 404
    assert (await acme.client.post("/api/v1/webhooks/not-an-id", content=body, headers=headers)).status_code == 404
    await acme.panel("T-ada", "crm")
    assert crm.renders["contact-ada@example.com"] == 1  # nothing refused dropped the panel


async def test_one_tenant_s_events_reach_only_its_panels_and_are_rate_limited(megadesk_tenant, crm) -> None:
    acme, acme_path = await _crm_tenant(megadesk_tenant, "acme")
    globex, globex_path = await _crm_tenant(megadesk_tenant, "globex")
    assert acme_path != globex_path
    await acme.panel("T-ada", "crm")
    await globex.panel("T-ada", "crm")
    body, headers = _signed(_event("evt_g", ["contact-ada@example.com"]))
    assert (await globex.client.post(globex_path, content=body, headers=headers)).status_code == 200
    await acme.panel("T-ada", "crm")
    await globex.panel("T-ada", "crm")
    assert crm.renders["contact-ada@example.com"] == 3  # both first renders, and globex's again only

    statuses = []
    for n in range(35):
        body, headers = _signed(_event(f"evt_burst_{n}", []))
        statuses.append((await acme.client.post(acme_path, content=body, headers=headers)).status_code)
    assert statuses.count(200) == 30 and statuses[-1] == 429


async def _tenant_id(host: HostState, slug: str) -> str:
    async with host.database.session() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.slug == slug))).one()
    return tenant.id


async def test_a_stream_sends_each_panel_when_ready_then_the_changed_one(megadesk_app, megadesk_tenant, crm) -> None:
    acme, path = await _crm_tenant(megadesk_tenant, "acme")
    await acme.enable("slowpoke")
    host: HostState = megadesk_app.state.host
    stream = SidebarStream(host, await _tenant_id(host, "acme"), ["T-ada", "T-bob"])
    events = stream.events()
    started = time.monotonic()
    first = [await anext(events) for _ in range(2)]
    assert time.monotonic() - started < 1.5  # the slow integration delays only its own panels
    shown = {(json.loads(e.data)["ticket_id"], json.loads(e.data)["panel"]["integration"]) for e in first}
    assert shown == {("T-ada", "crm"), ("T-bob", "crm")}
    slow = [json.loads((await anext(events)).data) for _ in range(2)]
    assert {s["panel"]["integration"] for s in slow} == {"slowpoke"}

    crm.names["contact-bob@example.com"] = "Bob Babbage"
    body, headers = _signed(_event("evt_bob", ["contact-bob@example.com"]))
    changed_at = time.monotonic()
    assert (await acme.client.post(path, content=body, headers=headers)).status_code == 200
    stale = await asyncio.wait_for(anext(events), 1)
    assert stale.event == "stale" and json.loads(stale.data) == {"ticket_id": "T-bob", "integration": "crm"}
    update = await asyncio.wait_for(anext(events), 1)
    data = json.loads(update.data)
    assert update.event == "panel" and data["updated"] is True and data["ticket_id"] == "T-bob"
    assert data["panel"]["blocks"][0]["items"][0]["value"] == "Bob Babbage"
    assert time.monotonic() - changed_at < 1
    await events.aclose()


async def test_the_stream_endpoint_checks_token_and_tickets(megadesk_tenant, crm) -> None:
    acme, _path = await _crm_tenant(megadesk_tenant, "acme")
    no_token = await acme.client.get("/api/v1/stream", params={"ticket": "T-ada"})
    assert no_token.status_code == 401
    too_many = await acme.client.get(
        "/api/v1/stream", params=[("ticket", f"T-{n}") for n in range(21)], headers=acme.agent_headers
    )
    assert too_many.status_code == 400


async def test_a_stream_says_which_tickets_it_cannot_find(megadesk_app, megadesk_tenant, crm) -> None:
    await _crm_tenant(megadesk_tenant, "acme")
    await _crm_tenant(megadesk_tenant, "globex")
    host: HostState = megadesk_app.state.host
    events = SidebarStream(host, await _tenant_id(host, "globex"), ["T-nowhere"]).events()
    missing = await asyncio.wait_for(anext(events), 2)
    assert missing.event == "missing" and json.loads(missing.data) == {"ticket_id": "T-nowhere"}
    await events.aclose()
