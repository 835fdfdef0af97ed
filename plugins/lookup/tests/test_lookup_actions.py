"""add_note through the host: identity rules, idempotency, refusals."""

from __future__ import annotations

import re

from lookup_backend import API_KEY, BackendState
from megadesk_lookup import plugin

from megadesk_core.testing import ContextFactory, TenantClient
from megadesk_core.types import ResolvedCustomer


async def test_a_note_is_posted_with_the_key_and_an_idempotency_key(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(data={"customerId": "cus_1"})
    response = await tenant.run_action(
        ticket, "lookup", "add_note", {"target": "cus_1", "text": "  Called back  "}, idempotency_key="k-1"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == {
        "message": "Note added to Ada Lovelace.",
        "target": "cus_1",
        "reference": "note_1",
        "details": {},
    }
    assert body["panel"]["status"] == "ok"  # the host re-renders the panel after the action
    assert backend.notes == [
        {
            "id": "note_1",
            "customer": "cus_1",
            "text": "Called back",
            "idempotency_key": backend.notes[0]["idempotency_key"],
        }
    ]
    post = next(r for r in backend.requests if r["method"] == "POST")
    assert post["path"] == "/api/customers/cus_1/notes"
    assert post["authorization"] == f"Bearer {API_KEY}"
    assert re.fullmatch(r"[0-9a-f]{64}", post["idempotency_key"])  # derived from the host's key and tenant
    assert "k-1" not in post["idempotency_key"]

    again = await tenant.run_action(
        ticket, "lookup", "add_note", {"target": "cus_1", "text": "  Called back  "}, idempotency_key="k-1"
    )
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    assert len(backend.notes) == 1


async def test_a_retry_after_a_lost_answer_does_not_add_the_note_twice(
    backend: BackendState, megadesk_context: ContextFactory
) -> None:
    # The same idempotency key reaching the API twice (the first answer was lost): one note.
    context = megadesk_context({"base_url": backend.base_url, "api_key": API_KEY})
    customer = ResolvedCustomer(id="cus_1", verified=True, label="Ada")
    payload = plugin.AddNotePayload(target="cus_1", text="once")
    first = await plugin.add_note(context, customer, payload, "tenant:k-9")
    second = await plugin.add_note(context, customer, payload, "tenant:k-9")
    assert first.reference == second.reference
    assert [n["text"] for n in backend.notes] == ["once"]


async def test_an_email_match_needs_the_agent_to_confirm_identity(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="ada@example.com")
    refused = await tenant.run_action(ticket, "lookup", "add_note", {"target": "cus_1", "text": "hi"})
    assert refused.status_code == 409 and refused.json()["code"] == "identity_not_confirmed"
    assert backend.notes == []
    confirmed = await tenant.run_action(
        ticket, "lookup", "add_note", {"target": "cus_1", "text": "hi", "identity_confirmed": True}
    )
    assert confirmed.status_code == 200, confirmed.text


async def test_a_note_for_another_customer_is_refused(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(data={"customerId": "cus_1"})
    response = await tenant.run_action(ticket, "lookup", "add_note", {"target": "cus_2", "text": "hi"})
    assert response.status_code == 409
    assert response.json()["code"] == "action_refused"
    assert "not the customer this ticket is about" in response.json()["detail"]
    assert backend.notes == []


async def test_the_apis_refusal_reaches_the_agent(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(data={"customerId": "cus_1"})
    response = await tenant.run_action(ticket, "lookup", "add_note", {"target": "cus_1", "text": "conflict"})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"The customer API at {backend.host} refused the request (HTTP 409): the customer record is locked"
    )


async def test_an_empty_note_is_refused_by_the_host(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(data={"customerId": "cus_1"})
    response = await tenant.run_action(ticket, "lookup", "add_note", {"target": "cus_1", "text": "   "})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["text"]
    actions = await tenant.actions()
    assert actions[0]["payload_schema"]["properties"]["text"]["maxLength"] == 2000
