"""Single-flight inside one process: concurrent callers with the same key share one call.

The first caller for a key starts the work as its own task; later callers with that key, while
it runs, await the same task. A caller that gives up (its deadline, a cancelled request) stops
waiting but never cancels the shared work: the others still get its result, and a render that
finishes refills the cache for the next caller. Across processes, the panel store's lease does
the same (:mod:`megadesk_core.panel_store`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Shares one running call per key (one event loop)."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        """Calls running now."""
        return len(self._running)

    def running(self, key: str) -> bool:
        return key in self._running

    def start(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[asyncio.Task[T], bool]:
        """The task for ``key``: the running one (joined: ``True``) or ``work()`` started now."""
        task = self._running.get(key)
        if task is not None:
            return task, True
        task = asyncio.ensure_future(work())
        self._running[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task, False

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``work()``'s result, shared with every concurrent caller of ``key``; and whether this
        caller joined a call another started."""
        task, joined = self.start(key, work)
        # shield: cancelling this caller (a deadline, a closed request) leaves the task running.
        return await asyncio.shield(task), joined

    def _finished(self, key: str, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaited any more is not "never retrieved"
