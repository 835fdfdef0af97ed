"""An operator's first run: `megadesk init` in an empty directory, then `megadesk serve` (one
process or several workers), and every command a message names exists."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from megadesk_core import server
from megadesk_core.cli import main
from megadesk_core.keyring import generate_key_entry

ROOT = Path(__file__).resolve().parent.parent
MEGADESK = Path(sys.executable).parent / "megadesk"
REDIS_URL = os.environ.get("MEGADESK_TEST_READINESS_REDIS_URL", "redis://127.0.0.1:6379/12")
TOKEN = re.compile(r"^mdk_\S+$", re.MULTILINE)


@pytest.fixture
def operator_env(tmp_path, monkeypatch):
    """A new operator's shell: no MEGADESK_* but the data directory, in an empty working directory."""
    for name in list(os.environ):
        if name.startswith("MEGADESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return {"MEGADESK_DATA_DIR": str(tmp_path / "megadesk-data"), "MEGADESK_PLUGINS_ALLOW": "sample"}


def invoke(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Server:
    """`megadesk serve` as a real process, stopped like Ctrl-C."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(MEGADESK), "serve", "--port", str(self.port), *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 60) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"megadesk serve exited: {self.process.stdout.read() if self.process.stdout else ''}")
            try:
                response = httpx.get(f"{self.base}/readyz", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail("megadesk serve did not become ready")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output


def test_serve_on_a_fresh_data_directory_says_to_run_init(operator_env):
    result = invoke(operator_env, "serve")
    assert result.exit_code == 1
    assert "no encryption key configured" in result.output
    assert "run 'megadesk init'" in result.output
    assert not Path(operator_env["MEGADESK_DATA_DIR"]).exists()  # it creates nothing


def test_init_then_serve_a_sidebar(operator_env):
    first = invoke(operator_env, "init", "--tenant", "acme")
    assert first.exit_code == 0, first.output
    data_dir = Path(operator_env["MEGADESK_DATA_DIR"])
    key_file = data_dir / "encryption.keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"key file {key_file} created" in first.output
    assert "BACK UP" in first.output and "a lost key loses every stored secret" in first.output
    (admin_token,) = TOKEN.findall(first.output)
    key = key_file.read_text()

    again = invoke(operator_env, "init", "--tenant", "acme")
    assert again.exit_code == 0, again.output
    assert f"key file {key_file} already exists" in again.output
    assert "is already up to date" in again.output
    assert "tenant acme already exists; no token created" in again.output
    assert TOKEN.findall(again.output) == []
    assert key_file.read_text() == key  # never overwritten

    agent_token = invoke(
        operator_env, "tokens", "create", "--tenant", "acme", "--role", "agent", "--name", "sidebar"
    ).output.strip()
    app = Server(operator_env)
    try:
        app.wait_ready()
        admin = {"Authorization": f"Bearer {admin_token}"}
        with httpx.Client(base_url=app.base, timeout=10) as client:
            enabled = client.put(
                "/api/v1/integrations/sample/settings",
                json={"settings": {"api_token": "secret-token-1"}, "enabled": True},
                headers=admin,
            )
            assert enabled.status_code == 200, enabled.text
            ticket = client.put(
                "/api/v1/tickets/T-1",
                json={"requester_email": "ada@example.com", "custom_data": {}},
                headers=admin,
            )
            assert ticket.status_code in (200, 201), ticket.text
            sidebar = client.get("/api/v1/tickets/T-1/sidebar", headers={"Authorization": f"Bearer {agent_token}"})
        assert sidebar.status_code == 200, sidebar.text
        assert [(p["integration"], p["status"]) for p in sidebar.json()["panels"]] == [("sample", "ok")]
    finally:
        output = app.stop()
    # The preview page, documented in docs/operations.md, is announced with the fragment it reads.
    assert f"sidebar preview: http://127.0.0.1:{app.port}/preview#token=<agent token>&ticket=<ticket id>" in output


def test_init_never_replaces_a_key_file_it_cannot_read(operator_env):
    key_file = Path(operator_env["MEGADESK_DATA_DIR"]) / "encryption.keys"
    key_file.parent.mkdir()
    key_file.write_text("not a key\n")
    result = invoke(operator_env, "init")
    assert result.exit_code == 1
    assert "each key must look like 'key_id:base64'" in result.output
    assert key_file.read_text() == "not a key\n"


def test_without_migrations_on_start_up_an_unmigrated_database_is_a_clear_error(operator_env):
    env = {**operator_env, "MEGADESK_AUTO_MIGRATE": "false", "MEGADESK_ENCRYPTION_KEYS": generate_key_entry("k1")}
    result = invoke(env, "serve")
    assert result.exit_code == 1
    assert "the database has no Megadesk tables yet: run 'megadesk init'" in result.output
    assert invoke(env, "migrate").exit_code == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("uvicorn.run", lambda app, **options: None)
        assert invoke(env, "serve").exit_code == 0


def test_several_workers_without_redis_are_refused(operator_env, monkeypatch):
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must refuse before serving"))
    assert invoke(operator_env, "init").exit_code == 0
    for env, args in [(operator_env, ["--workers", "2"]), ({**operator_env, "MEGADESK_WORKERS": "3"}, [])]:
        result = invoke(env, "serve", *args)
        assert result.exit_code == 1
        assert "workers need Redis" in result.output
        assert "set MEGADESK_REDIS_URL" in result.output


def test_several_workers_migrate_once_and_build_their_settings_from_the_environment(operator_env, monkeypatch):
    import megadesk_core.startup

    migrations: list[str] = []
    upgrade = megadesk_core.startup.upgrade_database
    monkeypatch.setattr(megadesk_core.startup, "upgrade_database", lambda url: (migrations.append(url), upgrade(url)))
    for name, value in {**operator_env, "MEGADESK_REDIS_URL": REDIS_URL}.items():
        monkeypatch.setenv(name, value)
    assert invoke({}, "init").exit_code == 0
    calls = []

    def fake_uvicorn_run(target, **options):
        # What a spawned worker does: import the factory and build the app from its environment.
        worker_app = server.app_from_environment()
        calls.append((target, options, os.environ["MEGADESK_AUTO_MIGRATE"], worker_app.state.host.settings))

    monkeypatch.setattr("uvicorn.run", fake_uvicorn_run)
    assert invoke({}, "serve", "--workers", "3", "--port", "8123").exit_code == 0
    ((target, options, auto_migrate, worker_settings),) = calls
    assert target == "megadesk_core.server:app_from_environment"
    assert options == {"factory": True, "workers": 3, "host": "127.0.0.1", "port": 8123, "log_level": "info"}
    assert auto_migrate == "false"  # workers never migrate
    assert len(migrations) == 1  # the parent did, once
    assert worker_settings.redis_url == REDIS_URL and worker_settings.plugins_allow == ["sample"]
    assert "MEGADESK_AUTO_MIGRATE" not in os.environ  # restored after serving


def test_serve_with_json_logs_writes_json_lines_with_request_ids(operator_env):
    assert invoke(operator_env, "init").exit_code == 0
    app = Server({**operator_env, "MEGADESK_LOG_FORMAT": "json"})
    try:
        app.wait_ready()
        answered = httpx.get(f"{app.base}/healthz", headers={"X-Request-ID": "probe-42"}, timeout=5)
    finally:
        output = app.stop()
    assert answered.headers["x-request-id"] == "probe-42"
    lines = [json.loads(line) for line in output.splitlines()]  # every line: the CLI's, uvicorn's, the app's
    loggers = {line["logger"] for line in lines}
    assert {"megadesk_core.startup", "uvicorn.error", "megadesk.access"} <= loggers, loggers
    (access,) = [line for line in lines if line.get("request_id") == "probe-42"]
    assert access["logger"] == "megadesk.access" and access["http"]["status"] == 200


def test_several_worker_processes_serve(operator_env):
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    finally:
        client.close()
    env = {**operator_env, "MEGADESK_REDIS_URL": REDIS_URL}
    assert invoke(env, "init").exit_code == 0
    app = Server(env, "--workers", "2")
    try:
        ready = app.wait_ready().json()
    finally:
        output = app.stop()
    assert ready["checks"]["redis"] == "ok"
    assert ready["checks"]["plugins"] == {"sample": {"state": "loaded", "required": False}}  # the workers' settings
    assert output.count("Application startup complete") == 2, output


def _command_exists(words: list[str]) -> bool:
    command: click.Command = main
    for word in words:
        if not isinstance(command, click.Group):
            return True  # the rest are arguments
        sub = command.commands.get(word)
        if sub is None:
            return False
        command = sub
    return True


def test_every_command_a_message_or_document_names_exists():
    quoted = re.compile(r"['`]megadesk ((?:[a-z][a-z-]* ?)+)")
    shell = re.compile(r"^\s*(?:\$ )?megadesk ((?:[a-z][a-z-]* ?)+)", re.MULTILINE)
    files = [
        *ROOT.joinpath("megadesk_core").rglob("*.py"),
        *ROOT.joinpath("docs").glob("*.md"),
        ROOT / "README.md",
        *ROOT.joinpath("plugins").glob("*/README.md"),
        *ROOT.joinpath("plugins").rglob("*.py"),
    ]
    named = {
        (path.relative_to(ROOT).as_posix(), match.group(1).strip())
        for path in files
        for pattern in (quoted, shell)
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    }
    assert named, "the pattern finds nothing: it is broken"
    assert [(path, words) for path, words in sorted(named) if not _command_exists(words.split())] == []
