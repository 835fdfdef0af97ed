"""Start-up migrations: only where the docs say, and safe when processes start together.

Two ``megadesk serve`` processes started at the same moment on an empty PostgreSQL database with
``MEGADESK_AUTO_MIGRATE=true`` used to race over ``CREATE TABLE`` and one died with a
UniqueViolation; the migration now runs under an advisory lock and both serve.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from megadesk_core.keyring import generate_key_entry
from megadesk_core.migrate import database_revision, head_revision
from megadesk_core.settings import Settings

MEGADESK = Path(sys.executable).parent / "megadesk"
POSTGRES_ADMIN_URL = os.environ.get("MEGADESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_start_up_migrates_only_the_embedded_default_unless_told(tmp_path):
    assert _settings(data_dir=tmp_path).migrate_on_startup()  # the SQLite embedded default
    assert _settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3").migrate_on_startup()
    postgres = "postgresql://megadesk@db/megadesk"
    assert not _settings(database_url=postgres).migrate_on_startup()  # run 'megadesk migrate' per deploy
    assert _settings(database_url=postgres, auto_migrate=True).migrate_on_startup()
    assert not _settings(data_dir=tmp_path, auto_migrate=False).migrate_on_startup()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def empty_postgres_database(postgres_database: str) -> Iterator[str]:
    """A database of its own, never migrated (``postgres_database`` is shared and migrated)."""
    import psycopg

    name = f"megadesk_start_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.faults
def test_two_processes_starting_together_on_an_empty_database_both_serve(empty_postgres_database, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEGADESK_")},
        "MEGADESK_DATABASE_URL": empty_postgres_database,
        "MEGADESK_AUTO_MIGRATE": "true",
        "MEGADESK_ENCRYPTION_KEYS": generate_key_entry("k1"),
        "MEGADESK_DATA_DIR": str(tmp_path / "data"),
        "MEGADESK_PLUGINS_ALLOW": "sample",
    }
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [str(MEGADESK), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for port in ports
    ]
    try:
        ready = set()
        deadline = time.monotonic() + 60
        while len(ready) < 2 and time.monotonic() < deadline:
            for port, process in zip(ports, processes, strict=True):
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"megadesk serve on port {port} exited {process.returncode}: {output}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        ready.add(port)
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        assert ready == set(ports), "both processes should serve"
        assert database_revision(empty_postgres_database) == head_revision()
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
