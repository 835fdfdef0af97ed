"""What a route handler receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe_emulator.keys import ApiKey
from stripe_emulator.store import Store


@dataclass(frozen=True)
class Call:
    store: Store
    params: dict[str, Any]
    path: dict[str, str]
    api_key: ApiKey
    at: int
    """The request's timestamp, used for every ``created`` it causes."""

    def arg(self, name: str) -> str:
        return self.path[name]
