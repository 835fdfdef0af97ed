"""Request and response bodies. Response models have no field that could carry a secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from megadesk_core.text_safety import strip_nul
from megadesk_core.types import SettingsCheck

NO_NUL = "^[^\\x00]*$"
"""Pattern of a text field that must not hold NUL (PostgreSQL text cannot)."""


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC, and the API says so.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _without_nul(value: Any) -> Any:
    """``value`` (JSON data) with NUL characters removed from keys and strings: ticket context is
    stored as JSON, which PostgreSQL cannot hold with a NUL in it, and losing one costs nothing."""
    if isinstance(value, str):
        return strip_nul(value)
    if isinstance(value, dict):
        return {strip_nul(str(k)): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _no_nul(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; say so instead of failing on insert.
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _valid_email(value: str) -> str:
    """``value`` exactly as sent (outer spaces aside), once it validates as an address.

    Not normalised: ``EmailStr`` would lower-case the domain, and an integration whose upstream
    compares addresses case-sensitively (Stripe's customer list filter) must see what the help
    desk has. Integrations compare case-insensitively where they need to."""
    address = value.strip()
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None
    return address


RequesterEmail = Annotated[str, AfterValidator(_valid_email)]
"""A requester's address: validated like ``EmailStr``, kept as sent."""


class TicketUpsert(_Body):
    """What Megadesk sends about a ticket: the requester and the tenant's Custom Data."""

    requester_email: RequesterEmail | None = Field(
        default=None,
        max_length=320,
        json_schema_extra={"format": "email"},
        description="The requester's address, kept as sent (letter case included); special-use domains "
        "(.local, .arpa...) are refused.",
    )
    subject: Annotated[str | None, AfterValidator(_no_nul)] = Field(default=None, max_length=500, pattern=NO_NUL)
    custom_data: Annotated[dict[str, Any], AfterValidator(_without_nul)] = Field(
        default_factory=dict, description="The tenant's Custom Data (NUL characters are removed)."
    )


class TicketOut(BaseModel):
    id: str
    requester_email: str | None
    subject: str | None
    custom_data: dict[str, Any]
    updated_at: UtcDatetime


class SettingsUpdate(_Body):
    """New settings for an integration. Secret fields left out keep their stored value."""

    settings: dict[str, Any] = Field(
        default_factory=dict, description="The integration's settings, as its settings_schema describes them."
    )
    enabled: bool | None = None


class SettingsOut(BaseModel):
    integration: str
    enabled: bool
    configured: bool
    settings: dict[str, Any] = Field(description="Non-secret settings.")
    secrets: dict[str, bool] = Field(
        description="For each secret field, whether a value is stored. Values are never returned."
    )
    check: SettingsCheck | None = None
    webhook_path: str | None = Field(
        default=None,
        description="Where the upstream sends this integration's events, after Megadesk's public address "
        "(e.g. https://megadesk.example.com/api/v1/webhooks/...); keep it private. None: the integration takes "
        "no webhooks, or is not configured yet.",
    )


class ActionOut(BaseModel):
    name: str
    title: str
    description: str
    confirmation: str
    danger: bool
    requires_verified_customer: bool
    payload_schema: dict[str, Any]
    unavailable_reason: str | None = Field(
        default=None, description="Set when the tenant's settings check says this action cannot work, and why."
    )


class IntegrationOut(BaseModel):
    name: str
    title: str
    description: str
    source: str
    hook_api_version: int
    panel_schema_version: int
    enabled: bool
    configured: bool
    settings_schema: dict[str, Any]
    secret_fields: list[str]
    actions: list[ActionOut]


class AuditEntryOut(BaseModel):
    id: int
    created_at: UtcDatetime
    actor_name: str
    actor_role: str
    ticket_id: str | None
    integration: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None
    request_id: str | None = Field(default=None, description="The X-Request-ID of the request that wrote the row.")
    customer_id: str | None = None
    amount: int | None = Field(default=None, description="In the currency's minor unit.")
    currency: str | None = None
    reference: str | None = Field(default=None, description="Upstream's id for what the action made.")
    request: dict[str, Any] | None = Field(default=None, description="The action's payload and selection.")
    completed_at: UtcDatetime | None = Field(
        default=None, description="Unset while the outcome is 'pending' (see docs/reliability.md)."
    )


class WhoAmI(BaseModel):
    tenant: str
    token_name: str
    role: str
