"""The ``megadesk`` command: init, serve, migrate, tenants and tokens, integrations, keys, idempotency."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from megadesk_core.cli_support import cli_database as _database
from megadesk_core.cli_support import cli_host as _host
from megadesk_core.cli_support import cli_principal as _cli_principal
from megadesk_core.cli_support import tenant_by_slug as _tenant
from megadesk_core.contract_command import contract
from megadesk_core.observability.logs import cli_log_handler
from megadesk_core.scaffold import new_plugin
from megadesk_core.settings import Settings

T = TypeVar("T")


def _settings() -> Settings:
    """The process settings, read once per command and kept in click's context."""
    return click.get_current_context().ensure_object(Settings)


def _run(make: Callable[[], Awaitable[T]]) -> T:
    async def call() -> T:
        return await make()

    return asyncio.run(call())


def _fail_on_startup_errors(func: Callable[..., T]) -> Callable[..., T]:
    """Turn start-up problems into a one-line error and exit status 1, not a traceback."""
    import functools

    from megadesk_core.keyring import KeyConfigurationError, SecretDecryptionError
    from megadesk_core.startup import StartupError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except (StartupError, KeyConfigurationError, SecretDecryptionError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.group()
@click.option("--log-level", default=None, help="Override MEGADESK_LOG_LEVEL.")
def main(log_level: str | None) -> None:
    """Megadesk Integrations: the host that serves integration panels and actions.

    Configuration comes from MEGADESK_* environment variables and .env (see the README).
    """
    settings = _settings()
    logging.basicConfig(
        level=(log_level or settings.log_level).upper(), handlers=[cli_log_handler(settings.log_format)]
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration is noise on every command


main.add_command(contract)
main.add_command(new_plugin)


@main.command()
@click.option("--tenant", default=None, help="Also create this tenant (its slug) and print an admin token once.")
@click.option("--tenant-name", default=None, help="The new tenant's display name (default: the slug).")
@_fail_on_startup_errors
def init(tenant: str | None, tenant_name: str | None) -> None:
    """Set up a data directory: key file, database, optionally the first tenant.

    Safe to run again: it keeps what exists (it never replaces a key file) and says so.
    """
    from megadesk_core.bootstrap import initialise
    from megadesk_core.services.tenants import TenantError

    try:
        token = initialise(_settings(), click.echo, tenant=tenant, tenant_name=tenant_name)
    except TenantError as exc:
        raise click.ClickException(f"{exc}; run 'megadesk init --tenant <slug>' again with another slug") from exc
    if token is not None:
        click.echo(f"admin token of {tenant} (shown only now; store it where the Megadesk backend reads it):")
        click.echo(token)
        click.echo(f"agents need their own: megadesk tokens create --tenant {tenant} --role agent --name <who>")
    click.echo("ready: start the server with 'megadesk serve'")


@main.command()
@click.option("--host", default=None, help="Interface to bind (default MEGADESK_HOST).")
@click.option("--port", type=int, default=None, help="Port (default MEGADESK_PORT).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes to serve with (default MEGADESK_WORKERS, 1); more than one needs MEGADESK_REDIS_URL.",
)
@_fail_on_startup_errors
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API server (set the data directory up first with 'megadesk init')."""
    from megadesk_core.server import serve as run_server

    settings = _settings()

    def announce(preview: str) -> None:
        hint = "an agent token: megadesk tokens create --tenant <slug> --role agent --name preview"
        if settings.log_format == "json":  # every line of the output stays a JSON object
            logging.getLogger("megadesk_core.cli").info("sidebar preview: %s (%s)", preview, hint)
            return
        click.echo(f"sidebar preview: {preview}")
        click.echo(f"  ({hint})")

    run_server(
        settings,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        workers=workers or settings.workers,
        announce=announce,
    )


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    from megadesk_core.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.resolved_database_url())
    click.echo("database is up to date")


@main.group()
def tenants() -> None:
    """Create tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", default=None, help="Display name (default: the slug).")
@_fail_on_startup_errors
def tenants_create(slug: str, name: str | None) -> None:
    """Create a tenant SLUG (lower-case letters, digits, dashes)."""
    from megadesk_core.services.tenants import TenantError, create_tenant

    async def create() -> None:
        async with _database(_settings()) as db, db.session() as session:
            await create_tenant(session, slug, name)

    try:
        _run(create)
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"tenant {slug} created")


@main.group()
def tokens() -> None:
    """Create API tokens."""


@tokens.command("create")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant's slug.")
@click.option("--role", type=click.Choice(["agent", "admin"]), required=True)
@click.option("--name", required=True, help="Who or what uses the token, for the audit log.")
@_fail_on_startup_errors
def tokens_create(tenant_slug: str, role: str, name: str) -> None:
    """Create a token and print it. It is shown once; only its hash is stored."""
    from megadesk_core.services.tenants import Role, create_token

    async def create() -> str:
        async with _database(_settings()) as db, db.session() as session:
            tenant = await _tenant(session, tenant_slug)
            return await create_token(session, tenant, Role(role), name)

    click.echo(_run(create))


@tokens.command("list")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant's slug.")
@_fail_on_startup_errors
def tokens_list(tenant_slug: str) -> None:
    """List a tenant's tokens (ids, names, roles; never the tokens themselves)."""
    from megadesk_core.services.tenants import list_tokens

    async def fetch() -> list[str]:
        async with _database(_settings()) as db, db.session() as session:
            rows = await list_tokens(session, await _tenant(session, tenant_slug))
            return [
                f"{t.id}\t{t.role}\t{t.name}\t{'revoked ' + t.revoked_at.isoformat() if t.revoked_at else 'active'}"
                for t in rows
            ]

    for line in _run(fetch):
        click.echo(line)


@tokens.command("revoke")
@click.argument("token_id")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant's slug.")
@_fail_on_startup_errors
def tokens_revoke(token_id: str, tenant_slug: str) -> None:
    """Revoke token TOKEN_ID (its id from 'tokens list'); requests with it get 401 at once."""
    from megadesk_core.services.tenants import revoke_token

    async def revoke() -> bool:
        async with _database(_settings()) as db, db.session() as session:
            return await revoke_token(session, await _tenant(session, tenant_slug), token_id)

    if not _run(revoke):
        raise click.ClickException(f"tenant {tenant_slug!r} has no active token {token_id!r}")
    click.echo(f"token {token_id} revoked")


@main.group()
def integrations() -> None:
    """List, enable and disable integrations."""


@integrations.command("list")
@click.option("--tenant", "tenant_slug", default=None, help="Also show whether this tenant enabled each.")
@_fail_on_startup_errors
def integrations_list(tenant_slug: str | None) -> None:
    """List the integrations this process loads (and those it refused)."""
    from megadesk_core.services.installations import get_installation
    from megadesk_core.startup import load_registry

    registry = load_registry(_settings())

    async def states() -> dict[str, str]:
        if tenant_slug is None:
            return {}
        async with _database(_settings()) as db, db.session() as session:
            tenant = await _tenant(session, tenant_slug)
            result = {}
            for name in registry.integrations:
                row = await get_installation(session, tenant.id, name)
                result[name] = "enabled" if row and row.enabled else ("disabled" if row else "not configured")
            return result

    tenant_states = _run(states)
    for name, loaded in sorted(registry.integrations.items()):
        state = f" [{tenant_states[name]}]" if name in tenant_states else ""
        click.echo(f"{name}\t{loaded.manifest.title}{state}\t{loaded.source}")
    for name, refusal in sorted(registry.rejected.items()):
        click.echo(f"{name}\tREFUSED {refusal.code}\t{refusal.reason}")


@integrations.command("enable")
@click.argument("name")
@click.option("--tenant", "tenant_slug", required=True)
@click.option(
    "--settings-file",
    type=click.File("r"),
    default=None,
    help="JSON settings for the integration; '-' reads standard input (keeps secrets out of shell history).",
)
@_fail_on_startup_errors
def integrations_enable(name: str, tenant_slug: str, settings_file: Any) -> None:
    """Configure (optionally) and enable integration NAME for a tenant."""
    from megadesk_core.services import configure

    submitted: dict[str, Any] = json.load(settings_file) if settings_file is not None else {}

    async def enable() -> None:
        async with _host(_settings()) as (db, keyring, registry), db.session() as session:
            integration = registry.get(name)
            if integration is None:
                raise click.ClickException(f"integration {name!r} is not loaded by this process")
            actor = await _cli_principal(session, tenant_slug)
            try:
                if submitted:
                    await configure.configure(
                        session,
                        registry,
                        keyring,
                        actor,
                        integration,
                        submitted,
                        enabled=True,
                        check_timeout=_settings().action_timeout_seconds,
                    )
                else:
                    await configure.enable(
                        session, registry, keyring, actor, integration, check_timeout=_settings().action_timeout_seconds
                    )
            except configure.SettingsRejectedError as exc:
                raise click.ClickException(_rejection_text(exc.message, exc.errors)) from exc
            except configure.NotConfiguredError as exc:
                raise click.ClickException(f"{exc} (or pass --settings-file)") from exc

    _run(enable)
    click.echo(f"{name} enabled for {tenant_slug}")


def _rejection_text(message: str, errors: list[dict[str, Any]]) -> str:
    """The plugin's message once: a field error that repeats it only names the field."""
    named = [e["field"] for e in errors if e["message"] in message]
    others = [f"{e['field']}: {e['message']}" for e in errors if e["message"] not in message]
    text = message + (f" (field: {', '.join(named)})" if named else "")
    return " ".join([text, "; ".join(others)]).strip()


@integrations.command("disable")
@click.argument("name")
@click.option("--tenant", "tenant_slug", required=True)
@_fail_on_startup_errors
def integrations_disable(name: str, tenant_slug: str) -> None:
    """Disable integration NAME for a tenant (its settings are kept)."""
    from megadesk_core.services import configure

    async def disable() -> None:
        async with _host(_settings()) as (db, _keyring, registry), db.session() as session:
            integration = registry.get(name)
            if integration is None:
                raise click.ClickException(f"integration {name!r} is not loaded by this process")
            await configure.disable(session, await _cli_principal(session, tenant_slug), integration)

    _run(disable)
    click.echo(f"{name} disabled for {tenant_slug}")


@main.group()
def keys() -> None:
    """Generate encryption keys and rotate stored secrets onto the newest key."""


@keys.command("generate")
@click.option("--id", "key_id", default=None, help="Key id (default: k<timestamp>).")
def keys_generate(key_id: str | None) -> None:
    """Print a new key-ring entry. Put it first in MEGADESK_ENCRYPTION_KEYS to make it the newest."""
    from megadesk_core.keyring import generate_key_entry

    click.echo(generate_key_entry(key_id))


@keys.command("rotate")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@_fail_on_startup_errors
def keys_rotate(batch_size: int) -> None:
    """Re-encrypt every stored secret under the key ring's first key.

    Afterwards, older keys can be removed from the ring.
    """
    from megadesk_core.services.rotation import rotate_secrets
    from megadesk_core.startup import load_keyring

    settings = _settings()
    keyring = load_keyring(settings)
    with click.progressbar(length=1, label=f"re-encrypting under {keyring.primary_id}", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        changed = rotate_secrets(settings.resolved_database_url(), keyring, batch_size=batch_size, progress=progress)
    click.echo(f"{changed} secret(s) re-encrypted under key {keyring.primary_id}")


@main.group()
def idempotency() -> None:
    """Housekeeping of the Idempotency-Key records of actions."""


@idempotency.command("prune")
@click.option("--hours", type=click.IntRange(1), default=48, show_default=True, help="Keep records younger than this.")
def idempotency_prune(hours: int) -> None:
    """Delete finished idempotency records older than --hours (their keys stop replaying)."""
    from datetime import timedelta

    from megadesk_core.services.idempotency import prune

    async def run() -> int:
        async with _database(_settings()) as db, db.session() as session:
            return await prune(session, timedelta(hours=hours))

    click.echo(f"{_run(run)} idempotency record(s) older than {hours} h deleted")


@main.command()
@_fail_on_startup_errors
def recover() -> None:
    """Resolve actions a stopped process left pending, by asking each plugin what happened.

    Read-only upstream: an action found done is recorded (and replays), one never sent frees
    its key, the rest stay 'unknown' for a later pass or the agent's retry. The app does the
    same at start-up and every MEGADESK_RECOVERY_INTERVAL_SECONDS.
    """
    from megadesk_core.panel_cache import make_panel_cache
    from megadesk_core.services.recovery import recover_orphaned, recovery_for

    settings = _settings()

    async def run() -> dict[str, int]:
        # With Redis this drops the panels a recovered action changed in every process; without
        # it, the server's own recovery loop does the same in its memory.
        cache = make_panel_cache(settings.redis_url, settings.panel_cache_seconds, settings.panel_stale_seconds)
        try:
            async with _host(settings) as (db, keyring, registry):
                recovery = recovery_for(settings, db, registry, keyring, cache)
                return dict(await recover_orphaned(recovery, limit=10_000))
        finally:
            await cache.close()

    counts = _run(run)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to recover"
    click.echo(f"recovery: {summary}")
