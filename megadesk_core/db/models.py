"""The tables. Every row that belongs to a tenant carries ``tenant_id``; queries filter on it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def _timestamp() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    slug: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = _timestamp()


class ApiToken(SQLModel, table=True):
    """A bearer token bound to one tenant and one role. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class IntegrationInstallation(SQLModel, table=True):
    """One integration bound to one tenant: enabled flag and its settings.

    ``settings`` holds the non-secret fields; the secret fields are one encrypted JSON object in
    ``secrets_ciphertext`` (bound to tenant and integration), under key ``key_id``.
    """

    __tablename__ = "integration_installation"
    __table_args__ = (UniqueConstraint("tenant_id", "integration"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    integration: str = Field(max_length=40)
    enabled: bool = False
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    secrets_ciphertext: str | None = None
    secret_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    key_id: str | None = Field(default=None, index=True, max_length=32)
    settings_check: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = _timestamp()


class Ticket(SQLModel, table=True):
    """A Megadesk ticket as Megadesk last sent it: requester email and Custom Data."""

    __tablename__ = "ticket"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=32)
    external_id: str = Field(max_length=128)
    requester_email: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None, max_length=500)
    custom_data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _timestamp()


class AuditEntry(SQLModel, table=True):
    """Every action attempt and every settings change: who, where, what, outcome.

    An action attempt that may reach upstream is written ahead, with outcome ``pending``, before
    the plugin runs, and completed afterwards (or by recovery): see docs/reliability.md.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_tenant_created", "tenant_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    created_at: datetime = _timestamp()
    actor_token_id: str | None = Field(default=None, max_length=32)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(max_length=16)
    ticket_external_id: str | None = Field(default=None, max_length=128)
    integration: str | None = Field(default=None, max_length=40)
    action: str = Field(max_length=80)
    target: str | None = Field(default=None, max_length=255)
    outcome: str = Field(max_length=32)
    detail: str | None = Field(default=None, max_length=2000)
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_id: str | None = Field(default=None, max_length=128)
    customer_id: str | None = Field(default=None, max_length=255)
    amount: int | None = Field(default=None, sa_column=Column(BigInteger))
    """In the currency's minor unit: what the request asked for, then what the result reports."""
    currency: str | None = Field(default=None, max_length=3)
    request: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """The validated payload and the agent's selection, as the plugin received them."""
    reference: str | None = Field(default=None, max_length=255)
    """Upstream's id for what the action made (e.g. the refund), from the result."""
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class IdempotencyRecord(SQLModel, table=True):
    """The first result of an action request, replayed for the same ``Idempotency-Key``.

    ``state``: ``running`` (``owner`` renews ``heartbeat_at`` while the action runs), ``unknown``
    (the attempt ended without knowing whether upstream acted) or ``done`` (replayed).
    ``audit_entry_id`` is the audit row of the attempt that holds the claim.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=32)
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    state: str = Field(max_length=16)
    status_code: int | None = None
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _timestamp()
    owner: str | None = Field(default=None, max_length=128)
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    audit_entry_id: int | None = None


class KeyCanary(SQLModel, table=True):
    """A value encrypted under each key that has ever encrypted a row: proves the key is right."""

    __tablename__ = "key_canary"

    key_id: str = Field(primary_key=True, max_length=32)
    token: str
    created_at: datetime = _timestamp()
