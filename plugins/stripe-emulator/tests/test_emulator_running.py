"""Ways to run the emulator: in-process handle, bare ASGI app, and the command line."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import stripe
import stripe_emulator
from emulator_helpers import make_client, pay
from stripe_emulator.app import create_app
from stripe_emulator.server import EmulatorHandle, run_emulator
from stripe_emulator.store import Store

PACKAGE_ROOT = Path(stripe_emulator.__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_emulator_handle_and_clean_shutdown() -> None:
    with run_emulator(seed=True, latency_ms=0) as emulator:
        assert emulator.base_url.startswith("http://127.0.0.1:")
        assert emulator.secret_key == "sk_test_emulator"
        assert emulator.demo is not None
        client, http_client = make_client(emulator)
        try:
            found = client.v1.customers.list(params={"email": "ada@example.com"}).data
        finally:
            http_client.close()
        assert [c.id for c in found] == [emulator.demo.ada.id]
        key = emulator.create_restricted_key({"customers": "read"})
        assert key.startswith("rk_test_")
        fault = emulator.add_fault("/v1/customers", status=500)
        assert fault.id.startswith("fault_")
        emulator.clear_faults()
        assert emulator.store.faults.list() == []
        base_url = emulator.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/_emulator/state", timeout=1)


def test_two_emulators_are_independent() -> None:
    with run_emulator() as one, run_emulator() as two:
        assert one.base_url != two.base_url
        one.store.add({"id": "cus_manual000001", "object": "customer", "created": 1})
        assert two.store.get("cus_manual000001") is None


@pytest.mark.asyncio
async def test_create_app_is_a_plain_asgi_app() -> None:
    store = Store()
    app = create_app(store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as raw:
        created = await raw.post(
            "/v1/customers", data={"email": "asgi@example.com"}, headers={"Authorization": "Bearer sk_test_emulator"}
        )
        assert created.status_code == 200
        assert created.headers["Request-Id"].startswith("req_")
    assert [c["email"] for c in store.all("customer")] == ["asgi@example.com"]
    hidden = create_app(Store(), control=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hidden), base_url="http://emulator") as raw:
        answer = await raw.get("/_emulator/state", headers={"Authorization": "Bearer sk_test_emulator"})
        assert answer.status_code == 404
        assert answer.json()["error"]["message"].startswith("Unrecognized request URL")


def test_command_line_serves_and_prints_url_and_key() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--seed",
            "demo",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        assert lines[0].strip() == f"Stripe emulator listening on http://127.0.0.1:{port}"
        assert lines[1].strip() == "Secret key: sk_test_emulator"
        deadline = time.monotonic() + 10
        while True:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=1)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        assert state.json()["objects"]["customer"] == 13
        http_client = stripe.HTTPXClient(allow_sync_methods=True)
        client = stripe.StripeClient(
            "sk_test_emulator",
            base_addresses={"api": f"http://127.0.0.1:{port}"},
            max_network_retries=0,
            http_client=http_client,
        )
        try:
            assert client.v1.customers.list(params={"email": "grace@example.com"}).data[0].name is None
        finally:
            http_client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_concurrent_requests_keep_the_books_straight(emulator: EmulatorHandle) -> None:
    setup, setup_http = make_client(emulator)
    try:
        intent = pay(setup, 5000)
    finally:
        setup_http.close()

    def refund_1000(_: int) -> str:
        client, http_client = make_client(emulator)
        try:
            client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
            return "ok"
        except stripe.InvalidRequestError as error:
            return str(error.code)
        finally:
            http_client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(refund_1000, range(12)))
    assert outcomes.count("ok") == 5
    assert set(outcomes) - {"ok"} <= {"charge_already_refunded", "amount_too_large"}
    charge = emulator.store.snapshot(str(intent.latest_charge))
    assert charge is not None
    assert (charge["amount_refunded"], charge["refunded"]) == (5000, True)


@pytest.mark.asyncio
async def test_concurrent_async_creates(emulator: EmulatorHandle, aclient: stripe.StripeClient) -> None:
    created = await asyncio.gather(
        *(aclient.v1.customers.create_async(params={"email": f"c{i}@example.com"}) for i in range(25))
    )
    assert len({c.id for c in created}) == 25
    assert len(emulator.store.all("customer")) == 25
