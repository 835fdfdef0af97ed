"""The Customer lookup integration's hook implementations.

Registered through the ``megadesk.integrations`` entry point as ``lookup``. It uses only the
generic host API: settings with a secret, a panel made of schema blocks, one action.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from megadesk_core import hookimpl
from megadesk_core.errors import ActionRefusedError, InvalidInputError, NotFoundError
from megadesk_core.types import (
    ActionPayload,
    ActionResult,
    ActionSpec,
    CustomerCandidate,
    IntegrationContext,
    IntegrationManifest,
    Panel,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
)
from megadesk_lookup.client import LookupClient
from megadesk_lookup.panel import ADD_NOTE, TITLE, customer_panel, empty_panel
from megadesk_lookup.records import CustomerRecord, InvalidResponseError, record_id
from megadesk_lookup.settings import LookupOptions, LookupSettings

NAME = "lookup"
CUSTOMER_ID_KEY = "customerId"
"""The key in the ticket's Custom Data block (``integrations.lookup.customerId``) naming the customer."""
SETTINGS_CHECK_EMAIL = "megadesk-settings-check@example.invalid"
MAX_ALTERNATIVES = 10


class AddNotePayload(ActionPayload):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="The note, as the agent wrote it."
    )


LookupContext = IntegrationContext[LookupSettings, LookupOptions]
"""What the host hands these hooks: the settings and options are this plugin's own models."""


def _client(context: LookupContext) -> LookupClient:
    return LookupClient(context.settings, context.options or LookupOptions(), http=context.http)


def _customer_key(customer_id: str) -> str:
    return f"{NAME}:customer:{customer_id}"


async def _customer(context: LookupContext, customer_id: str) -> CustomerRecord:
    """The customer's record, fetched once per render: resolve_customer's fetch serves the panel."""

    async def fetch() -> CustomerRecord:
        async with _client(context) as api:
            return await api.get_customer(customer_id)

    return await context.memo.get(_customer_key(customer_id), fetch)


def _same_email(record: CustomerRecord, email: str) -> bool:
    # A search that is looser than it should be (prefix, fuzzy) must not put someone else's
    # record in front of the agent; a record without an email field is taken on trust.
    found = record.fields.get("email")
    return not isinstance(found, str) or found.strip().lower() == email.strip().lower()


@hookimpl
def manifest() -> IntegrationManifest:
    return IntegrationManifest(
        name=NAME,
        title=TITLE,
        description="Shows the ticket's customer from your own customer API (JSON over https) and adds notes to it.",
        settings_model=LookupSettings,
        options_model=LookupOptions,
    )


@hookimpl
async def check_settings(settings: LookupSettings, options: LookupOptions | None) -> SettingsCheck:
    lookup_settings = settings
    async with LookupClient(lookup_settings, options or LookupOptions()) as api:
        try:
            await api.find_by_email(SETTINGS_CHECK_EMAIL)
        except NotFoundError as exc:
            raise InvalidInputError(
                f"GET {lookup_settings.base_url}/customers answered 404: base_url should be the root of "
                "your customer API (the part before /customers).",
                field="base_url",
            ) from exc
        except InvalidResponseError as exc:
            raise InvalidInputError(exc.message, field="base_url") from exc
    return SettingsCheck()


@hookimpl
async def resolve_customer(context: LookupContext, ticket: TicketContext) -> ResolvedCustomer | None:
    named = ticket.custom_data.get(CUSTOMER_ID_KEY)
    if named is not None:
        customer_id = record_id(named)
        if customer_id is None:
            raise InvalidInputError(
                f"The ticket's Custom Data integrations.{NAME}.{CUSTOMER_ID_KEY} is not a customer id "
                "(a string or integer of at most 255 characters)."
            )
        try:
            record = await _customer(context, customer_id)
        except NotFoundError as exc:
            raise NotFoundError(
                f"The ticket names customer {customer_id} (Custom Data integrations.{NAME}.{CUSTOMER_ID_KEY}), "
                "but the customer API has no such customer."
            ) from exc
        return ResolvedCustomer(id=record.id, verified=True, label=record.label, matched_by="custom_data")

    email = ticket.requester_email
    if not email:
        return None
    async with _client(context) as api:
        matches = [r for r in await api.find_by_email(email) if _same_email(r, email)]
    if not matches:
        return None
    chosen = next((m for m in matches if m.id == ticket.selection), matches[0])
    others = [m for m in matches if m is not chosen][:MAX_ALTERNATIVES]
    return ResolvedCustomer(
        id=chosen.id,
        verified=False,
        label=chosen.label,
        matched_by="email",
        alternatives=[CustomerCandidate(id=m.id, label=m.label, description=f"id {m.id}") for m in others],
    )


@hookimpl
async def sidebar_panel(context: LookupContext, ticket: TicketContext, customer: ResolvedCustomer | None) -> Panel:
    if customer is None:
        return empty_panel(ticket)
    record = await _customer(context, customer.id)
    return customer_panel(record, customer, context.settings)


async def add_note(
    context: LookupContext, customer: ResolvedCustomer, payload: AddNotePayload, idempotency_key: str
) -> ActionResult:
    if payload.target != customer.id:
        raise ActionRefusedError(
            f"Customer {payload.target} is not the customer this ticket is about; reload the panel and try again."
        )
    async with _client(context) as api:
        note_id = await api.add_note(customer.id, payload.text, idempotency_key=idempotency_key)
    return ActionResult(
        message=f"Note added to {customer.label or customer.id}.", target=customer.id, reference=note_id
    )


@hookimpl
def actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            name=ADD_NOTE,
            title="Add a note",
            description="Adds a note to the customer's record in your customer system.",
            payload_model=AddNotePayload,
            confirmation="Add this note to the customer's record?",
            # The note lands in a record that outlives the ticket: an email match is not enough.
            requires_verified_customer=True,
            handler=add_note,
        )
    ]
