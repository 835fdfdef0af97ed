"""``megadesk init``: from nothing to a working installation, and safe to run again.

Creates the data directory, a key file readable by its owner only (never overwriting one),
applies the migrations, checks the key ring against the database, and optionally creates the
first tenant with an admin token. Each step says what it did or what it found already there.
An existing tenant gets no new token: a re-run must not mint credentials nobody asked for.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable

import sqlalchemy.exc
from sqlalchemy.engine import make_url

from megadesk_core.db.engine import Database
from megadesk_core.keyring import DEFAULT_KEY_FILE_NAME, KeyRing, write_key_file
from megadesk_core.migrate import database_revision, upgrade_database
from megadesk_core.services.tenants import Role, create_tenant, create_token, get_tenant_by_slug
from megadesk_core.settings import Settings
from megadesk_core.startup import StartupError, verify_keyring

Say = Callable[[str], None]

INIT_TOKEN_NAME = "admin (megadesk init)"


def database_location(database_url: str) -> str:
    """The database as a person recognises it, without a password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


def ensure_data_dir(settings: Settings, say: Say) -> None:
    embedded = settings.database_url is None or (
        settings.encryption_keys is None and settings.encryption_keys_file is None
    )
    if not embedded:
        return  # database and keys live elsewhere: nothing to keep in a data directory
    data_dir = settings.data_dir.resolve()
    if data_dir.is_dir():
        say(f"data directory {data_dir} already exists")
        return
    data_dir.mkdir(mode=0o700, parents=True)  # it holds the database and the key
    say(f"data directory {data_dir} created")


def ensure_key_ring(settings: Settings, say: Say) -> KeyRing:
    if settings.encryption_keys is not None:
        keyring = KeyRing.from_settings(settings)
        say(f"encryption keys from MEGADESK_ENCRYPTION_KEYS ({', '.join(keyring.key_ids)}); no key file written")
        return keyring
    path = (settings.encryption_keys_file or settings.data_dir / DEFAULT_KEY_FILE_NAME).resolve()
    if path.exists():
        keyring = KeyRing.from_settings(settings)  # a malformed file is an error, never replaced
        say(f"key file {path} already exists (keys {', '.join(keyring.key_ids)}); left as it is")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            say(f"warning: {path} is readable by other users (mode {mode:o}); run 'chmod 600 {path}'")
        return keyring
    write_key_file(path)
    keyring = KeyRing.from_settings(settings)
    say(f"key file {path} created (key {keyring.primary_id}, mode 600)")
    say(
        f"BACK UP {path} NOW, somewhere other than this machine: a lost key loses every stored "
        "secret, and each tenant's admin would have to enter their integration credentials again"
    )
    return keyring


def ensure_schema(settings: Settings, say: Say) -> str:
    url = settings.resolved_database_url()
    where = database_location(url)
    try:
        before = database_revision(url)
        upgrade_database(url)
        after = database_revision(url)
    except sqlalchemy.exc.OperationalError as exc:
        raise StartupError(
            f"cannot reach the database {where} ({exc.orig}): check MEGADESK_DATABASE_URL and that the "
            "database server runs, then run 'megadesk init' again"
        ) from exc
    if before == after:
        say(f"database {where} is already up to date (migration {after})")
    elif before is None:
        say(f"database {where} created (migration {after})")
    else:
        say(f"database {where} migrated from {before} to {after}")
    return url


async def ensure_tenant(database_url: str, slug: str, name: str | None, say: Say) -> str | None:
    """The tenant; returns a new admin token only when the tenant is new."""
    database = Database(database_url)
    try:
        async with database.session() as session:
            if await get_tenant_by_slug(session, slug) is not None:
                say(
                    f"tenant {slug} already exists; no token created (another admin token: "
                    f"'megadesk tokens create --tenant {slug} --role admin --name <who uses it>')"
                )
                return None
            tenant = await create_tenant(session, slug, name)
            token = await create_token(session, tenant, Role.ADMIN, INIT_TOKEN_NAME)
    finally:
        await database.dispose()
    say(f"tenant {slug} created")
    return token


def initialise(
    settings: Settings, say: Say, *, tenant: str | None = None, tenant_name: str | None = None
) -> str | None:
    """Run every step; returns the new tenant's admin token, if one was created.

    Raises :class:`StartupError` (or a key ring error) with what to fix.
    """
    ensure_data_dir(settings, say)
    keyring = ensure_key_ring(settings, say)
    url = ensure_schema(settings, say)
    verify_keyring(url, keyring)  # e.g. a new key file next to a database written with a lost one
    if tenant is None:
        return None
    return asyncio.run(ensure_tenant(url, tenant, tenant_name, say))
