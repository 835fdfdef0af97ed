"""The hooks an integration implements. ``docs/hooks.md`` is generated from this module.

Every hook may be a plain function or ``async def``; the host awaits what needs awaiting.
Hooks that take ``context`` get an :class:`~megadesk_core.types.IntegrationContext`: the
tenant's ``settings`` and the process ``options`` (as the plugin's own models), ``memo`` (shared
by the hook calls of one render), ``purpose`` and ``http``, the host's outbound HTTP layer that
every upstream call should go through (SSRF guard, deadlines, retries of idempotent requests).
An implementation may accept fewer arguments than the spec lists (pluggy passes only those it
names), so a hook can gain arguments later without breaking plugins. The host calls each hook
on one plugin at a time, for a tenant that enabled it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from pydantic import BaseModel

from megadesk_core.markers import CONTRACT_ATTRIBUTE, HookContract, hook_contract, hookspec
from megadesk_core.panel import Panel
from megadesk_core.types import (
    ActingPrincipal,
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


@hookspec(firstresult=True)
@hook_contract(required=True, may_be_async=False)
def manifest() -> IntegrationManifest:  # type: ignore[empty-body]
    """Say what the integration is: its name, title and settings model. Required.

    Returns:
        An :class:`~megadesk_core.types.IntegrationManifest`. Called once at start-up; may not
        be async.

    Example::

        @hookimpl
        def manifest() -> IntegrationManifest:
            return IntegrationManifest(name="acme", title="Acme CRM", settings_model=AcmeSettings)
    """


@hookspec(firstresult=True)
@hook_contract()
def check_settings(settings: BaseModel, options: BaseModel | None) -> SettingsCheck | Awaitable[SettingsCheck] | None:
    """Check a tenant's settings when an admin saves them, e.g. what an API key may do.

    Args:
        settings: the validated settings model instance, secrets in clear.
        options: the plugin's process-level options: an instance of the manifest's
            ``options_model`` (its defaults when the operator set none), or ``None`` when the
            plugin declares no options model.

    Returns:
        A :class:`~megadesk_core.types.SettingsCheck` with warnings and unavailable features
        (shown to the admin, stored, and handed back in ``IntegrationContext``), or ``None``.
        Raise :class:`~megadesk_core.errors.IntegrationError` to reject the settings: the
        admin gets a 422 with its message (naming ``field`` when you set it) and nothing is
        saved. When you cannot tell now, raise
        :class:`~megadesk_core.errors.UpstreamUnavailableError` or
        :class:`~megadesk_core.errors.RateLimitedError` (or miss the deadline): the admin gets a
        503 ``settings_unchecked`` saying to try again, and nothing is saved either; settings
        are never stored unchecked.

    Example::

        @hookimpl
        async def check_settings(settings):
            if not await can_read_contacts(settings.api_key.get_secret_value()):
                return SettingsCheck(unavailable_features=[
                    UnavailableFeature(feature="contacts", reason="the key cannot read contacts")])
            return SettingsCheck()
    """


@hookspec(firstresult=True)
@hook_contract()
def resolve_customer(
    context: IntegrationContext, ticket: TicketContext
) -> ResolvedCustomer | Awaitable[ResolvedCustomer | None] | None:
    """Find the external customer a ticket is about.

    Args:
        context: the tenant's settings for this integration; ``context.memo`` carries what this
            hook found (or started loading) to the ``sidebar_panel`` or ``run_action`` call of
            the same render, and ``context.purpose`` says which follows (``"panel"`` or
            ``"action"``).
        ticket: the ticket, with only this integration's Custom Data block.

    Returns:
        A :class:`~megadesk_core.types.ResolvedCustomer` (``verified=True`` only when the
        ticket's Custom Data named it), or ``None`` when nothing matches. Raise
        :class:`~megadesk_core.errors.NotFoundError` when the ticket names a record that does
        not exist: that is an error, not "no match".

    Example::

        @hookimpl
        def resolve_customer(context, ticket):
            if cid := ticket.custom_data.get("contactId"):
                return ResolvedCustomer(id=cid, verified=True)
            return None
    """


@hookspec(firstresult=True)
@hook_contract(required=True)
def sidebar_panel(  # type: ignore[empty-body]
    context: IntegrationContext, ticket: TicketContext, customer: ResolvedCustomer | None
) -> Panel | Awaitable[Panel]:
    """Render the integration's panel for a ticket. Required.

    Args:
        context: the tenant's settings for this integration; ``context.memo`` holds what
            ``resolve_customer`` found or started loading in this render (after an action the
            host renders with the customer it already has, and the memo starts empty).
        ticket: the ticket, with only this integration's Custom Data block.
        customer: what ``resolve_customer`` returned (``None``: no match).

    Returns:
        A :class:`~megadesk_core.panel.Panel` made of blocks from the panel schema. The host
        runs it under a deadline; an exception or a timeout becomes an error panel for this
        integration alone.

    Example::

        @hookimpl
        def sidebar_panel(context, ticket, customer):
            if customer is None:
                return Panel(title="Acme", status="empty",
                             blocks=[NoticeBlock(title="No Acme contact for this email")])
            return Panel(title="Acme", verified=customer.verified, blocks=[
                KeyValueBlock(items=[KeyValueItem(label="Contact", value=customer.label)])])
    """


@hookspec(firstresult=True)
@hook_contract(may_be_async=False)
def actions() -> list[ActionSpec]:  # type: ignore[empty-body]
    """Declare the actions agents can run. Called once at start-up; may not be async.

    Returns:
        A list of :class:`~megadesk_core.types.ActionSpec`, each with a payload model
        (a subclass of :class:`~megadesk_core.types.ActionPayload`), a confirmation text, a
        danger flag, whether it needs a verified customer (the host enforces that) and its
        ``handler``: the function that runs it, called like ``run_action`` (with the arguments
        it names of ``context``, ``ticket``, ``customer``, ``payload``, ``idempotency_key``,
        ``principal``;
        ``payload`` already an instance of the action's model). An action without a handler
        goes to the ``run_action`` hook.

    Example::

        class NotePayload(ActionPayload):
            text: str

        async def add_note(context: AcmeContext, customer, payload: NotePayload, idempotency_key):
            note = await acme_client(context).add_note(customer.id, payload.text,
                                                       idempotency_key=idempotency_key)
            return ActionResult(message="Note added", target=payload.target, reference=note.id)

        @hookimpl
        def actions():
            return [ActionSpec(name="add_note", title="Add a note", payload_model=NotePayload,
                               confirmation="Add this note to the contact?",
                               requires_verified_customer=False, handler=add_note)]
    """


@hookspec(firstresult=True)
@hook_contract()
def run_action(  # type: ignore[empty-body]
    context: IntegrationContext,
    ticket: TicketContext,
    customer: ResolvedCustomer,
    action: str,
    payload: ActionPayload,
    idempotency_key: str,
    principal: ActingPrincipal | None,
    earlier_attempt_unknown: bool,
) -> ActionResult | Awaitable[ActionResult]:
    """Run one declared action that has no ``handler`` of its own (most plugins give each action
    a handler instead; see ``actions``). Called only after the host checked the agent's role,
    validated ``payload`` against the action's model and, for actions that need it, that the
    customer is verified or the agent confirmed their identity.

    Args:
        context: the tenant's settings for this integration.
        ticket: the ticket the agent acts from.
        customer: the customer resolved for this ticket. Check that ``payload.target``
            belongs to it and raise :class:`~megadesk_core.errors.ActionRefusedError` if not.
        action: the action's name.
        payload: an instance of the action's payload model.
        idempotency_key: 64 hex characters, the same for every retry of the request (derived
            from the tenant and the agent's ``Idempotency-Key``); pass it, or a key made from it
            and the operation, to upstream writes so that a retry never acts twice.
        principal: who runs the action (:class:`~megadesk_core.types.ActingPrincipal`: the
            token's name and id, ``role`` ``"agent"`` or ``"admin"``), for limits that depend on
            the role (enforce them here, server-side) and for saying who acted. Optional:
            ``None`` from a host that does not pass it; treat that as an agent.
        earlier_attempt_unknown: ``True`` when an earlier attempt with this key ended without
            anyone knowing whether upstream acted (its process died, or it timed out): look
            upstream for that attempt's write (as ``recover_action`` does) before writing again.

    Returns:
        An :class:`~megadesk_core.types.ActionResult`; raise an
        :class:`~megadesk_core.errors.IntegrationError` subclass to refuse or fail.

    Example::

        @hookimpl
        async def run_action(context, customer, action, payload, idempotency_key):
            note = await acme_client(context).add_note(customer.id, payload.text,
                                                       idempotency_key=idempotency_key)
            return ActionResult(message="Note added", target=payload.target, reference=note.id)
    """


@hookspec(firstresult=True)
@hook_contract()
def recover_action(
    context: IntegrationContext,
    ticket: TicketContext,
    customer: ResolvedCustomer | None,
    action: str,
    payload: ActionPayload,
    idempotency_key: str,
) -> RecoveredAction | Awaitable[RecoveredAction] | None:
    """Find out, read-only, whether an attempt of an action whose outcome was lost reached
    upstream. Optional. The host calls it for attempts left pending by a process that died, or
    that timed out, at start-up, periodically and on ``megadesk recover``. It must never write
    upstream: look for what the attempt's write would have left (e.g. a record tagged with a
    value derived from ``idempotency_key``).

    Args:
        context: the tenant's settings for this integration (``purpose`` is ``"action"``).
        ticket: the ticket the attempt was made from, with the agent's selection.
        customer: the customer the attempt resolved (``id`` only, ``verified=False``), or
            ``None`` when it died before resolving one.
        action: the action's name.
        payload: the attempt's payload, an instance of the action's model.
        idempotency_key: the same key ``run_action`` received for the attempt.

    Returns:
        A :class:`~megadesk_core.types.RecoveredAction`: ``succeeded`` with the
        :class:`~megadesk_core.types.ActionResult` the attempt would have returned,
        ``not_found`` when upstream certainly has no trace of it, ``unknown`` when it cannot
        tell now. Without this hook (``None``), such attempts stay ``unknown`` until an agent
        retries them (``run_action`` then gets ``earlier_attempt_unknown=True``).

    Example::

        @hookimpl
        async def recover_action(context, action, payload, idempotency_key):
            note = await acme_client(context).find_note(tag=idempotency_key)
            if note is None:
                return RecoveredAction(outcome="not_found")
            result = ActionResult(message="Note added", target=payload.target, reference=note.id)
            return RecoveredAction(outcome="succeeded", result=result)
    """


@hookspec(firstresult=True)
@hook_contract()
def webhook(
    context: IntegrationContext, body: bytes, headers: Mapping[str, str]
) -> WebhookResult | Awaitable[WebhookResult | None] | None:
    """Read one delivery to the integration's webhook endpoint and say which upstream objects
    changed. Optional: an integration without it has no endpoint.

    The host receives the delivery at the tenant's unguessable URL (shown to the admin with the
    settings), refuses it if it is too large or the tenant sends too many, and calls this hook
    with the raw bytes, before any parsing. Verify the signature with the tenant's signing
    secret (a ``SecretStr`` setting) over exactly these bytes, and make no upstream call: the
    event says what changed. The host then ignores an ``event_id`` it has seen, refuses an event
    older than its tolerance, drops the kept panels whose ``Panel.objects`` include a changed id
    and tells the agents' open sidebars.

    Args:
        context: the tenant's settings for this integration (``context.memo`` is empty).
        body: the request body as received.
        headers: the request headers, names in lower case.

    Returns:
        A :class:`~megadesk_core.types.WebhookResult`, or ``None`` for a delivery that changes
        nothing shown. Raise :class:`~megadesk_core.errors.WebhookRejectedError` for a bad
        signature or body: the sender gets a 400 and the host logs it, never the body.

    Example::

        @hookimpl
        def webhook(context, body, headers):
            secret = context.settings.signing_secret
            if secret is None or not acme_signature_ok(secret.get_secret_value(), body, headers):
                raise WebhookRejectedError("The signature does not match.")
            event = json.loads(body)
            return WebhookResult(event_id=event["id"], changed=[event["contact_id"]],
                                 occurred_at=datetime.fromtimestamp(event["sent_at"], UTC))
    """


@hookspec
@hook_contract()
def shutdown() -> Awaitable[None] | None:
    """Release what the plugin holds (HTTP clients, pools) when the app stops.

    Example::

        @hookimpl
        async def shutdown():
            await _clients.aclose()
    """


def hook_contracts() -> dict[str, HookContract]:
    """Each hook's declared contract, by hook name, in the order this module defines them."""
    specs = [value for value in globals().values() if callable(value) and hasattr(value, CONTRACT_ATTRIBUTE)]
    specs.sort(key=lambda spec: spec.__code__.co_firstlineno)
    return {spec.__name__: getattr(spec, CONTRACT_ATTRIBUTE) for spec in specs}
