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

from pydantic import BaseModel, SecretStr
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import IntegrationInstallation, KeyCanary, utcnow
from megadesk_core.keyring import KeyRing
from megadesk_core.types import IntegrationContext, IntegrationManifest, SettingsCheck


def secret_field_names(model: type[BaseModel]) -> frozenset[str]:
    names = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        candidates = (
            typing.get_args(annotation)
            if typing.get_origin(annotation) in (typing.Union, types.UnionType)
            else (annotation,)
        )
        if SecretStr in candidates:
            names.add(name)
    return frozenset(names)


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


async def enabled_installations(session: AsyncSession, tenant_id: str) -> list[IntegrationInstallation]:
    query = select(IntegrationInstallation).where(
        IntegrationInstallation.tenant_id == tenant_id,
        IntegrationInstallation.enabled == True,  # noqa: E712
    )
    return list((await session.exec(query)).all())


def _stored_secrets(row: IntegrationInstallation, keyring: KeyRing) -> dict[str, str]:
    if not row.secrets_ciphertext:
        return {}
    plaintext = keyring.decrypt(row.secrets_ciphertext, tenant_id=row.tenant_id, integration=row.integration)
    loaded: dict[str, str] = json.loads(plaintext)
    return loaded


def merged_input(
    row: IntegrationInstallation | None, keyring: KeyRing, manifest: IntegrationManifest, submitted: dict[str, Any]
) -> dict[str, Any]:
    """The stored settings overlaid with what the admin submitted (omitted secrets are kept)."""
    if row is None:
        return dict(submitted)
    merged: dict[str, Any] = {**row.settings, **_stored_secrets(row, keyring)}
    merged.update(submitted)
    return {k: v for k, v in merged.items() if k in manifest.settings_model.model_fields}


def load_settings(row: IntegrationInstallation, keyring: KeyRing, manifest: IntegrationManifest) -> BaseModel:
    return manifest.settings_model.model_validate({**row.settings, **_stored_secrets(row, keyring)})


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
    """Store validated settings: public fields as JSON, secret fields encrypted."""
    row = await get_installation(session, tenant_id, manifest.name)
    if row is None:
        row = IntegrationInstallation(tenant_id=tenant_id, integration=manifest.name)
    secret_names = secret_field_names(type(settings))
    dumped = settings.model_dump(mode="json")
    row.settings = {k: v for k, v in dumped.items() if k not in secret_names}
    secrets = {
        name: value.get_secret_value()
        for name in secret_names
        if isinstance(value := getattr(settings, name), SecretStr)
    }
    encrypt_into(row, keyring, secrets)
    await ensure_canary(session, keyring)
    row.settings_check = check.model_dump(mode="json") if check is not None else None
    if enabled is not None:
        row.enabled = enabled
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return row


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
    row: IntegrationInstallation, keyring: KeyRing, manifest: IntegrationManifest, options: BaseModel | None
) -> IntegrationContext:
    return IntegrationContext(
        tenant_id=row.tenant_id,
        integration=manifest.name,
        settings=load_settings(row, keyring, manifest),
        options=options,
        settings_check=SettingsCheck.model_validate(row.settings_check) if row.settings_check else None,
    )
