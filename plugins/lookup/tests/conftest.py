"""The Customer lookup integration under test: loaded through its installed entry point
(``pip install -e plugins/lookup``), talking over HTTP to a fake customer API on localhost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lookup_backend import API_KEY, STATE, BackendState, serve


@pytest.fixture(scope="session")
def backend_url() -> Iterator[str]:
    with serve() as url:
        yield url


@pytest.fixture
def backend(backend_url: str) -> Iterator[BackendState]:
    STATE.reset()
    STATE.base_url = backend_url
    yield STATE
    STATE.reset()


@pytest.fixture
def megadesk_plugins_allow() -> list[str]:
    return ["lookup"]


@pytest.fixture
def megadesk_plugin_options() -> dict[str, dict[str, object]]:
    # The fake customer API is on 127.0.0.1 over http, which the plugin refuses unless the
    # operator allows private hosts (test_lookup_ssrf.py runs without this).
    return {"lookup": {"timeout_seconds": 1.0, "allow_private_hosts": True}}


@pytest.fixture
def megadesk_integration_settings(backend_url: str, backend: BackendState) -> dict[str, object]:
    return {"base_url": backend_url, "api_key": API_KEY}
