"""Fixtures: one emulator per test module, emptied before every test.

Tests talk to it exactly as the plugin does: through stripe-python 16's ``StripeClient``
and its ``client.v1.*`` services, over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import stripe
from emulator_helpers import make_client
from stripe_emulator.server import EmulatorHandle, run_emulator

HERE = Path(__file__).parent

# stripe-python's HTTPXClient hands httpx a str as ``data=``, which httpx deprecates; the
# warning is about the library, not these tests, so it is silenced here only.
_HTTPX_DATA_WARNING = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(_HTTPX_DATA_WARNING)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator() as handle:
        yield handle


@pytest.fixture(autouse=True)
def _fresh_state(emulator: EmulatorHandle) -> None:
    emulator.reset()
    emulator.set_latency(0)


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[stripe.StripeClient]:
    """A synchronous client with the full secret key."""
    stripe_client, http_client = make_client(emulator)
    yield stripe_client
    http_client.close()


@pytest_asyncio.fixture
async def aclient(emulator: EmulatorHandle) -> AsyncIterator[stripe.StripeClient]:
    """An async client, built the way the plugin builds it (async-only HTTPXClient)."""
    stripe_client, http_client = make_client(emulator, allow_sync=False)
    yield stripe_client
    await http_client.close_async()


@pytest.fixture
def http(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    """Raw HTTP, for headers and the /_emulator control endpoints."""
    with httpx.Client(base_url=emulator.base_url) as raw:
        yield raw
