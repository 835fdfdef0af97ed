"""``stripe-emulator`` / ``python -m stripe_emulator``: serve the emulator over HTTP."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

import uvicorn

from stripe_emulator.app import create_app
from stripe_emulator.keys import FULL_SECRET_KEY
from stripe_emulator.seed import seed_demo
from stripe_emulator.server import quiet_dropped_connections
from stripe_emulator.store import Store

DEFAULT_PORT = 12111


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stripe-emulator",
        description="A local, stateful, test-mode-only emulator of the Stripe API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", choices=["demo", "none"], default="none")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every /v1 request")
    parser.add_argument("--no-control", action="store_true", help="disable the /_emulator/* test endpoints")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--webhook-url", help="deliver each change as a signed Stripe event to this URL")
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("STRIPE_EMULATOR_WEBHOOK_SECRET"),
        help="the endpoint's signing secret, whsec_... (default: $STRIPE_EMULATOR_WEBHOOK_SECRET)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.latency_ms < 0:
        raise SystemExit("--latency-ms must not be negative")
    store = Store(latency_ms=args.latency_ms)
    if args.webhook_url or args.webhook_secret:
        try:
            store.webhooks.configure(args.webhook_url, args.webhook_secret)
        except ValueError as error:
            raise SystemExit(f"--webhook-url and --webhook-secret: {error}") from None
    app = create_app(store, control=not args.no_control)
    url = f"http://{args.host}:{args.port}"
    print(f"Stripe emulator listening on {url}", flush=True)
    print(f"Secret key: {FULL_SECRET_KEY}", flush=True)
    print(
        f'Point stripe-python at it with StripeClient("{FULL_SECRET_KEY}", base_addresses={{"api": "{url}"}})',
        flush=True,
    )
    if args.seed == "demo":
        world = seed_demo(store)
        print("Seeded demo data:", flush=True)
        print(json.dumps(world.model_dump(mode="json"), indent=2), flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, http="h11", ws="none", log_level=args.log_level)
    quiet_dropped_connections()
    uvicorn.Server(config).run()
    return 0
