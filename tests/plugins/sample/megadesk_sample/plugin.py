"""The sample integration: echoes what it is given so tests can see what the host passes in.

Behaviour switches for tests come from the ticket's Custom Data block
(``integrations.sample``): ``{"raise": true}`` raises, ``{"sleep": 5}`` sleeps (to test
deadlines), ``{"contactId": "c-1"}`` makes a verified match; a requester email makes an
unverified one.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from megadesk_core import hookimpl
from megadesk_core.errors import ActionRefusedError, InvalidInputError
from megadesk_core.types import (
    ActingPrincipal,
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationContext,
    IntegrationManifest,
    KeyValueBlock,
    KeyValueItem,
    NoticeBlock,
    Panel,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
    UnavailableFeature,
)

NOTES: list[tuple[str, str, str]] = []
"""(tenant, customer, text) of every note added: the tests' view of the "remote system"."""


class SampleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_token: SecretStr = Field(min_length=8, description="The sample service's token.")
    greeting: str = Field(default="Hello", max_length=40)


class AddNote(ActionPayload):
    text: str = Field(min_length=1, max_length=200)


@hookimpl
def manifest() -> IntegrationManifest:
    return IntegrationManifest(
        name="sample", title="Sample CRM", settings_model=SampleSettings, description="Test plugin", features=("notes",)
    )


@hookimpl
def check_settings(settings: SampleSettings) -> SettingsCheck:
    if settings.api_token.get_secret_value() == "rejected-token":
        raise InvalidInputError("The sample service rejected this token.", field="api_token")
    if settings.greeting == "no-notes":
        return SettingsCheck(
            unavailable_features=[UnavailableFeature(feature="notes", reason="the token cannot write notes")]
        )
    return SettingsCheck(warnings=["sample warning"] if settings.greeting == "warn" else [])


@hookimpl
async def resolve_customer(ticket: TicketContext) -> ResolvedCustomer | None:
    if ticket.custom_data.get("raise"):
        raise RuntimeError("sample plugin exploded (internal detail that must not leak)")
    if delay := ticket.custom_data.get("sleep"):
        await asyncio.sleep(float(delay))
    if contact := ticket.custom_data.get("contactId"):
        return ResolvedCustomer(id=str(contact), verified=True, label=str(contact))
    if ticket.requester_email:
        return ResolvedCustomer(id=ticket.requester_email, verified=False, matched_by="email")
    return None


@hookimpl
def sidebar_panel(context: IntegrationContext, ticket: TicketContext, customer: ResolvedCustomer | None) -> Panel:
    settings = context.settings
    assert isinstance(settings, SampleSettings)
    if customer is None:
        return Panel(title="Sample CRM", status="empty", blocks=[NoticeBlock(title="No contact")])
    notes = [text for tenant, cid, text in NOTES if tenant == context.tenant_id and cid == customer.id]
    return Panel(
        title="Sample CRM",
        verified=customer.verified,
        blocks=[
            KeyValueBlock(
                items=[
                    KeyValueItem(label="Greeting", value=f"{settings.greeting} {customer.id}"),
                    KeyValueItem(label="Notes", value=str(len(notes))),
                ]
            )
        ],
    )


@hookimpl
def actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            name="add_note",
            title="Add a note",
            payload_model=AddNote,
            confirmation="Add this note?",
            requires_verified_customer=True,
            feature="notes",
        )
    ]


@hookimpl
def run_action(
    context: IntegrationContext, customer: ResolvedCustomer, payload: AddNote, principal: ActingPrincipal | None
) -> ActionResult:
    if payload.target != customer.id:
        raise ActionRefusedError("That contact is not this ticket's contact.")
    NOTES.append((context.tenant_id, customer.id, payload.text))
    by = {"by": principal.name, "role": principal.role} if principal is not None else {}
    return ActionResult(message="Note added", target=payload.target, reference=f"note-{len(NOTES)}", details=by)
