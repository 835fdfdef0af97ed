"""The megadesk CLI end to end, start-up checks, and migrations in step with the models."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from pydantic import SecretStr
from sqlmodel import SQLModel

from megadesk_core.app import create_app
from megadesk_core.cli import main
from megadesk_core.db.engine import make_sync_engine
from megadesk_core.keyring import KeyRing, generate_key_entry
from megadesk_core.migrate import upgrade_database
from megadesk_core.settings import Settings
from megadesk_core.startup import StartupError


@pytest.fixture
def cli_env(tmp_path, megadesk_database_url):
    key_file = tmp_path / "keys"
    key_file.write_text(generate_key_entry("k1") + "\n")
    return {
        "MEGADESK_DATABASE_URL": megadesk_database_url,
        "MEGADESK_ENCRYPTION_KEYS_FILE": str(key_file),
        "MEGADESK_DATA_DIR": str(tmp_path / "data"),
        "MEGADESK_AUTO_MIGRATE": "true",
        "MEGADESK_PLUGINS_ALLOW": "sample",
    }


def invoke(env, *args, input=None):
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    return result


def test_help_on_every_command(cli_env):
    for args in [
        [],
        ["init"],
        ["serve"],
        ["migrate"],
        ["tenants", "create"],
        ["tokens", "create"],
        ["tokens", "list"],
        ["tokens", "revoke"],
        ["integrations", "list"],
        ["integrations", "enable"],
        ["integrations", "disable"],
        ["keys", "generate"],
        ["keys", "rotate"],
        ["idempotency", "prune"],
    ]:
        result = invoke(cli_env, *args, "--help")
        assert result.exit_code == 0, args
        assert "Usage:" in result.output


def test_tenant_token_enable_rotate_through_the_cli(cli_env, tmp_path):
    assert invoke(cli_env, "migrate").output.strip() == "database is up to date"
    assert invoke(cli_env, "idempotency", "prune").output.strip() == "0 idempotency record(s) older than 48 h deleted"
    assert invoke(cli_env, "tenants", "create", "acme").exit_code == 0
    duplicate = invoke(cli_env, "tenants", "create", "acme")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    token = invoke(cli_env, "tokens", "create", "--tenant", "acme", "--role", "admin", "--name", "ops").output.strip()
    assert token.startswith("mdk_")
    listed = invoke(cli_env, "tokens", "list", "--tenant", "acme").output
    assert "\tadmin\tops\tactive" in listed
    assert token not in listed
    token_id = listed.split("\t")[0]
    assert (
        invoke(cli_env, "tokens", "revoke", token_id, "--tenant", "acme").output.strip() == f"token {token_id} revoked"
    )
    assert "revoked" in invoke(cli_env, "tokens", "list", "--tenant", "acme").output
    again = invoke(cli_env, "tokens", "revoke", token_id, "--tenant", "acme")
    assert again.exit_code == 1
    assert "no active token" in again.output

    missing = invoke(cli_env, "integrations", "enable", "sample", "--tenant", "acme")
    assert missing.exit_code == 1 and "Configure Sample CRM first" in missing.output
    bad = invoke(
        cli_env,
        "integrations",
        "enable",
        "sample",
        "--tenant",
        "acme",
        "--settings-file",
        "-",
        input=json.dumps({"api_token": "short"}),
    )
    assert bad.exit_code == 1 and "api_token" in bad.output and "short" not in bad.output
    ok = invoke(
        cli_env,
        "integrations",
        "enable",
        "sample",
        "--tenant",
        "acme",
        "--settings-file",
        "-",
        input=json.dumps({"api_token": "secret-token-1"}),
    )
    assert ok.exit_code == 0, ok.output
    listing = invoke(cli_env, "integrations", "list", "--tenant", "acme").output
    assert "sample\tSample CRM [enabled]" in listing

    # Rotation: a new key in front; afterwards the old key can go.
    new_ring = tmp_path / "keys2"
    new_ring.write_text(generate_key_entry("k2") + "\n" + (tmp_path / "keys").read_text())
    rotated = invoke({**cli_env, "MEGADESK_ENCRYPTION_KEYS_FILE": str(new_ring)}, "keys", "rotate", "--batch-size", "1")
    assert rotated.exit_code == 0
    assert "1 secret(s) re-encrypted under key k2" in rotated.output
    only_new = tmp_path / "keys3"
    only_new.write_text(new_ring.read_text().splitlines()[0] + "\n")
    env3 = {**cli_env, "MEGADESK_ENCRYPTION_KEYS_FILE": str(only_new)}
    assert invoke(env3, "integrations", "disable", "sample", "--tenant", "acme").exit_code == 0
    # The old ring alone no longer has the key the secrets are under: a clear start-up error.
    old_only = invoke(cli_env, "integrations", "disable", "sample", "--tenant", "acme")
    assert old_only.exit_code == 1
    assert "encrypted with key(s) k2, which are not in the key ring" in old_only.output


def test_wrong_key_or_no_key_is_a_clear_start_up_error(tmp_path, megadesk_database_url, megadesk_settings):
    create_app(megadesk_settings)  # migrates
    right_ring = KeyRing.from_settings(megadesk_settings)
    engine = make_sync_engine(megadesk_database_url)
    with engine.begin() as conn:  # what saving the first secret under key "test" leaves behind
        conn.execute(
            sa.text("INSERT INTO key_canary (key_id, token, created_at) VALUES ('test', :token, CURRENT_TIMESTAMP)"),
            {"token": right_ring.make_canary("test")},
        )
    engine.dispose()
    create_app(megadesk_settings)  # the right key starts

    wrong = megadesk_settings.model_copy(update={"encryption_keys": SecretStr(generate_key_entry("test"))})
    with pytest.raises(StartupError, match="not the key this database was written with"):
        create_app(wrong)
    no_key = Settings(_env_file=None, data_dir=tmp_path / "empty", database_url=megadesk_database_url)
    with pytest.raises(StartupError, match="no encryption key configured"):
        create_app(no_key)


def test_migrations_are_in_step_with_the_models(megadesk_database_url):
    upgrade_database(megadesk_database_url)
    engine = make_sync_engine(megadesk_database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: run megadesk_core.migrate.make_revision"
