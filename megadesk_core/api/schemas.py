"""Request and response bodies. Response models have no field that could carry a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from megadesk_core.types import SettingsCheck


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; say so instead of failing on insert.
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class TicketUpsert(_Body):
    """What Megadesk sends about a ticket: the requester and the tenant's Custom Data."""

    requester_email: EmailStr | None = None
    subject: Annotated[str | None, AfterValidator(_no_nul)] = Field(default=None, max_length=500)
    custom_data: dict[str, Any] = Field(default_factory=dict)


class TicketOut(BaseModel):
    id: str
    requester_email: str | None
    subject: str | None
    custom_data: dict[str, Any]
    updated_at: datetime


class SettingsUpdate(_Body):
    """New settings for an integration. Secret fields left out keep their stored value."""

    settings: dict[str, Any] = Field(default_factory=dict)
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
    created_at: datetime
    actor_name: str
    actor_role: str
    ticket_id: str | None
    integration: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None


class WhoAmI(BaseModel):
    tenant: str
    token_name: str
    role: str
