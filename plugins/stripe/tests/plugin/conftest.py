"""Fixtures for the Stripe plugin's tests. See ``plugins/stripe/tests/README.md``.

Cassettes live in ``plugins/stripe/tests/cassettes/<test module>/<test>.yaml`` and are
replayed by default (``--record-mode=none``); see :mod:`stripe_testing` for where requests go
when recording.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import megadesk_stripe.plugin
import pytest
from stripe_testing import (
    CASSETTES_DIR,
    REPLAY_BASE,
    REPLAY_KEY,
    StripeData,
    StripeHost,
    StripeTarget,
    data_client,
    stripe_test_key,
    target_kind,
    vcr_settings,
)

from megadesk_core.plugins import load_integrations


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return vcr_settings()


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES_DIR / request.node.path.stem)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    """The local Stripe emulator, empty (no demo data), for the whole session."""
    from stripe_emulator.server import run_emulator  # type: ignore[import-untyped,unused-ignore]

    with run_emulator(seed=False) as emu:
        yield emu


@pytest.fixture(scope="session")
def stripe_target(request: pytest.FixtureRequest, record_mode: str) -> StripeTarget:
    kind = target_kind(record_mode)
    if kind == "replay":
        return StripeTarget(kind, REPLAY_KEY, REPLAY_BASE)
    if kind == "stripe":
        key = stripe_test_key() or ""
        if not key.startswith("sk_test_"):
            pytest.exit("STRIPE_TEST_KEY must be a test-mode secret key (sk_test_...): recording never uses live mode")
        return StripeTarget(kind, key, None)
    emu = request.getfixturevalue("emulator")
    return StripeTarget(kind, emu.secret_key, emu.base_url)


@pytest.fixture
async def stripe_host(stripe_target: StripeTarget) -> AsyncIterator[StripeHost]:
    """The plugin loaded by the host, its Stripe calls going to ``stripe_target``."""
    options: dict[str, Any] = {"max_network_retries": 0}  # retries would make recordings vary
    if stripe_target.api_base:
        options["api_base"] = stripe_target.api_base
    registry = load_integrations(
        extra_plugins=[megadesk_stripe.plugin], load_entry_points=False, plugin_options={"stripe": options}
    )
    yield StripeHost(registry, stripe_target)
    await registry.shutdown()


@pytest.fixture
async def stripe_data(stripe_target: StripeTarget) -> AsyncIterator[StripeData]:
    """Creates test data in Stripe through the API; deletes the test's customers afterwards."""
    client, http_client = data_client(stripe_target)
    data = StripeData(client)
    yield data
    await data.cleanup()
    await http_client.close_async()  # type: ignore[no-untyped-call]


@pytest.fixture
async def emulator_host(emulator: Any) -> AsyncIterator[StripeHost]:
    """The plugin against the emulator directly, for emulator-only tests (no cassettes)."""
    registry = load_integrations(
        extra_plugins=[megadesk_stripe.plugin],
        load_entry_points=False,
        plugin_options={"stripe": {"api_base": emu_base(emulator), "max_network_retries": 0}},
    )
    yield StripeHost(registry, StripeTarget("emulator", emulator.secret_key, emu_base(emulator)))
    await registry.shutdown()
    emulator.clear_faults()


@pytest.fixture
async def emulator_data(emulator: Any) -> AsyncIterator[StripeData]:
    client, http_client = data_client(StripeTarget("emulator", emulator.secret_key, emu_base(emulator)))
    data = StripeData(client)
    yield data
    await data.cleanup()
    await http_client.close_async()  # type: ignore[no-untyped-call]


def emu_base(emulator: Any) -> str:
    return str(emulator.base_url)
