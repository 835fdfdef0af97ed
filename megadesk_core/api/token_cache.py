"""The principals of recently checked tokens, kept for a few seconds in this process.

A warm sidebar is served from kept panel JSON; looking the token up in the database was then
half of what the request cost. A token this process checked is trusted again for
``MEGADESK_TOKEN_CACHE_SECONDS`` (default 5): a token revoked with ``megadesk tokens revoke``
(another process) keeps working here for at most that long. Unknown tokens are never kept, so
a revoked or mistyped token is looked up every time; a kept principal carries no secret (the
key is the token's hash).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache

from megadesk_core.services.tenants import Principal, hash_token

MAX_TOKENS = 10_000


class TokenCache:
    def __init__(
        self, seconds: float, *, max_tokens: int = MAX_TOKENS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._principals: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=max_tokens, ttl=seconds, timer=clock) if seconds > 0 else None
        )

    def get(self, token: str) -> Principal | None:
        return self._principals.get(hash_token(token)) if self._principals is not None else None

    def put(self, token: str, principal: Principal) -> None:
        if self._principals is not None:
            self._principals[hash_token(token)] = principal
