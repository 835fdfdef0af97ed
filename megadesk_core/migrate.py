"""Apply Alembic migrations (``megadesk migrate``, and on start-up of the embedded default)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from megadesk_core.db.engine import make_sync_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


MIGRATION_LOCK_ID = 0x6D6567616465736B  # "megadesk": one advisory lock per database, for migrations
"""Key of the PostgreSQL advisory lock held while migrating."""


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Migrate to ``revision``; safe when several processes start at once on one database.

    On PostgreSQL the migration runs under a transaction-level advisory lock: a second process
    waits for the first to commit, then finds the schema current and does nothing (without it,
    both create the same tables and one dies with a UniqueViolation). SQLite serialises writers
    itself and is one process by default.
    """
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest migration this release ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every migration this release ships (a revision outside it was written by a newer release)."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def database_revision(database_url: str) -> str | None:
    """The migration the database is at; ``None`` for a database never migrated."""
    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def make_revision(database_url: str, message: str) -> None:
    """Developer helper: autogenerate a migration from the models against an up-to-date database."""
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True)
    finally:
        engine.dispose()
