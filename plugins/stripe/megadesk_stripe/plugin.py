"""The hook implementations: thin wrappers over the modules that do the work.

Registered through the ``megadesk.integrations`` entry point as ``stripe``.
"""

from __future__ import annotations

from pydantic import BaseModel

from megadesk_core.markers import hookimpl
from megadesk_core.outbound import IntegrationHTTP
from megadesk_core.panel import Panel
from megadesk_core.types import (
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationContext,
    IntegrationManifest,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
)
from megadesk_stripe import actions as stripe_actions
from megadesk_stripe import checks, panel, resolution
from megadesk_stripe.blocks import CANCEL_ACTION, REFUND_ACTION
from megadesk_stripe.catalog import ProductNames, account_of
from megadesk_stripe.client import ClientCache
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.permissions import FEATURE_NAMES, is_test_key
from megadesk_stripe.reads import PanelPlan, StripeReads
from megadesk_stripe.settings import StripeOptions, StripeSettings

NAME = "stripe"
_clients = ClientCache()
_product_names = ProductNames()


def _settings(model: BaseModel) -> StripeSettings:
    if not isinstance(model, StripeSettings):
        raise TypeError(f"expected StripeSettings, got {type(model).__name__}")
    return model


def _options(model: BaseModel | None) -> StripeOptions:
    return model if isinstance(model, StripeOptions) else StripeOptions()


def _gateway(settings: StripeSettings, options: BaseModel | None, http: IntegrationHTTP | None = None) -> StripeGateway:
    return StripeGateway(_clients.get(settings.restricted_key.get_secret_value(), _options(options), http))


def _reads(context: IntegrationContext) -> StripeReads:
    """This render's reads: shared with the render's other hook call through ``context.memo``."""
    settings = _settings(context.settings)
    account = account_of(settings.restricted_key.get_secret_value())
    return StripeReads(_gateway(settings, context.options, context.http), context.memo, _product_names, account)


def _plan(context: IntegrationContext) -> PanelPlan:
    settings = _settings(context.settings)
    return PanelPlan(settings.payment_history_limit, panel.unavailable_features(context.settings_check))


@hookimpl
def manifest() -> IntegrationManifest:
    return IntegrationManifest(
        name=NAME,
        title="Stripe",
        description="The customer's Stripe billing (balance, subscriptions, payments) with refund and cancel actions.",
        settings_model=StripeSettings,
        options_model=StripeOptions,
        features=FEATURE_NAMES,
    )


@hookimpl
async def check_settings(settings: BaseModel, options: BaseModel | None) -> SettingsCheck:
    stripe_settings = _settings(settings)
    key = stripe_settings.restricted_key.get_secret_value()
    kind, mode = checks.check_key_form(key)
    gateway = _gateway(stripe_settings, options)
    check = await checks.probe_key(gateway, kind, mode)
    await checks.keep_product_names(gateway, check, _product_names, account_of(key))
    return check


@hookimpl
async def resolve_customer(context: IntegrationContext, ticket: TicketContext) -> ResolvedCustomer | None:
    prefetch = context.purpose == "panel"  # the panel follows: start its reads now
    return await resolution.resolve_customer(_reads(context), ticket, _plan(context), prefetch=prefetch)


@hookimpl
async def sidebar_panel(context: IntegrationContext, ticket: TicketContext, customer: ResolvedCustomer | None) -> Panel:
    if customer is None:
        return panel.empty_panel(has_email=bool(ticket.requester_email))
    settings = _settings(context.settings)
    return await panel.load_panel(
        _reads(context),
        customer,
        check=context.settings_check,
        test_mode=is_test_key(settings.restricted_key.get_secret_value()),
        payment_history_limit=settings.payment_history_limit,
        selection=ticket.selection,
    )


@hookimpl
def actions() -> list[ActionSpec]:
    return list(stripe_actions.ACTIONS)


@hookimpl
async def run_action(
    context: IntegrationContext,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    action: str,
    payload: ActionPayload,
    idempotency_key: str,
) -> ActionResult:
    gateway = _gateway(_settings(context.settings), context.options, context.http)
    if action == REFUND_ACTION and isinstance(payload, stripe_actions.RefundPaymentPayload):
        return await stripe_actions.refund_payment(gateway, ticket, customer, payload, idempotency_key)
    if action == CANCEL_ACTION and isinstance(payload, stripe_actions.CancelSubscriptionPayload):
        unavailable = panel.unavailable_features(context.settings_check)
        return await stripe_actions.cancel_subscription(
            gateway, ticket, customer, payload, idempotency_key, unavailable
        )
    raise ValueError(f"the Stripe integration has no action {action!r} taking {type(payload).__name__}")


@hookimpl
async def shutdown() -> None:
    await _clients.aclose()
    _product_names.clear()
