"""What CLI commands share: the database, the prepared host, and the CLI's audit identity."""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.engine import Database
from megadesk_core.db.models import Tenant
from megadesk_core.keyring import KeyRing
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.services.tenants import Principal, Role, get_tenant_by_slug
from megadesk_core.settings import Settings
from megadesk_core.startup import prepare


@asynccontextmanager
async def cli_database(settings: Settings) -> AsyncIterator[Database]:
    """The database, migrated if the settings say so (the embedded default does)."""
    if settings.migrate_on_startup():
        from megadesk_core.migrate import upgrade_database

        upgrade_database(settings.resolved_database_url())
    database = Database.for_settings(settings)
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def cli_host(settings: Settings) -> AsyncIterator[tuple[Database, KeyRing, IntegrationRegistry]]:
    """Everything the app would have: migrated database, checked key ring, loaded plugins."""
    keyring, registry = prepare(settings)
    database = Database.for_settings(settings)
    try:
        yield database, keyring, registry
    finally:
        await registry.shutdown()
        await database.dispose()


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = await get_tenant_by_slug(session, slug)
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}; create it with 'megadesk tenants create {slug}'")
    return tenant


async def cli_principal(session: AsyncSession, slug: str) -> Principal:
    """The CLI acts as an admin of the tenant; the audit log names the OS user."""
    tenant = await tenant_by_slug(session, slug)
    return Principal(
        tenant_id=tenant.id, tenant_slug=tenant.slug, token_id=None, name=f"cli:{getpass.getuser()}", role=Role.ADMIN
    )
