"""Host tests run against SQLite, and against PostgreSQL when the server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_ADMIN_URL = os.environ.get("MEGADESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MEGADESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run, dropped at the end."""
    if not _postgres_available():
        message = f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL}"
        if os.environ.get("MEGADESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (MEGADESK_REQUIRE_POSTGRES=1: CI must run these tests)")
        pytest.skip(message)
    import psycopg

    name = f"megadesk_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def megadesk_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'megadesk.sqlite3'}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


@pytest.fixture
async def redis_url() -> str:
    """The test Redis, or a skip (a failure in CI, which must run these tests)."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception:
        if os.environ.get("MEGADESK_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis does not answer at {REDIS_URL} (MEGADESK_REQUIRE_REDIS=1: CI must run these tests)")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    finally:
        await client.aclose()
    return REDIS_URL
