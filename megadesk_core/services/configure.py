"""Configuring an integration for a tenant: validate, check with the plugin, store, audit.

Shared by the admin API and the CLI.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.models import IntegrationInstallation
from megadesk_core.errors import (
    IntegrationError,
    RateLimitedError,
    RequestError,
    UpstreamUnavailableError,
    field_errors,
)
from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.keyring import KeyRing
from megadesk_core.plugins import IntegrationRegistry, LoadedIntegration
from megadesk_core.services import audit
from megadesk_core.services.installations import get_installation, merged_input, save_settings, set_enabled
from megadesk_core.services.tenants import Principal
from megadesk_core.text_safety import nul_errors
from megadesk_core.types import SettingsCheck


class SettingsRejectedError(RequestError):
    """The settings are invalid; ``errors`` name the fields. Nothing was saved."""

    def __init__(self, code: str, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(422, code, message, errors)


class SettingsUncheckedError(SettingsRejectedError):
    """The plugin could not check the settings now (its service is down, slow or rate limiting).
    Nothing was saved: an admin who saves settings expects them checked, not stored unchecked."""

    def __init__(self, title: str, reason: str, retry_after: int | None) -> None:
        RequestError.__init__(
            self,
            503,
            "settings_unchecked",
            f"The {title} settings could not be checked now ({reason}); nothing was saved. Try again in a moment.",
            headers={"Retry-After": str(retry_after)} if retry_after else None,
        )


class NotConfiguredError(RequestError):
    """Enabling an integration whose settings have required fields before saving them."""

    def __init__(self, message: str) -> None:
        super().__init__(409, "not_configured", message)


async def check_settings(
    registry: IntegrationRegistry, integration: LoadedIntegration, settings: BaseModel, timeout: float
) -> SettingsCheck | None:
    """Ask the plugin about the settings. An error it raises refuses them (422 naming the field);
    when it cannot tell now (its service unavailable or rate limiting, or no answer in time) they
    are refused too, with a 503 that says to try again: never saved unchecked."""
    try:
        async with asyncio.timeout(timeout):
            return await IntegrationHooks(registry, integration).check_settings(settings)
    except (RateLimitedError, UpstreamUnavailableError, TimeoutError) as exc:
        reason = exc.message if isinstance(exc, IntegrationError) else f"no answer within {timeout:g} s"
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
        raise SettingsUncheckedError(integration.manifest.title, reason, retry_after) from exc
    except IntegrationError as exc:
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
        raise SettingsRejectedError(exc.code, exc.message, errors) from exc


async def configure(
    session: AsyncSession,
    registry: IntegrationRegistry,
    keyring: KeyRing,
    actor: Principal,
    integration: LoadedIntegration,
    submitted: dict[str, Any],
    *,
    enabled: bool | None,
    check_timeout: float,
) -> IntegrationInstallation:
    manifest = integration.manifest
    row = await get_installation(session, actor.tenant_id, manifest.name)
    candidate = merged_input(row, keyring, manifest, submitted)
    try:
        settings = manifest.settings_model.model_validate(candidate)
        # Non-secret settings are stored as JSON, which PostgreSQL cannot hold with a NUL in it
        # (secrets are encrypted, and dump masked here).
        errors = nul_errors(settings.model_dump(mode="json"))
    except ValidationError as exc:
        errors = field_errors(exc)
    if errors:
        await audit.record(
            session,
            actor,
            action="settings.update",
            integration=manifest.name,
            outcome="invalid",
            detail="invalid fields: " + ", ".join(e["field"] for e in errors),
        )
        # Never chained: a ValidationError's text holds the submitted values, secrets included.
        raise SettingsRejectedError("invalid_settings", f"The {manifest.title} settings are invalid.", errors)
    # The plugin checks the settings against its remote API: no pooled connection waits on it.
    await session.commit()
    try:
        check = await check_settings(registry, integration, settings, check_timeout)
    except SettingsRejectedError as exc:
        await audit.record(
            session, actor, action="settings.update", integration=manifest.name, outcome="invalid", detail=exc.message
        )
        raise
    row = await save_settings(session, keyring, actor.tenant_id, manifest, settings, check, enabled=enabled)
    await audit.record(
        session,
        actor,
        action="settings.update",
        integration=manifest.name,
        outcome="succeeded",
        detail=f"fields: {', '.join(sorted(submitted)) or '(none)'}; enabled: {row.enabled}",
    )
    return row


async def enable(
    session: AsyncSession,
    registry: IntegrationRegistry,
    keyring: KeyRing,
    actor: Principal,
    integration: LoadedIntegration,
    *,
    check_timeout: float,
) -> IntegrationInstallation:
    """Enable with the stored settings; an integration whose settings have required fields must be
    configured first (:class:`NotConfiguredError`)."""
    row = await get_installation(session, actor.tenant_id, integration.name)
    if row is None:
        try:
            integration.manifest.settings_model.model_validate({})
        except ValidationError as exc:
            raise NotConfiguredError(
                f"Configure {integration.manifest.title} first: PUT /api/v1/integrations/{integration.name}/settings"
            ) from exc
        return await configure(
            session, registry, keyring, actor, integration, {}, enabled=True, check_timeout=check_timeout
        )
    await set_enabled(session, row, True)
    await audit.record(session, actor, action="integration.enable", integration=integration.name, outcome="succeeded")
    return row


async def disable(
    session: AsyncSession, actor: Principal, integration: LoadedIntegration
) -> IntegrationInstallation | None:
    row = await get_installation(session, actor.tenant_id, integration.name)
    if row is not None:
        await set_enabled(session, row, False)
    await audit.record(session, actor, action="integration.disable", integration=integration.name, outcome="succeeded")
    return row
