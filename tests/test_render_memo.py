"""The per-render memo plugins share between resolve_customer and sidebar_panel."""

from __future__ import annotations

import asyncio

import pytest

from megadesk_core.memo import RenderMemo


async def test_a_key_is_loaded_once_and_shared() -> None:
    memo = RenderMemo()
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0)
        return "customer"

    memo.start("customer", load)
    assert await asyncio.gather(memo.get("customer", load), memo.get("customer", load)) == ["customer", "customer"]
    assert loads == 1
    assert "customer" in memo
    await memo.aclose()


async def test_an_error_reaches_every_caller() -> None:
    memo = RenderMemo()

    async def fail() -> None:
        raise LookupError("no such customer")

    for _ in range(2):
        with pytest.raises(LookupError):
            await memo.get("customer", fail)
    await memo.aclose()


async def test_put_remembers_a_value_found_on_the_way() -> None:
    memo = RenderMemo()
    memo.put("customer", {"id": "cus_1"})

    async def never() -> dict[str, str]:
        raise AssertionError("a remembered value is not loaded again")

    assert await memo.get("customer", never) == {"id": "cus_1"}
    assert memo.value("customer") == {"id": "cus_1"}
    assert memo.value("nothing") is None
    await memo.aclose()


def test_plain_hooks_in_a_worker_thread_pass_values_without_an_event_loop() -> None:
    memo = RenderMemo()
    memo.put("contact:c-1", "Ada")  # no running loop here, as in a sync hook's thread
    assert memo.value("contact:c-1") == "Ada"
    assert "contact:c-1" in memo


async def test_a_caller_that_gives_up_does_not_cancel_the_load_for_others() -> None:
    memo = RenderMemo()
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "done"

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(memo.get("slow", slow), timeout=0.01)
    release.set()
    assert await memo.get("slow", slow) == "done"
    await memo.aclose()


async def test_close_cancels_unused_loads_and_drops_their_errors() -> None:
    memo = RenderMemo()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def prefetch() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        raise RuntimeError("a prefetch nobody needed")

    memo.start("unused", prefetch)
    memo.start("failed", failing)
    await started.wait()
    await asyncio.sleep(0)
    await memo.aclose()  # no "exception was never retrieved" (the suite fails on unraisable warnings)
    assert cancelled.is_set()
    assert "unused" not in memo
