"""The host through its HTTP API with the sibling sample plugin, found through its entry point."""

from __future__ import annotations

import sqlalchemy as sa

from megadesk_core.db.engine import make_sync_engine

SECRET = "sample-secret-token-123"


async def test_sample_plugin_is_found_through_its_entry_point(megadesk_registry):
    loaded = megadesk_registry.get("sample")
    assert loaded is not None
    assert loaded.source.startswith("entry point sample = megadesk_sample.plugin (megadesk-sample-plugin")


async def test_admin_lists_installed_integrations_with_settings_schema(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    response = await acme.client.get("/api/v1/integrations", headers=acme.admin_headers)
    assert response.status_code == 200
    sample = next(i for i in response.json() if i["name"] == "sample")
    assert sample["enabled"] is False
    assert sample["secret_fields"] == ["api_token"]
    assert "api_token" in sample["settings_schema"]["properties"]
    assert sample["actions"][0]["name"] == "add_note"
    assert "text" in sample["actions"][0]["payload_schema"]["properties"]


async def test_enabled_integration_shows_in_the_sidebar_and_only_for_its_tenant(megadesk_tenant):
    acme, other = await megadesk_tenant("acme"), await megadesk_tenant("other")
    await acme.configure("sample", {"api_token": SECRET, "greeting": "Hi"})
    await acme.upsert_ticket(
        "T-1", email="ada@example.com", custom_data={"integrations": {"sample": {"contactId": "c-1"}}}
    )
    sidebar = await acme.sidebar("T-1")
    assert [p["integration"] for p in sidebar["panels"]] == ["sample"]
    panel = sidebar["panels"][0]
    assert panel["status"] == "ok" and panel["verified"] is True
    assert panel["blocks"][0]["items"][0]["value"] == "Hi c-1"

    # The other tenant sees neither the ticket nor the integration.
    response = await other.client.get("/api/v1/tickets/T-1/sidebar", headers=other.agent_headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    await other.upsert_ticket("T-1", email="ada@example.com")
    assert (await other.sidebar("T-1"))["panels"] == []
    response = await other.client.get("/api/v1/tickets/T-1/panels/sample", headers=other.agent_headers)
    assert response.status_code == 404
    settings = await other.client.get("/api/v1/integrations/sample/settings", headers=other.admin_headers)
    assert settings.json()["configured"] is False


async def test_secret_is_write_only_and_encrypted_at_rest(megadesk_tenant, megadesk_settings):
    acme = await megadesk_tenant("acme")
    body = await acme.configure("sample", {"api_token": SECRET})
    assert SECRET not in str(body)
    assert body["secrets"] == {"api_token": True}
    assert "api_token" not in body["settings"]
    read_back = await acme.client.get("/api/v1/integrations/sample/settings", headers=acme.admin_headers)
    assert SECRET not in read_back.text
    # Saving without the secret keeps it.
    body = await acme.configure("sample", {"greeting": "Yo"})
    assert body["secrets"] == {"api_token": True} and body["settings"]["greeting"] == "Yo"
    await acme.upsert_ticket("T-1", email="x@example.com")
    assert (await acme.panel("T-1", "sample"))["status"] == "ok"

    engine = make_sync_engine(megadesk_settings.resolved_database_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM integration_installation")).all()
        audit = conn.execute(sa.text("SELECT * FROM audit_entry")).all()
    engine.dispose()
    assert rows and SECRET not in repr(rows)
    assert rows[0].secrets_ciphertext.startswith("v1.test.")
    assert SECRET not in repr(audit)


async def test_bad_settings_get_a_422_naming_the_field_and_change_nothing(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    response = await acme.client.put(
        "/api/v1/integrations/sample/settings",
        json={"settings": {"api_token": "short", "greeting": "x" * 50, "bogus": 1}},
        headers=acme.admin_headers,
    )
    assert response.status_code == 422
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"api_token", "greeting", "bogus"}
    assert "short" not in response.text  # input values (maybe secrets) are not echoed
    settings = await acme.client.get("/api/v1/integrations/sample/settings", headers=acme.admin_headers)
    assert settings.json()["configured"] is False


async def test_settings_rejected_by_the_plugin_check_are_not_saved(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    response = await acme.client.put(
        "/api/v1/integrations/sample/settings",
        json={"settings": {"api_token": "rejected-token"}},
        headers=acme.admin_headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "api_token", "message": "The sample service rejected this token."}]
    body = await acme.configure("sample", {"api_token": SECRET, "greeting": "warn"})
    assert body["check"]["warnings"] == ["sample warning"]


async def test_enable_requires_configuration_and_disable_hides_the_panel(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    response = await acme.client.post("/api/v1/integrations/sample/enable", headers=acme.admin_headers)
    assert response.status_code == 409 and "Configure Sample CRM first" in response.json()["detail"]
    await acme.configure("sample", {"api_token": SECRET}, enabled=False)
    await acme.upsert_ticket("T-1", email="a@example.com")
    assert (await acme.sidebar("T-1"))["panels"] == []
    response = await acme.client.post("/api/v1/integrations/sample/enable", headers=acme.admin_headers)
    assert response.json()["enabled"] is True
    assert len((await acme.sidebar("T-1"))["panels"]) == 1
    await acme.client.post("/api/v1/integrations/sample/disable", headers=acme.admin_headers)
    assert (await acme.sidebar("T-1"))["panels"] == []


async def test_agents_cannot_read_or_change_settings(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    for method, path in [
        ("GET", "/api/v1/integrations"),
        ("GET", "/api/v1/integrations/sample/settings"),
        ("PUT", "/api/v1/integrations/sample/settings"),
        ("POST", "/api/v1/integrations/sample/enable"),
        ("GET", "/api/v1/audit"),
        ("PUT", "/api/v1/tickets/T-9"),
    ]:
        response = await acme.client.request(method, path, json={}, headers=acme.agent_headers)
        assert response.status_code == 403, (method, path)


async def test_requests_without_a_valid_token_are_rejected(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    assert (await acme.client.get("/api/v1/tickets")).status_code == 401
    bad = await acme.client.get("/api/v1/tickets", headers={"Authorization": "Bearer mdk_nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
    me = await acme.client.get("/api/v1/me", headers=acme.agent_headers)
    assert me.json() == {"tenant": "acme", "token_name": "acme agent", "role": "agent"}
