"""Per-tenant integration settings: validated by the plugin's model, secrets encrypted.

Secret fields (``SecretStr``) are write-only: stored as one encrypted JSON object bound to the
tenant and integration, never returned. Saving without a secret field keeps the stored one.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import and_, bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import IntegrationInstallation, KeyCanary, Ticket, utcnow
from megadesk_core.errors import SettingsUnreadableError, field_errors
from megadesk_core.keyring import KeyRing, SecretDecryptionError
from megadesk_core.outbound import OutboundHTTP, process_outbound
from megadesk_core.types import HookPurpose, IntegrationContext, IntegrationManifest, SettingsCheck


def _mentions_secret(annotation: object) -> bool:
    # SecretStr, Optional[SecretStr], Annotated[SecretStr, ...] | None, and so on.
    if annotation is SecretStr:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _mentions_secret(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_mentions_secret(arg) for arg in typing.get_args(annotation))
    return False


def secret_field_names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, info in model.model_fields.items() if _mentions_secret(info.annotation))


@dataclass(frozen=True)
class SettingsView:
    """What an admin may see of an installation: no secret values, only whether each is set."""

    integration: str
    enabled: bool
    configured: bool
    settings: dict[str, Any]
    secrets: dict[str, bool]
    check: SettingsCheck | None


async def get_installation(session: AsyncSession, tenant_id: str, integration: str) -> IntegrationInstallation | None:
    query = select(IntegrationInstallation).where(
        IntegrationInstallation.tenant_id == tenant_id, IntegrationInstallation.integration == integration
    )
    return (await session.exec(query)).first()


_TICKET_AND_ENABLED_INSTALLATIONS = (
    select(Ticket, IntegrationInstallation)
    .outerjoin(
        IntegrationInstallation,
        and_(
            col(IntegrationInstallation.tenant_id) == col(Ticket.tenant_id),
            col(IntegrationInstallation.enabled) == True,  # noqa: E712
        ),
    )
    .where(col(Ticket.tenant_id) == bindparam("tenant_id"), col(Ticket.external_id) == bindparam("external_id"))
)


async def ticket_and_enabled_installations(
    session: AsyncSession, tenant_id: str, external_id: str
) -> tuple[Ticket | None, list[IntegrationInstallation]]:
    """A ticket and its tenant's enabled integrations in one round trip: every sidebar asks, so
    the query is built once, with bound parameters (see ``tickets.get_ticket``)."""
    params = {"tenant_id": tenant_id, "external_id": external_id}
    rows = (await session.exec(_TICKET_AND_ENABLED_INSTALLATIONS, params=params)).all()
    if not rows:
        return None, []
    return rows[0][0], [installation for _, installation in rows if installation is not None]


def _stored_secrets(row: IntegrationInstallation, keyring: KeyRing) -> dict[str, str]:
    if not row.secrets_ciphertext:
        return {}
    plaintext = keyring.decrypt(row.secrets_ciphertext, tenant_id=row.tenant_id, integration=row.integration)
    loaded: dict[str, str] = json.loads(plaintext)
    return loaded


def merged_input(
    row: IntegrationInstallation | None, keyring: KeyRing, manifest: IntegrationManifest, submitted: dict[str, Any]
) -> dict[str, Any]:
    """The stored settings overlaid with what the admin submitted (omitted secrets are kept).

    Stored values the model no longer has are dropped; submitted ones are kept, so that an
    unknown field is a 422 whether or not the integration was configured before. Stored
    secrets that cannot be decrypted are left out: the admin must send them again.
    """
    if row is None:
        return dict(submitted)
    try:
        secrets = _stored_secrets(row, keyring)
    except SecretDecryptionError:
        secrets = {}
    fields = manifest.settings_model.model_fields
    stored = {k: v for k, v in {**row.settings, **secrets}.items() if k in fields}
    return {**stored, **submitted}


def load_settings(row: IntegrationInstallation, keyring: KeyRing, manifest: IntegrationManifest) -> BaseModel:
    title = manifest.title
    try:
        values = {**row.settings, **_stored_secrets(row, keyring)}
    except SecretDecryptionError as exc:
        raise SettingsUnreadableError(
            f"{title} settings cannot be decrypted ({exc}); an admin must save them again."
        ) from exc
    try:
        return manifest.settings_model.model_validate(values)
    except ValidationError as exc:
        # Never chain the ValidationError: its text carries the input values, secrets included.
        fields = ", ".join(e["field"] for e in field_errors(exc))
        raise SettingsUnreadableError(
            f"{title} settings are no longer valid ({fields}); an admin must save them again."
        ) from None


async def ensure_canary(session: AsyncSession, keyring: KeyRing) -> None:
    if await session.get(KeyCanary, keyring.primary_id) is None:
        session.add(KeyCanary(key_id=keyring.primary_id, token=keyring.make_canary(keyring.primary_id)))


def encrypt_into(row: IntegrationInstallation, keyring: KeyRing, secrets: dict[str, str]) -> None:
    row.secret_fields = sorted(secrets)
    if secrets:
        row.secrets_ciphertext = keyring.encrypt(
            json.dumps(secrets).encode(), tenant_id=row.tenant_id, integration=row.integration
        )
        row.key_id = keyring.primary_id
    else:
        row.secrets_ciphertext = None
        row.key_id = None


async def save_settings(
    session: AsyncSession,
    keyring: KeyRing,
    tenant_id: str,
    manifest: IntegrationManifest,
    settings: BaseModel,
    check: SettingsCheck | None,
    *,
    enabled: bool | None = None,
) -> IntegrationInstallation:
    """Store validated settings: public fields as JSON, secret fields encrypted.

    Two first saves at once (two admins, or the key canary written by two processes): the
    loser of the insert race rolls back and saves again as an update.
    """
    secret_names = secret_field_names(type(settings))
    public = {k: v for k, v in settings.model_dump(mode="json").items() if k not in secret_names}
    secrets = {
        name: value.get_secret_value()
        for name in secret_names
        if isinstance(value := getattr(settings, name), SecretStr)
    }
    for _ in range(2):
        row = await get_installation(session, tenant_id, manifest.name)
        if row is None:
            row = IntegrationInstallation(tenant_id=tenant_id, integration=manifest.name)
        row.settings = public
        encrypt_into(row, keyring, secrets)
        await ensure_canary(session, keyring)
        row.settings_check = check.model_dump(mode="json") if check is not None else None
        if enabled is not None:
            row.enabled = enabled
        row.updated_at = utcnow()
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            continue
        return row
    raise RuntimeError(f"settings of {manifest.name!r} could not be saved: they keep changing under us")


async def set_enabled(session: AsyncSession, row: IntegrationInstallation, enabled: bool) -> None:
    row.enabled = enabled
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()


def view(row: IntegrationInstallation | None, manifest: IntegrationManifest) -> SettingsView:
    secret_names = secret_field_names(manifest.settings_model)
    if row is None:
        return SettingsView(manifest.name, False, False, {}, {n: False for n in sorted(secret_names)}, None)
    return SettingsView(
        integration=manifest.name,
        enabled=row.enabled,
        configured=True,
        settings=dict(row.settings),
        # Which secrets are set is kept beside the ciphertext: the admin view never decrypts.
        secrets={n: n in row.secret_fields for n in sorted(secret_names)},
        check=SettingsCheck.model_validate(row.settings_check) if row.settings_check else None,
    )


def integration_context(
    row: IntegrationInstallation,
    keyring: KeyRing,
    manifest: IntegrationManifest,
    options: BaseModel | None,
    purpose: HookPurpose = "panel",
    outbound: OutboundHTTP | None = None,
) -> IntegrationContext:
    """A new context (with a new, empty memo) for one render or one action; its ``http`` is
    ``outbound`` (default: the app's, :func:`~megadesk_core.outbound.process_outbound`) labelled
    with the tenant and integration."""
    http = (outbound or process_outbound()).for_integration(manifest.name, tenant_id=row.tenant_id, purpose=purpose)
    return IntegrationContext(
        http=http,
        purpose=purpose,
        tenant_id=row.tenant_id,
        integration=manifest.name,
        settings=load_settings(row, keyring, manifest),
        options=options,
        settings_check=SettingsCheck.model_validate(row.settings_check) if row.settings_check else None,
    )
