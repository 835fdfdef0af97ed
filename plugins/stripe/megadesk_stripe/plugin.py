"""The hook implementations: thin wrappers over the modules that do the work.

Registered through the ``megadesk.integrations`` entry point as ``stripe``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from megadesk_core.markers import hookimpl
from megadesk_core.outbound import IntegrationHTTP
from megadesk_core.panel import Panel
from megadesk_core.types import (
    ActingPrincipal,
    ActionHandler,
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationContext,
    IntegrationManifest,
    RecoveredAction,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
    WebhookResult,
)
from megadesk_stripe import actions as stripe_actions
from megadesk_stripe import checks, panel, recovery, resolution, webhooks
from megadesk_stripe.blocks import CANCEL_ACTION, PARTIAL_REFUND_ACTION, REFUND_ACTION, RESUME_ACTION
from megadesk_stripe.catalog import ProductNames, account_of
from megadesk_stripe.client import ClientCache
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.partial_refund import SPEC as PARTIAL_REFUND_SPEC
from megadesk_stripe.partial_refund import PartialRefundPayload
from megadesk_stripe.partial_refund import partial_refund as stripe_partial_refund
from megadesk_stripe.permissions import FEATURE_NAMES, is_test_key
from megadesk_stripe.reads import PanelPlan, StripeReads
from megadesk_stripe.refund_cap import RefundCaps
from megadesk_stripe.resume import SPEC as RESUME_SPEC
from megadesk_stripe.resume import ResumeSubscriptionPayload
from megadesk_stripe.resume import resume_subscription as stripe_resume
from megadesk_stripe.settings import StripeOptions, StripeSettings

NAME = "stripe"
_clients = ClientCache()
_product_names = ProductNames()


StripeContext = IntegrationContext[StripeSettings, StripeOptions]
"""What the host hands these hooks: the settings and options are this plugin's own models."""


def _gateway(
    settings: StripeSettings, options: StripeOptions | None, http: IntegrationHTTP | None = None
) -> StripeGateway:
    """A gateway over the host's outbound layer (``http``: this tenant's; without it, the
    process layer, as in ``check_settings``)."""
    return StripeGateway(_clients.get(settings.restricted_key.get_secret_value(), options or StripeOptions(), http))


def _reads(context: StripeContext) -> StripeReads:
    """This render's reads: shared with the render's other hook call through ``context.memo``."""
    account = account_of(context.settings.restricted_key.get_secret_value())
    return StripeReads(_gateway(context.settings, context.options, context.http), context.memo, _product_names, account)


def _plan(context: StripeContext, ticket: TicketContext) -> PanelPlan:
    unavailable = panel.unavailable_features(context.settings_check)
    return PanelPlan(context.settings.payment_history_limit, unavailable, panel.payments_after(ticket.page))


@hookimpl
def manifest() -> IntegrationManifest:
    return IntegrationManifest(
        name=NAME,
        title="Stripe",
        description="The customer's Stripe billing (balance, subscriptions, payments) with refund (in full or "
        "in part), cancel and resume actions.",
        settings_model=StripeSettings,
        options_model=StripeOptions,
        features=FEATURE_NAMES,
    )


@hookimpl
async def check_settings(settings: StripeSettings, options: StripeOptions | None) -> SettingsCheck:
    key = settings.restricted_key.get_secret_value()
    kind, mode = checks.check_key_form(key)
    gateway = _gateway(settings, options)
    check = await checks.probe_key(gateway, kind, mode)
    await checks.keep_product_names(gateway, check, _product_names, account_of(key))
    if settings.webhook_signing_secret is None:
        return check.model_copy(update={"warnings": [*check.warnings, webhooks.NO_SECRET_WARNING]})
    return check


@hookimpl
async def resolve_customer(context: StripeContext, ticket: TicketContext) -> ResolvedCustomer | None:
    prefetch = context.purpose == "panel"  # the panel follows: start its reads now
    return await resolution.resolve_customer(_reads(context), ticket, _plan(context, ticket), prefetch=prefetch)


@hookimpl
async def sidebar_panel(context: StripeContext, ticket: TicketContext, customer: ResolvedCustomer | None) -> Panel:
    if customer is None:
        return panel.empty_panel(has_email=bool(ticket.requester_email))
    settings = context.settings
    return await panel.load_panel(
        _reads(context),
        customer,
        check=context.settings_check,
        test_mode=is_test_key(settings.restricted_key.get_secret_value()),
        payment_history_limit=settings.payment_history_limit,
        selection=ticket.selection,
        page=ticket.page,
    )


def _caps(context: StripeContext, principal: ActingPrincipal | None) -> RefundCaps:
    return RefundCaps(context.settings.agent_refund_caps, principal)


async def refund_payment(
    context: StripeContext,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: stripe_actions.RefundPaymentPayload,
    idempotency_key: str,
    principal: ActingPrincipal | None = None,
    earlier_attempt_unknown: bool = False,
) -> ActionResult:
    gateway = _gateway(context.settings, context.options, context.http)
    caps = _caps(context, principal)
    return await stripe_actions.refund_payment(
        gateway, ticket, customer, payload, idempotency_key, caps, earlier_attempt_unknown
    )


async def partial_refund(
    context: StripeContext,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: PartialRefundPayload,
    idempotency_key: str,
    principal: ActingPrincipal | None = None,
    earlier_attempt_unknown: bool = False,
) -> ActionResult:
    gateway = _gateway(context.settings, context.options, context.http)
    caps = _caps(context, principal)
    return await stripe_partial_refund(
        gateway, ticket, customer, payload, idempotency_key, caps, earlier_attempt_unknown
    )


async def cancel_subscription(
    context: StripeContext,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: stripe_actions.CancelSubscriptionPayload,
    idempotency_key: str,
    principal: ActingPrincipal | None = None,
    earlier_attempt_unknown: bool = False,
) -> ActionResult:
    gateway = _gateway(context.settings, context.options, context.http)
    unavailable = panel.unavailable_features(context.settings_check)
    caps = _caps(context, principal)
    return await stripe_actions.cancel_subscription(
        gateway, ticket, customer, payload, idempotency_key, unavailable, caps, earlier_attempt_unknown
    )


async def resume_subscription(
    context: StripeContext,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    payload: ResumeSubscriptionPayload,
    idempotency_key: str,
) -> ActionResult:
    gateway = _gateway(context.settings, context.options, context.http)
    return await stripe_resume(gateway, ticket, customer, payload, idempotency_key)


_HANDLERS: dict[str, ActionHandler] = {
    REFUND_ACTION: refund_payment,
    PARTIAL_REFUND_ACTION: partial_refund,
    CANCEL_ACTION: cancel_subscription,
    RESUME_ACTION: resume_subscription,
}
_SPECS = [*stripe_actions.ACTIONS, PARTIAL_REFUND_SPEC, RESUME_SPEC]


@hookimpl
def actions() -> list[ActionSpec]:
    """Each action with the function that runs it: the host calls it with the payload already
    validated against the action's own model, so nothing here dispatches on names."""
    return [dataclasses.replace(spec, handler=_HANDLERS[spec.name]) for spec in _SPECS]


@hookimpl
async def recover_action(
    context: StripeContext, action: str, payload: ActionPayload, idempotency_key: str
) -> RecoveredAction:
    """Read-only: what became of a refund or cancellation whose answer was lost, by its tag."""
    gateway = _gateway(context.settings, context.options, context.http)
    if isinstance(payload, stripe_actions.RefundPaymentPayload):
        return await recovery.recover_refund(gateway, payload.target, idempotency_key)
    if isinstance(payload, stripe_actions.CancelSubscriptionPayload):
        return await recovery.recover_cancel(gateway, payload, idempotency_key)
    if isinstance(payload, PartialRefundPayload):
        return await recovery.recover_refund(gateway, payload.target, idempotency_key, "partial_refund")
    if isinstance(payload, ResumeSubscriptionPayload):
        return await recovery.recover_resume(gateway, payload.target)
    return RecoveredAction(outcome="unknown", detail=f"the Stripe integration has no action {action!r}")


@hookimpl
def webhook(context: StripeContext, body: bytes, headers: Mapping[str, str]) -> WebhookResult | None:
    secret = context.settings.webhook_signing_secret
    return webhooks.read_event(body, headers.get("stripe-signature"), secret.get_secret_value() if secret else None)


@hookimpl
async def shutdown() -> None:
    await _clients.aclose()
    _product_names.clear()
