"""Stripe's published example objects, shipped in ``data/fixtures.json``."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

JsonDict = dict[str, Any]


@cache
def _resources() -> dict[str, JsonDict]:
    text = resources.files("stripe_emulator").joinpath("data/fixtures.json").read_text("utf-8")
    loaded: dict[str, JsonDict] = json.loads(text)["resources"]
    return loaded


def fixture(name: str) -> JsonDict:
    """A deep copy of the fixture for ``name`` (e.g. ``"customer"``), safe to mutate."""
    return copy.deepcopy(_resources()[name])


def fixture_names() -> list[str]:
    return sorted(_resources())
