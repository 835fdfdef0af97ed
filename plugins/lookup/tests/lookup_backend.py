"""A small customer API that follows the Customer lookup format, served for real on localhost.

The plugin talks to it over HTTP exactly as it would to a tenant's backend; tests change its
data and its misbehaviour through :class:`BackendState`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath, FromQuery

API_KEY = "lookup-test-key-123"
REVOKED_KEY = "lookup-revoked-key"


def _customers() -> dict[str, dict[str, Any]]:
    return {
        "cus_1": {
            "id": "cus_1",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "plan": "Pro",
            "lifetimeValue": 1234.5,
            "vip": True,
            "address": {"city": "London"},  # nested: not shown
            "url": "https://backoffice.example.com/customers/cus_1",
            "orders": [
                {
                    "id": "o-3",
                    "date": "2024-05-02",
                    "total": 99.0,
                    "status": "shipped",
                    "url": "https://backoffice.example.com/orders/o-3",
                },
                {"id": "o-2", "date": "2024-03-11", "total": 20, "status": "refunded"},
            ],
        },
        "cus_2": {"id": "cus_2", "name": "Grace Hopper", "email": "grace@example.com", "orders": []},
        "cus_3": {"id": "cus_3", "name": "Grace H. (old account)", "email": "grace@example.com"},
        "cus_4": {"id": "cus_4", "name": "Not Ada", "email": "ada@example.com.au"},
        "cus_boom": {"id": "cus_boom", "name": "Breaks the backend", "email": "boom@example.com"},
        "42": {"id": 42, "name": "Numeric Id", "email": "numeric@example.com"},
    }


@dataclass
class BackendState:
    customers: dict[str, dict[str, Any]] = field(default_factory=_customers)
    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    raw_paths: list[str] = field(default_factory=list)
    """Every request's path as sent, routed or not."""
    base_url: str = ""
    status_override: int | None = None
    delay_seconds: float = 0.0

    @property
    def host(self) -> str:
        return self.base_url.split("/")[2]

    def reset(self) -> None:
        vars(self).update(vars(BackendState()))


STATE = BackendState()


def _refusal(request: Request[Any, Any, Any]) -> Response[Any] | None:
    STATE.requests.append(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "authorization": request.headers.get("authorization"),
            "idempotency_key": request.headers.get("idempotency-key"),
        }
    )
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return Response({"message": "bad key"}, status_code=401)
    if STATE.status_override is not None:
        return Response({"message": "forced"}, status_code=STATE.status_override, headers={"Retry-After": "7"})
    return None


@get("/api/customers")
async def search(request: Request[Any, Any, Any], email: FromQuery[str]) -> Response[Any]:
    if refusal := _refusal(request):
        return refusal
    if STATE.delay_seconds:
        await asyncio.sleep(STATE.delay_seconds)
    # Deliberately loose (substring), like some real search endpoints: the plugin must filter.
    found = [c for c in STATE.customers.values() if email.lower() in str(c.get("email", "")).lower()]
    return Response({"customers": found})


@get("/api/customers/{customer_id:str}")
async def customer(request: Request[Any, Any, Any], customer_id: FromPath[str]) -> Response[Any]:
    if refusal := _refusal(request):
        return refusal
    if customer_id == "cus_boom":
        return Response({"message": "database on fire"}, status_code=500)
    record = STATE.customers.get(customer_id)
    if record is None:
        return Response({"message": "no such customer"}, status_code=404)
    return Response(record)


@post("/api/customers/{customer_id:str}/notes")
async def add_note(request: Request[Any, Any, Any], customer_id: FromPath[str]) -> Response[Any]:
    if refusal := _refusal(request):
        return refusal
    if customer_id not in STATE.customers:
        return Response({"message": "no such customer"}, status_code=404)
    key = request.headers.get("idempotency-key")
    if not key:
        return Response({"message": "Idempotency-Key is required"}, status_code=400)
    for note in STATE.notes:
        if note["idempotency_key"] == key:
            return Response({"id": note["id"]}, status_code=200)
    body = await request.json()
    if body.get("text") == "conflict":
        return Response({"message": "the customer record is locked"}, status_code=409)
    note = {"id": f"note_{len(STATE.notes) + 1}", "customer": customer_id, "text": body["text"], "idempotency_key": key}
    STATE.notes.append(note)
    return Response({"id": note["id"]}, status_code=201)


_api = Litestar([search, customer, add_note])


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        STATE.raw_paths.append(scope["raw_path"].decode())
    await _api(scope, receive, send)


@contextmanager
def serve() -> Iterator[str]:
    """Serve the backend on a free localhost port; yields the plugin's ``base_url``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake customer API did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def closed_port_url() -> str:
    """A localhost URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"
