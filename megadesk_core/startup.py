"""Start-up: migrations, the key ring against the database, the plugins. Fails loudly and clearly."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from megadesk_core.db.engine import make_sync_engine
from megadesk_core.db.models import IntegrationInstallation, KeyCanary
from megadesk_core.keyring import KeyConfigurationError, KeyRing, SecretDecryptionError
from megadesk_core.migrate import database_revision, head_revision, known_revisions, upgrade_database
from megadesk_core.plugins import IntegrationRegistry, load_integrations
from megadesk_core.settings import Settings

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The host cannot start; the message says what to fix."""


def verify_keyring(database_url: str, keyring: KeyRing) -> None:
    """Every key that encrypted a stored secret must be in the ring and be the same key."""
    engine = make_sync_engine(database_url)
    try:
        with Session(engine) as session:
            used = set(
                session.exec(
                    select(IntegrationInstallation.key_id)
                    .where(col(IntegrationInstallation.key_id).is_not(None))
                    .distinct()
                ).all()
            )
            canaries = {c.key_id: c.token for c in session.exec(select(KeyCanary)).all()}
    finally:
        engine.dispose()
    missing = sorted(k for k in used if k is not None and k not in keyring.key_ids)
    if missing:
        raise StartupError(
            f"stored secrets are encrypted with key(s) {', '.join(missing)}, which are not in the key ring "
            f"(it has {', '.join(keyring.key_ids)}); add them back to MEGADESK_ENCRYPTION_KEYS"
        )
    for key_id, token in canaries.items():
        if key_id in keyring.key_ids:
            try:
                keyring.check_canary(token)
            except SecretDecryptionError as exc:
                raise StartupError(str(exc)) from exc


def require_migrated_schema(database_url: str) -> None:
    """Without migrations on start-up (MEGADESK_AUTO_MIGRATE=false, and in every worker of
    'megadesk serve --workers'), the schema must already be this release's: a clear refusal
    instead of "no such table" on the first request."""
    current, head = database_revision(database_url), head_revision()
    if current == head:
        return
    if current is None:
        raise StartupError(
            "the database has no Megadesk tables yet: run 'megadesk init' (embedded default) or "
            "'megadesk migrate' (your own database), then start again"
        )
    if current in known_revisions():
        raise StartupError(
            f"the database is at migration {current}, this release needs {head}: run 'megadesk migrate', "
            "then start again"
        )
    # Migrated by a newer release (a rolling deploy in progress): start, and say so.
    log.warning("the database is at migration %s, newer than this release's %s", current, head)


def load_keyring(settings: Settings) -> KeyRing:
    try:
        return KeyRing.from_settings(settings)
    except KeyConfigurationError as exc:
        raise StartupError(str(exc)) from exc


def load_registry(settings: Settings) -> IntegrationRegistry:
    """The plugins this process serves; a broken one is refused alone and listed in
    ``registry.rejected`` (see :func:`require_plugins` for operators who want start-up to stop)."""
    registry = load_integrations(
        allow=settings.plugins_allow, block=settings.plugins_block, plugin_options=settings.plugin_options
    )
    log.info("integrations loaded: %s", ", ".join(sorted(registry.integrations)) or "none")
    if registry.rejected:
        log.error(
            "integrations refused: %s", ", ".join(f"{name} {r.code}" for name, r in sorted(registry.rejected.items()))
        )
    return registry


def require_plugins(settings: Settings, registry: IntegrationRegistry) -> None:
    """With ``MEGADESK_PLUGINS_FAIL_FAST``, every plugin named in ``MEGADESK_PLUGINS_REQUIRED``
    must load, or the process does not start (without it, ``/readyz`` says 503 and the host
    serves the other plugins)."""
    if not settings.plugins_fail_fast:
        return
    loaded = set(registry.integrations) | {
        registry.plugin_manager.get_name(i.plugin) or name for name, i in registry.integrations.items()
    }
    problems = []
    for name in settings.plugins_required:
        if name in loaded:
            continue
        refusal = registry.rejected.get(name)
        problems.append(
            str(refusal)
            if refusal is not None
            else f"plugin {name} is not loaded: not installed, not in MEGADESK_PLUGINS_ALLOW, or in "
            "MEGADESK_PLUGINS_BLOCK"
        )
    if problems:
        raise StartupError(
            "MEGADESK_PLUGINS_REQUIRED names plugins this process could not load (MEGADESK_PLUGINS_FAIL_FAST is "
            "set): " + "; ".join(problems)
        )


def prepare(
    settings: Settings, *, keyring: KeyRing | None = None, registry: IntegrationRegistry | None = None
) -> tuple[KeyRing, IntegrationRegistry]:
    """Everything the app needs before it serves a request, or a :class:`StartupError`.

    Tests may hand in a ready key ring or registry (plugins registered directly).
    """
    keyring = keyring or load_keyring(settings)
    url = settings.resolved_database_url()
    if settings.migrate_on_startup():
        upgrade_database(url)
    else:
        require_migrated_schema(url)
    verify_keyring(url, keyring)
    registry = registry or load_registry(settings)
    require_plugins(settings, registry)
    return keyring, registry
