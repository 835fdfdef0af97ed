"""What the CLI prints when something is refused: each message once."""

from __future__ import annotations

from click.testing import CliRunner

from megadesk_core.cli import main
from megadesk_core.keyring import generate_key_entry


def test_a_settings_check_refusal_is_printed_once(tmp_path, megadesk_database_url):
    key_file = tmp_path / "keys"
    key_file.write_text(generate_key_entry("k1") + "\n")
    env = {
        "MEGADESK_DATABASE_URL": megadesk_database_url,
        "MEGADESK_ENCRYPTION_KEYS_FILE": str(key_file),
        "MEGADESK_DATA_DIR": str(tmp_path / "data"),
        "MEGADESK_PLUGINS_ALLOW": "sample",
    }
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--tenant", "acme"], env=env).exit_code == 0
    result = runner.invoke(
        main,
        ["--log-level", "warning", "integrations", "enable", "sample", "--tenant", "acme", "--settings-file", "-"],
        env=env,
        input='{"api_token": "rejected-token"}',
    )
    assert result.exit_code == 1
    assert result.output.count("The sample service rejected this token.") == 1, result.output
    assert "(field: api_token)" in result.output
    result = runner.invoke(
        main,
        ["--log-level", "warning", "integrations", "enable", "sample", "--tenant", "acme", "--settings-file", "-"],
        env=env,
        input='{"api_token": 5}',
    )
    assert result.exit_code == 1
    assert "api_token:" in result.output  # a field error that is not in the message is listed
