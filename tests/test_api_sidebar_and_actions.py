"""Sidebar isolation and deadlines, actions with idempotency, identity checks and audit."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.plugins import load_integrations
from megadesk_core.types import IntegrationManifest, KeyValueBlock, KeyValueItem, Panel

SECRET = "sample-secret-token-123"


class SteadySettings(BaseModel):
    pass


class SteadyPlugin:
    """A second integration that always renders, to show one failing plugin harms no other."""

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="steady", title="Steady", settings_model=SteadySettings)

    @hookimpl
    async def sidebar_panel(self) -> Panel:
        await asyncio.sleep(0)
        return Panel(title="Steady", blocks=[KeyValueBlock(items=[KeyValueItem(label="ok", value="yes")])])


@pytest.fixture
def megadesk_settings(megadesk_settings):
    return megadesk_settings.model_copy(update={"panel_timeout_seconds": 0.5})


@pytest.fixture
def megadesk_registry(megadesk_settings):
    return load_integrations(extra_plugins=[SteadyPlugin()], load_entry_points=True)


async def _two_integrations(megadesk_tenant, custom_data):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    enabled = await acme.client.post("/api/v1/integrations/steady/enable", headers=acme.admin_headers)
    assert enabled.status_code == 200
    await acme.upsert_ticket("T-1", email="ada@example.com", custom_data={"integrations": {"sample": custom_data}})
    return acme


@pytest.mark.parametrize(
    ("custom_data", "code", "message"),
    [
        ({"raise": True}, "plugin_error", "Sample CRM failed to render; the error was logged."),
        ({"sleep": 3}, "timeout", "Sample CRM did not answer in time. Reload to try again."),
    ],
)
async def test_a_failing_or_slow_plugin_yields_an_error_panel_and_the_others_render(
    megadesk_tenant, custom_data, code, message
):
    acme = await _two_integrations(megadesk_tenant, custom_data)
    sidebar = await acme.sidebar("T-1")
    panels = {p["integration"]: p for p in sidebar["panels"]}
    assert panels["steady"]["status"] == "ok"
    assert panels["sample"]["status"] == "error"
    assert panels["sample"]["error"] == {"code": code, "message": message}
    assert "internal detail" not in str(sidebar)


async def test_panel_json_matches_the_published_schema(megadesk_tenant):
    jsonschema = pytest.importorskip("jsonschema")
    acme = await _two_integrations(megadesk_tenant, {"contactId": "c-1"})
    schema = (await acme.client.get("/api/v1/schema/panel")).json()
    jsonschema.validate(await acme.sidebar("T-1"), schema)
    openapi = (await acme.client.get("/schema/openapi.json")).json()
    assert "runAction" in {op["operationId"] for path in openapi["paths"].values() for op in path.values()}


async def test_action_runs_replays_by_idempotency_key_and_shows_new_state(megadesk_tenant):
    acme = await _two_integrations(megadesk_tenant, {"contactId": "c-7"})
    payload = {"target": "c-7", "text": "called back"}
    first = await acme.run_action("T-1", "sample", "add_note", payload, idempotency_key="key-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["result"]["message"] == "Note added"
    # The host told the plugin who acted: the agent's token (its name and role; never the token).
    assert body["result"]["details"] == {"by": "acme agent", "role": "agent"}
    assert body["panel"]["blocks"][0]["items"][1] == {"label": "Notes", "value": "1", "href": None, "badge": None}

    again = await acme.run_action("T-1", "sample", "add_note", payload, idempotency_key="key-1")
    assert again.status_code == 200 and again.json() == body
    assert again.headers["idempotent-replayed"] == "true"
    assert (await acme.panel("T-1", "sample"))["blocks"][0]["items"][1]["value"] == "1"  # not run twice

    reused = await acme.run_action("T-1", "sample", "add_note", {**payload, "text": "other"}, idempotency_key="key-1")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_conflict"


async def test_action_refusals(megadesk_tenant):
    acme = await _two_integrations(megadesk_tenant, {"contactId": "c-7"})
    no_key = await acme.client.post(
        "/api/v1/tickets/T-1/panels/sample/actions/add_note",
        json={"target": "c-7", "text": "x"},
        headers=acme.agent_headers,
    )
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"

    invalid = await acme.run_action("T-1", "sample", "add_note", {"target": "c-7", "text": "", "extra": 1})
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.json()["errors"]} == {"text", "extra"}

    other_target = await acme.run_action("T-1", "sample", "add_note", {"target": "c-8", "text": "x"})
    assert other_target.status_code == 409
    assert other_target.json()["detail"] == "That contact is not this ticket's contact."

    unknown = await acme.run_action("T-1", "sample", "nope", {"target": "c-7"})
    assert unknown.status_code == 404
    not_enabled = await acme.run_action("T-1", "missing", "add_note", {"target": "c-7"})
    assert not_enabled.status_code == 404


async def test_unverified_customer_needs_identity_confirmation(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    await acme.upsert_ticket("T-2", email="bob@example.com")
    panel = await acme.panel("T-2", "sample")
    assert panel["verified"] is False
    refused = await acme.run_action("T-2", "sample", "add_note", {"target": "bob@example.com", "text": "x"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "identity_not_confirmed"
    assert "confirm the customer's identity" in refused.json()["detail"].lower()
    confirmed = await acme.run_action(
        "T-2", "sample", "add_note", {"target": "bob@example.com", "text": "x", "identity_confirmed": True}
    )
    assert confirmed.status_code == 200, confirmed.text


async def test_every_attempt_is_audited_and_only_admins_of_the_tenant_read_it(megadesk_tenant):
    acme = await _two_integrations(megadesk_tenant, {"contactId": "c-7"})
    other = await megadesk_tenant("other")
    await acme.run_action("T-1", "sample", "add_note", {"target": "c-7", "text": "hi"}, idempotency_key="k1")
    await acme.run_action("T-1", "sample", "add_note", {"target": "c-7", "text": "hi"}, idempotency_key="k1")
    await acme.run_action("T-1", "sample", "add_note", {"target": "c-9", "text": "hi"}, idempotency_key="k2")
    await acme.run_action("T-1", "sample", "add_note", {"target": "c-7", "text": ""}, idempotency_key="k3")
    entries = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    actions = [(e["action"], e["target"], e["outcome"]) for e in entries if e["action"] == "sample.add_note"]
    assert actions == [
        ("sample.add_note", "c-7", "invalid"),
        ("sample.add_note", "c-9", "refused"),
        ("sample.add_note", "c-7", "replayed"),
        ("sample.add_note", "c-7", "succeeded"),
    ]
    assert all(
        e["actor_name"] == "acme agent" and e["ticket_id"] == "T-1" for e in entries if e["action"] == "sample.add_note"
    )
    assert SECRET not in str(entries)
    assert [e for e in (await other.client.get("/api/v1/audit", headers=other.admin_headers)).json()] == []


async def test_unusable_settings_are_an_error_panel_and_a_424_without_leaking_or_sticking(
    megadesk_tenant, megadesk_settings, caplog
):
    import sqlalchemy as sa

    from megadesk_core.db.engine import make_sync_engine

    acme = await _two_integrations(megadesk_tenant, {"contactId": "c-7"})
    engine = make_sync_engine(megadesk_settings.resolved_database_url())
    with engine.begin() as conn:  # as if the plugin's settings model got stricter in an upgrade
        conn.execute(
            sa.text("UPDATE integration_installation SET settings = :s WHERE integration = 'sample'"),
            {"s": '{"greeting": "' + "x" * 50 + '"}'},
        )
    engine.dispose()
    panel = await acme.panel("T-1", "sample")
    assert panel["status"] == "error"
    assert panel["error"]["code"] == "settings_unreadable"
    assert "greeting" in panel["error"]["message"]
    for _ in range(2):  # the key is not left stuck "running"
        response = await acme.run_action(
            "T-1", "sample", "add_note", {"target": "c-7", "text": "x"}, idempotency_key="k"
        )
        assert response.status_code == 424
        assert response.json()["code"] == "settings_unreadable"
    assert SECRET not in caplog.text


async def test_identity_refusal_leaves_the_key_usable_for_the_corrected_request(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    await acme.upsert_ticket("T-2", email="bob@example.com")
    payload = {"target": "bob@example.com", "text": "x"}
    refused = await acme.run_action("T-2", "sample", "add_note", payload, idempotency_key="same")
    assert refused.json()["code"] == "identity_not_confirmed"
    confirmed = await acme.run_action(
        "T-2", "sample", "add_note", {**payload, "identity_confirmed": True}, idempotency_key="same"
    )
    assert confirmed.status_code == 200, confirmed.text


async def test_an_action_whose_feature_the_settings_check_ruled_out_is_refused_before_the_plugin(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET, "greeting": "no-notes"})
    await acme.upsert_ticket("T-1", custom_data={"integrations": {"sample": {"contactId": "c-1"}}})
    (declared,) = (await acme.client.get("/api/v1/integrations/sample/actions", headers=acme.agent_headers)).json()
    assert declared["unavailable_reason"] == "the token cannot write notes"
    response = await acme.run_action("T-1", "sample", "add_note", {"target": "c-1", "text": "x"})
    assert response.status_code == 424
    assert response.json()["detail"] == (
        "Add a note is unavailable with the current Sample CRM settings: the token cannot write notes"
    )
    assert (await acme.panel("T-1", "sample"))["blocks"][0]["items"][1]["value"] == "0"
