"""Helpers for the tests that talk to Stripe: where requests go, test data, the plugin via the host.

Requests go to one of three places (:func:`target_kind`):

* ``replay`` (default, ``--record-mode=none``): cassettes answer; nothing leaves the process.
* ``emulator`` (``--record-mode=once|rewrite|...`` without ``STRIPE_TEST_KEY``): the local
  Stripe emulator answers and the cassettes are written from it.
* ``stripe`` (``--record-mode=...`` with ``STRIPE_TEST_KEY=sk_test_...``): Stripe's test mode
  answers and the cassettes are written from it.

Tests create their own data through the API (deterministic emails, so that replayed
requests match), which is what lets the same tests record against the emulator and Stripe.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import stripe
from megadesk_stripe.client import STRIPE_API_VERSION
from megadesk_stripe.settings import StripeSettings
from stripe.params import CustomerCreateParams

from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.panel import Panel, TableBlock, TableRow
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.types import (
    ActingPrincipal,
    ActionResult,
    HookPurpose,
    IntegrationContext,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
)

TESTS_DIR = Path(__file__).resolve().parent.parent
CASSETTES_DIR = TESTS_DIR / "cassettes"
REPLAY_KEY = "sk_test_replaying"  # only ever meets cassettes
REPLAY_BASE = "http://stripe-replay.invalid"
EMULATOR_HOST = "http://stripe-emulator.local"
TargetKind = Literal["replay", "emulator", "stripe"]

# Request headers that carry the key or identify the machine; response headers that identify
# a request or a server. Everything else in a response is kept.
FILTERED_REQUEST_HEADERS = [
    "authorization",
    "x-stripe-client-user-agent",
    "x-stripe-client-telemetry",
    "user-agent",
    "idempotency-key",
    "stripe-account",
    "cookie",
    "host",  # the emulator's random port
    "accept",
    "accept-encoding",
    "connection",
]
KEPT_RESPONSE_HEADERS = {"content-type", "stripe-version", "stripe-should-retry", "retry-after"}
SECRET_PATTERN = re.compile(r"(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{10,}|Bearer\s+\S+", re.IGNORECASE)
_Block = TypeVar("_Block")


def stripe_test_key() -> str | None:
    return os.environ.get("STRIPE_TEST_KEY") or None


def target_kind(record_mode: str) -> TargetKind:
    if record_mode == "none":
        return "replay"
    return "stripe" if stripe_test_key() else "emulator"


@dataclass(frozen=True)
class StripeTarget:
    kind: TargetKind
    api_key: str
    api_base: str | None


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("redacted" if k == "client_secret" and v else _scrub_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    if isinstance(value, str):
        return SECRET_PATTERN.sub("[hidden]", value)
    return value


def scrub_request(request: Any) -> Any:
    # The emulator listens on a random port: record one neutral origin instead.
    request.uri = re.sub(r"^http://127\.0\.0\.1:\d+", EMULATOR_HOST, request.uri)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() in KEPT_RESPONSE_HEADERS}
    body = response.get("body", {}).get("string")
    if body:
        text = body.decode() if isinstance(body, bytes) else body
        try:
            text = json.dumps(_scrub_json(json.loads(text)), ensure_ascii=False)
        except ValueError:
            text = SECRET_PATTERN.sub("[hidden]", text)
        response["body"]["string"] = text.encode() if isinstance(body, bytes) else text
    return response


def vcr_settings() -> dict[str, Any]:
    return {
        "filter_headers": FILTERED_REQUEST_HEADERS,
        "filter_query_parameters": ["api_key"],
        "match_on": ["method", "path", "query", "body"],
        "decode_compressed_response": True,
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
    }


def data_client(target: StripeTarget) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
    """A Stripe client for setting up test data (through httpx, so cassettes record it too)."""
    http_client = stripe.HTTPXClient(timeout=30)
    client = stripe.StripeClient(
        target.api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": target.api_base} if target.api_base else None,
        max_network_retries=0,
        http_client=http_client,
    )
    return client, http_client


@dataclass
class StripeData:
    """Creates the Stripe objects a test needs and deletes its customers afterwards."""

    client: stripe.StripeClient
    customers: list[str] = field(default_factory=list)
    _cleaned: set[str] = field(default_factory=set)

    async def _clear_email(self, email: str) -> None:
        # Leftovers of an interrupted recording against Stripe would add matches.
        if email in self._cleaned:
            return
        self._cleaned.add(email)
        for leftover in (await self.client.v1.customers.list_async({"email": email, "limit": 20})).data:
            await self.client.v1.customers.delete_async(leftover.id)

    async def customer(self, email: str | None, name: str | None = None) -> stripe.Customer:
        params: CustomerCreateParams = {}
        if email:
            await self._clear_email(email)
            params["email"] = email
        if name:
            params["name"] = name
        customer = await self.client.v1.customers.create_async(params)
        self.customers.append(customer.id)
        return customer

    async def payment(
        self,
        customer_id: str,
        amount: int = 2900,
        currency: str = "usd",
        *,
        description: str | None = "Pro plan",
        confirm: bool = True,
    ) -> stripe.PaymentIntent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "payment_method_types": ["card"],
        }
        if description:
            params["description"] = description
        if confirm:
            params.update(payment_method="pm_card_visa", confirm=True)
        return await self.client.v1.payment_intents.create_async(params)  # type: ignore[arg-type]

    async def refund(self, payment_intent_id: str, amount: int | None = None) -> stripe.Refund:
        params: dict[str, Any] = {"payment_intent": payment_intent_id}
        if amount is not None:
            params["amount"] = amount
        return await self.client.v1.refunds.create_async(params)  # type: ignore[arg-type]

    async def price(
        self,
        product_name: str = "Pro plan",
        unit_amount: int = 2900,
        currency: str = "usd",
        interval: Literal["day", "month", "week", "year"] = "month",
    ) -> stripe.Price:
        return await self.client.v1.prices.create_async(
            {
                "unit_amount": unit_amount,
                "currency": currency,
                "recurring": {"interval": interval},
                "product_data": {"name": product_name},
            }
        )

    async def subscription(self, customer_id: str, price_id: str) -> stripe.Subscription:
        """A paid subscription: card attached, first invoice paid by a payment intent."""
        card = await self.client.v1.payment_methods.attach_async("pm_card_visa", {"customer": customer_id})
        return await self.client.v1.subscriptions.create_async(
            {"customer": customer_id, "items": [{"price": price_id}], "default_payment_method": card.id}
        )

    async def cleanup(self) -> None:
        for customer_id in self.customers:
            with contextlib.suppress(stripe.InvalidRequestError):  # the test may have deleted it
                await self.client.v1.customers.delete_async(customer_id)


@dataclass
class StripeHost:
    """The plugin as the host calls it: through the registry, with a tenant's context."""

    registry: IntegrationRegistry
    target: StripeTarget

    def context(
        self,
        *,
        key: str | None = None,
        limit: int = 10,
        check: SettingsCheck | None = None,
        purpose: HookPurpose = "panel",
        caps: dict[str, int] | None = None,
    ) -> IntegrationContext:
        loaded = self.registry.get("stripe")
        assert loaded is not None, self.registry.rejected
        return IntegrationContext(
            tenant_id="tenant-1",
            integration="stripe",
            settings=StripeSettings.model_validate(
                {
                    "restricted_key": key or self.target.api_key,
                    "payment_history_limit": limit,
                    "agent_refund_caps": caps or {},
                }
            ),
            options=loaded.options,
            settings_check=check,
            purpose=purpose,
        )

    @property
    def hooks(self) -> IntegrationHooks:
        loaded = self.registry.get("stripe")
        assert loaded is not None, self.registry.rejected
        return IntegrationHooks(self.registry, loaded)

    async def call(self, hook: str, **kwargs: Any) -> Any:
        """A hook's raw result (to check what the plugin returns, unvalidated)."""
        return await self.registry.call_raw("stripe", hook, **kwargs)

    async def resolve(self, ticket: TicketContext, **context: Any) -> ResolvedCustomer | None:
        """Resolution alone: no panel follows, so nothing is prefetched (a prefetch cancelled
        part-way would make the recorded requests vary)."""
        render = self.context(purpose="action", **context)
        try:
            return await self.hooks.resolve_customer(render, ticket)
        finally:
            await render.memo.aclose()

    async def panel(self, ticket: TicketContext, **context: Any) -> Panel:
        """Resolve, then render, sharing one context: what the host does for one sidebar panel."""
        render = self.context(**context)
        try:
            customer = await self.hooks.resolve_customer(render, ticket)
            return await self.hooks.sidebar_panel(render, ticket, customer)
        finally:
            await render.memo.aclose()

    async def run(
        self,
        ticket: TicketContext,
        action: str,
        payload: dict[str, Any],
        idempotency_key: str,
        principal: ActingPrincipal | None = None,
        **context: Any,
    ) -> ActionResult:
        loaded = self.registry.get("stripe")
        assert loaded is not None
        spec = loaded.actions[action]
        acting = self.context(purpose="action", **context)
        try:
            customer = await self.hooks.resolve_customer(acting, ticket)
            assert customer is not None, "the ticket resolves to no customer"
            payload_model = spec.payload_model.model_validate(payload)
            return await self.hooks.run_action(
                acting, ticket, customer, spec, payload_model, idempotency_key, principal
            )
        finally:
            await acting.memo.aclose()


def ticket(ticket_id: str = "T-1", **fields: Any) -> TicketContext:
    return TicketContext.model_validate({"ticket_id": ticket_id, **fields})


def panel_blocks(panel: Panel, kind: type[_Block]) -> list[_Block]:
    return [b for b in panel.blocks if isinstance(b, kind)]


def panel_table(panel: Panel, title_start: str) -> TableBlock:
    return next(b for b in panel_blocks(panel, TableBlock) if (b.title or "").startswith(title_start))


def panel_row(panel: Panel, title_start: str, row_id: str) -> TableRow:
    return next(r for r in panel_table(panel, title_start).rows if r.id == row_id)
