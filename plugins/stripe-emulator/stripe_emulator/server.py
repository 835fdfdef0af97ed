"""Running the emulator in-process (uvicorn on a background thread) for tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from stripe_emulator.app import EmulatorApp, create_app
from stripe_emulator.faults import Fault
from stripe_emulator.ids import now
from stripe_emulator.keys import FULL_SECRET_KEY
from stripe_emulator.seed import DemoWorld, seed_demo
from stripe_emulator.services import disputes, refunds
from stripe_emulator.store import Store

_DROP_NOISE = "ASGI callable returned without completing response."


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the responses the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _DROP_NOISE not in record.getMessage()


def quiet_dropped_connections() -> None:
    target = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in target.filters):
        target.addFilter(_QuietDrops())


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens and how to steer it."""

    base_url: str
    store: Store
    app: EmulatorApp
    demo: DemoWorld | None = None

    @property
    def secret_key(self) -> str:
        return FULL_SECRET_KEY

    def create_restricted_key(self, permissions: Mapping[str, str]) -> str:
        return self.store.create_restricted_key(permissions)

    def add_fault(
        self,
        match: str,
        *,
        method: str | None = None,
        status: int | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
        drop: bool = False,
    ) -> Fault:
        return self.store.add_fault(match, method=method, status=status, times=times, delay_ms=delay_ms, drop=drop)

    def clear_faults(self) -> None:
        self.store.clear_faults()

    def set_latency(self, latency_ms: int) -> None:
        self.store.set_latency(latency_ms)

    def reset(self) -> None:
        """Empty the store (objects, restricted keys, idempotency cache, faults)."""
        self.store.reset()
        self.demo = None

    def seed(self) -> DemoWorld:
        self.demo = seed_demo(self.store)
        return self.demo

    def set_webhook_endpoint(self, url: str, secret: str) -> None:
        """Deliver each change as a signed event to ``url`` (see :mod:`stripe_emulator.webhooks`)."""
        self.store.webhooks.configure(url, secret)

    def dispute(self, payment_intent_id: str, *, status: str = "needs_response", reason: str = "fraudulent") -> str:
        """The customer's bank disputes the payment; the dispute's id."""
        with self.store.lock, self.store.delivering():
            return str(
                disputes.open_dispute(self.store, payment_intent_id, at=now(), status=status, reason=reason)["id"]
            )

    def set_refund_status(self, refund_id: str, status: str, failure_reason: str | None = None) -> None:
        """Make a refund ``pending``, ``failed`` (with a ``failure_reason``), ``canceled``..."""
        with self.store.lock, self.store.delivering():
            refunds.set_status(self.store, refund_id, status, failure_reason)


@contextmanager
def run_emulator(
    seed: bool = False,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    latency_ms: int = 0,
    store: Store | None = None,
    control: bool = True,
) -> Iterator[EmulatorHandle]:
    """Serve an emulator on ``host:port`` (port 0: a free one) until the block exits."""
    store = store if store is not None else Store()
    store.set_latency(latency_ms)
    demo = seed_demo(store) if seed else None
    app = create_app(store, control=control)
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say they are
    # TCP, and without it Nagle's algorithm adds ~40 ms to every response.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]
    config = uvicorn.Config(app, http="h11", ws="none", lifespan="on", log_level="warning", access_log=False)
    quiet_dropped_connections()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="stripe-emulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Stripe emulator failed to start")
            time.sleep(0.01)
        yield EmulatorHandle(f"http://{host}:{bound_port}", store, app, demo)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
