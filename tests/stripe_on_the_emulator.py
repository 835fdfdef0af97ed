"""Fixtures for host tests that render the real Stripe plugin against the emulator: a module's
emulator (seeded), the plugin allowed alone, pointed at the emulator, with its full key.

Import them into a test module: ``from stripe_on_the_emulator import *  # noqa: F403``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from stripe_emulator.server import EmulatorHandle, run_emulator

__all__ = ["emulator", "megadesk_integration_settings", "megadesk_plugin_options", "megadesk_plugins_allow"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with run_emulator(seed=True) as handle:
        yield handle


@pytest.fixture
def megadesk_plugins_allow() -> list[str]:
    return ["stripe"]


@pytest.fixture
def megadesk_plugin_options(emulator: EmulatorHandle) -> dict[str, dict[str, Any]]:
    # The emulator is on 127.0.0.1: the operator's api_base is a trusted origin of the layer.
    return {"stripe": {"api_base": emulator.base_url, "max_network_retries": 0}}


@pytest.fixture
def megadesk_integration_settings(emulator: EmulatorHandle) -> dict[str, Any]:
    return {"restricted_key": emulator.secret_key}
