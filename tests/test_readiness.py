"""/healthz and /readyz: each readiness state, public and declared public in the OpenAPI document."""

from __future__ import annotations

import os
import socket
import sys
import time
import types
import uuid
from importlib.metadata import EntryPoint

import pytest
from litestar.testing import AsyncTestClient
from pydantic import BaseModel

from megadesk_core import hookimpl, plugins
from megadesk_core.api.health import CHECK_TIMEOUT_SECONDS
from megadesk_core.app import create_app
from megadesk_core.types import IntegrationManifest

REDIS_URL = os.environ.get("MEGADESK_TEST_READINESS_REDIS_URL", "redis://127.0.0.1:6379/12")


class NoSettings(BaseModel):
    pass


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def readyz(app):
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")  # no bearer token: the probe is public
    return response.status_code, response.json()


def sample_only(megadesk_settings, **changes):
    return megadesk_settings.model_copy(update={"plugins_allow": ["sample"], **changes})


async def test_ready_and_alive_without_a_token(megadesk_settings):
    app = create_app(sample_only(megadesk_settings))
    async with AsyncTestClient(app=app) as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.headers["cache-control"] == "no-store"
    assert ready.json() == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "redis": "not configured",
            "plugins": {"sample": {"state": "loaded", "required": False}},
        },
    }


async def test_ready_with_redis(megadesk_settings):
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception:
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    finally:
        await client.aclose()
    status, body = await readyz(create_app(sample_only(megadesk_settings, redis_url=REDIS_URL)))
    assert (status, body["status"], body["checks"]["redis"]) == (200, "ready", "ok")


async def test_unreachable_redis_makes_the_host_unavailable(megadesk_settings):
    settings = sample_only(megadesk_settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    status, body = await readyz(create_app(settings))
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"] == "unreachable"
    assert body["checks"]["database"] == "ok"


async def test_a_redis_that_never_answers_is_unreachable_within_the_deadline(megadesk_settings):
    with socket.socket() as silent:  # accepts connections (the kernel does), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = sample_only(megadesk_settings, redis_url=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        app = create_app(settings)
        started = time.monotonic()
        status, body = await readyz(app)
        elapsed = time.monotonic() - started
    assert (status, body["checks"]["redis"]) == (503, "unreachable")
    assert elapsed < CHECK_TIMEOUT_SECONDS + 1.5


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_that_goes_away(request, tmp_path):
    """(database URL, a function that makes it unreachable, one that brings it back or None)."""
    if request.param == "sqlite":
        folder = tmp_path / "db"
        folder.mkdir()
        moved = tmp_path / "db-moved"
        yield f"sqlite:///{folder / 'megadesk.sqlite3'}", lambda: folder.rename(moved), lambda: moved.rename(folder)
        return
    import psycopg

    base_url: str = request.getfixturevalue("postgres_database")  # skips when PostgreSQL does not answer
    server_url = base_url.rsplit("/", 1)[0]
    name = f"megadesk_ready_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    try:
        yield f"{server_url}/{name}", drop, None
    finally:
        drop()


async def test_a_database_that_does_not_answer_makes_the_host_unavailable(megadesk_settings, database_that_goes_away):
    url, take_away, bring_back = database_that_goes_away
    app = create_app(sample_only(megadesk_settings, database_url=url))
    async with AsyncTestClient(app=app) as client:
        take_away()
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert down.json()["checks"]["database"] == "unreachable"
        if bring_back is not None:
            bring_back()
            assert (await client.get("/readyz")).status_code == 200


@pytest.fixture
def refused_plugin(monkeypatch):
    """Installed entry points: sample, one built for another hook API and one that fails to import."""
    module = types.ModuleType("megadesk_future_plugin")

    @hookimpl
    def manifest() -> IntegrationManifest:
        return IntegrationManifest(name="future", title="Future", settings_model=NoSettings, hook_api_version=2)

    module.manifest = manifest
    monkeypatch.setitem(sys.modules, "megadesk_future_plugin", module)
    points = [
        EntryPoint(name="sample", value="megadesk_sample.plugin", group="megadesk.integrations"),
        EntryPoint(name="future", value="megadesk_future_plugin", group="megadesk.integrations"),
        EntryPoint(name="broken", value="megadesk_no_such_module.plugin", group="megadesk.integrations"),
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: points)


async def test_a_refused_optional_plugin_degrades_but_keeps_the_host_in_rotation(megadesk_settings, refused_plugin):
    status, body = await readyz(create_app(megadesk_settings.model_copy(update={"plugins_allow": None})))
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["plugins"] == {
        "broken": {"state": "refused", "required": False},
        "future": {"state": "refused", "required": False},
        "sample": {"state": "loaded", "required": False},
    }


@pytest.mark.parametrize(
    ("required", "expected"),
    [
        (["future"], {"state": "refused", "required": True}),
        (["broken"], {"state": "refused", "required": True}),
        (["stripe"], {"state": "missing", "required": True}),  # not installed here (the fake entry points)
    ],
)
async def test_a_required_plugin_that_is_not_loaded_makes_the_host_unavailable(
    megadesk_settings, refused_plugin, required, expected
):
    settings = megadesk_settings.model_copy(update={"plugins_allow": None, "plugins_required": required})
    status, body = await readyz(create_app(settings))
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["plugins"][required[0]] == expected
    assert body["checks"]["plugins"]["sample"] == {"state": "loaded", "required": False}


async def test_a_required_plugin_that_loaded_is_ready(megadesk_settings):
    status, body = await readyz(create_app(sample_only(megadesk_settings, plugins_required=["sample"])))
    assert (status, body["status"]) == (200, "ready")
    assert body["checks"]["plugins"] == {"sample": {"state": "loaded", "required": True}}


async def test_probes_are_declared_public_in_the_openapi_document(megadesk_settings):
    async with AsyncTestClient(app=create_app(sample_only(megadesk_settings))) as client:
        document = (await client.get("/schema/openapi.json")).json()
    assert "security" not in document  # no requirement applies to every operation
    for path in ("/healthz", "/readyz"):
        assert "security" not in document["paths"][path]["get"], path
    # 400: a malformed request (e.g. a NUL character in a header), which every route refuses.
    assert set(document["paths"]["/readyz"]["get"]["responses"]) == {"200", "400", "503"}
    assert document["paths"]["/api/v1/tickets/{ticket_id}/sidebar"]["get"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
