"""A plugin's reason for the *not verified* label reaches the API with the label, never without it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.plugins import load_integrations
from megadesk_core.types import IntegrationManifest, Panel, ResolvedCustomer, TicketContext

NOTE = "2 accounts share this email"


class NoSettings(BaseModel):
    pass


class NotePlugin:
    """Verified when the ticket names an account; the panel always carries a note."""

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="noted", title="Noted", settings_model=NoSettings)

    @hookimpl
    def resolve_customer(self, ticket: TicketContext) -> ResolvedCustomer:
        named = ticket.custom_data.get("accountId")
        if named:
            return ResolvedCustomer(id=str(named), verified=True, matched_by="custom_data")
        return ResolvedCustomer(id="acct_by_email", verified=False, matched_by="email")

    @hookimpl
    def sidebar_panel(self, customer: ResolvedCustomer | None) -> Panel:
        # Says its note even when verified: the host must not show it without the label.
        return Panel(title="Noted", verified=customer.verified if customer else None, verification_note=NOTE)


@pytest.fixture
def megadesk_registry():
    return load_integrations(extra_plugins=[NotePlugin()], load_entry_points=False)


async def test_the_note_goes_with_the_not_verified_label_only(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    assert (await acme.client.post("/api/v1/integrations/noted/enable", headers=acme.admin_headers)).is_success
    await acme.upsert_ticket("T-1", email="a@example.com")
    await acme.upsert_ticket("T-2", email="a@example.com", custom_data={"integrations": {"noted": {"accountId": "a"}}})

    unverified = await acme.panel("T-1", "noted")
    assert (unverified["verified"], unverified["verification_note"]) == (False, NOTE)
    verified = await acme.panel("T-2", "noted")
    assert (verified["verified"], verified["verification_note"]) == (True, None)
