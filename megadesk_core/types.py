"""Typed, frozen objects that cross the boundary between the host and its plugins.

Plugins receive :class:`IntegrationContext`, :class:`TicketContext` and
:class:`ResolvedCustomer`, and return :class:`IntegrationManifest`, :class:`ResolvedCustomer`,
:class:`~megadesk_core.panel.Panel`, :class:`ActionSpec`, :class:`ActionResult` and
:class:`SettingsCheck`. The host validates what plugins return before using it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Generic, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypeVar

from megadesk_core.memo import RenderMemo
from megadesk_core.outbound import IntegrationHTTP, process_http
from megadesk_core.panel import (
    PANEL_SCHEMA_VERSION,
    ActionButton,
    ActionsBlock,
    Badge,
    BadgesBlock,
    Block,
    ChoiceBlock,
    ChoiceOption,
    KeyValueBlock,
    KeyValueItem,
    Link,
    LinksBlock,
    NoticeBlock,
    Panel,
    TableBlock,
    TableCell,
    TableColumn,
    TablePage,
    TableRow,
)

HOOK_API_VERSION = 1
"""The version of the hook API this host implements; a plugin declares the one it targets."""
MIN_HOOK_API_VERSION = 1
"""The oldest hook API version this host still calls correctly: a plugin built for any version
from this one to :data:`HOOK_API_VERSION` loads (hooks only gain optional arguments within a
version, so a plugin built one version older keeps working for as long as this range holds it)."""

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,38}$")
"""Integration and action names; at most 39 characters, so "<integration>.<action>" fits the audit log."""

__all__ = [
    "HOOK_API_VERSION",
    "MIN_HOOK_API_VERSION",
    "PANEL_SCHEMA_VERSION",
    "ActingPrincipal",
    "ActionButton",
    "ActionHandler",
    "ActionPayload",
    "ActionResult",
    "ActionSpec",
    "ActionsBlock",
    "Badge",
    "BadgesBlock",
    "Block",
    "ChoiceBlock",
    "ChoiceOption",
    "CustomerCandidate",
    "HookPurpose",
    "IntegrationContext",
    "IntegrationManifest",
    "KeyValueBlock",
    "KeyValueItem",
    "Link",
    "LinksBlock",
    "NoticeBlock",
    "Panel",
    "RecoveredAction",
    "RenderMemo",
    "ResolvedCustomer",
    "SettingsCheck",
    "TableBlock",
    "TableCell",
    "TableColumn",
    "TablePage",
    "TableRow",
    "TicketContext",
    "UnavailableFeature",
    "WebhookResult",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class IntegrationManifest:
    """What an integration is: returned by the ``manifest`` hook.

    ``name`` is the stable key (lower-case slug) used in URLs, settings rows and the ticket's
    Custom Data (``integrations.<name>``). ``settings_model`` is the per-tenant settings; mark
    secret fields ``SecretStr`` and the host encrypts them. ``options_model`` is optional
    process-level configuration (from ``MEGADESK_PLUGIN_OPTIONS``), never set by a tenant.
    """

    name: str
    title: str
    settings_model: type[BaseModel]
    description: str = ""
    options_model: type[BaseModel] | None = None
    hook_api_version: int = HOOK_API_VERSION
    panel_schema_version: int = PANEL_SCHEMA_VERSION
    features: tuple[str, ...] = field(default=())


class UnavailableFeature(_Frozen):
    feature: str
    reason: str


class SettingsCheck(_Frozen):
    """What the ``check_settings`` hook found out about a tenant's settings when saved."""

    warnings: list[str] = Field(default_factory=list)
    unavailable_features: list[UnavailableFeature] = Field(default_factory=list)

    def unavailable_reason(self, feature: str | None) -> str | None:
        """Why ``feature`` cannot work with these settings, or ``None`` if nothing says so."""
        return next((item.reason for item in self.unavailable_features if item.feature == feature), None)


HookPurpose = Literal["panel", "action"]
"""Why the host calls ``resolve_customer``: to draw the panel (``sidebar_panel`` follows) or to
run an action (``run_action`` follows)."""


SettingsT = TypeVar("SettingsT", bound=BaseModel, default=BaseModel, covariant=True)
OptionsT = TypeVar("OptionsT", bound=BaseModel | None, default=BaseModel | None, covariant=True)


@dataclass(frozen=True)
class IntegrationContext(Generic[SettingsT, OptionsT]):
    """One integration bound to one tenant for one render or one action: its decrypted
    settings and process options, why the host is calling, and the memo the hook calls of
    this render share (:class:`~megadesk_core.memo.RenderMemo`).

    Generic in the settings and options models, so a plugin annotates
    ``context: IntegrationContext[AcmeSettings, AcmeOptions]`` and reads ``context.settings``
    without a cast: the host builds ``settings`` with the manifest's ``settings_model`` and
    ``options`` with its ``options_model`` (its defaults when the operator set none; ``None``
    only for a plugin that declares no options model). A bare ``IntegrationContext`` still means
    "some settings model"."""

    tenant_id: str
    integration: str
    settings: SettingsT
    options: OptionsT | None = None
    settings_check: SettingsCheck | None = None
    purpose: HookPurpose = "panel"
    memo: RenderMemo = field(default_factory=RenderMemo)
    http: IntegrationHTTP = None  # type: ignore[assignment]  # filled in by __post_init__
    """The host's outbound HTTP layer for this tenant and integration
    (:mod:`megadesk_core.outbound`): call upstream APIs through it."""

    def __post_init__(self) -> None:
        # A context built without the host (tests, tools) still gets the guarded layer,
        # labelled with its own tenant and integration.
        if self.http is None:
            object.__setattr__(
                self, "http", process_http(self.integration, tenant_id=self.tenant_id, purpose=self.purpose)
            )


class TicketContext(_Frozen):
    """The ticket an agent has open, as one integration sees it.

    ``custom_data`` is only this integration's block of the ticket's Custom Data
    (``custom_data["integrations"][<name>]``), or ``{}``. ``selection`` is the agent's
    choice from a :class:`~megadesk_core.panel.ChoiceBlock`, if any. ``page`` is the cursor of
    a table's next page the agent asked for (a ``TableBlock.next_page.cursor`` this plugin
    drew), or ``None``: draw that table's rows from there on. It comes from the agent's browser:
    check it like any input.
    """

    ticket_id: str
    requester_email: str | None = None
    subject: str | None = None
    custom_data: dict[str, Any] = Field(default_factory=dict)
    selection: str | None = None
    page: str | None = None


class CustomerCandidate(_Frozen):
    id: str
    label: str
    description: str | None = None


class ResolvedCustomer(_Frozen):
    """The external record a ticket is about.

    ``verified`` is ``True`` only when the ticket itself named the record (Custom Data);
    a match by email is ``False``. ``alternatives`` are the other records that matched too.
    """

    id: str
    verified: bool
    label: str | None = None
    matched_by: str = "custom_data"
    alternatives: list[CustomerCandidate] = Field(default_factory=list)


class ActingPrincipal(_Frozen):
    """Who runs an action: the API token's name and id and its role in the tenant. The host
    passes it to action handlers (and ``run_action``) that name a ``principal`` argument, so an
    action can allow more to an admin than to an agent, and say who acted."""

    name: str
    role: Literal["agent", "admin"]
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class WebhookResult(_Frozen):
    """What the ``webhook`` hook found in one verified delivery."""

    event_id: str = Field(min_length=1, max_length=255)
    """The upstream's id of the event: a second delivery of the same id is ignored."""
    changed: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(default_factory=list, max_length=500)
    """The ids of the upstream objects that changed (matched against ``Panel.objects``)."""
    occurred_at: datetime | None = None
    """When the upstream sent or signed the event; the host refuses one older than its
    tolerance (a replay). ``None``: the plugin checked freshness itself."""


class ActionPayload(BaseModel):
    """Base of every action's payload model. Actions subclass it and add their own fields."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=255, description="Id of the object the action applies to.")
    identity_confirmed: bool = Field(
        default=False,
        description="The agent confirmed the customer's identity. Required when the customer "
        "match is not verified and the action needs a verified customer.",
    )


ActionHandler = Callable[..., "ActionResult | Awaitable[ActionResult]"]
"""Runs one action: called like the ``run_action`` hook, with the arguments it names of
``context``, ``ticket``, ``customer``, ``payload``, ``idempotency_key``, ``principal`` and
``earlier_attempt_unknown``."""


@dataclass(frozen=True)
class ActionSpec:
    """An action an agent can run from the sidebar, returned by the ``actions`` hook."""

    name: str
    title: str
    payload_model: type[ActionPayload]
    confirmation: str
    description: str = ""
    danger: bool = False
    requires_verified_customer: bool = True
    feature: str | None = None
    """Name of a manifest feature this action needs. When the tenant's settings check lists it
    as unavailable, the host refuses the action (424, with the check's reason) without calling
    the plugin, and the action's declaration carries that reason."""
    handler: ActionHandler | None = None
    """The function that runs this action (sync or ``async``). Without one, the host calls the
    plugin's ``run_action`` hook with the action's name."""


class ActionResult(_Frozen):
    """What a successful action returns; failures are raised as ``IntegrationError``."""

    message: str
    target: str
    reference: str | None = None
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class RecoveredAction(_Frozen):
    """What ``recover_action`` found out, read-only, about an attempt whose outcome was lost.

    ``succeeded``: upstream shows the attempt's write (``result`` says what it did);
    ``not_found``: it certainly never happened (the key may act anew); ``unknown``: cannot tell
    now (upstream unreachable, ...); the host asks again later."""

    outcome: Literal["succeeded", "not_found", "unknown"]
    result: ActionResult | None = None
    detail: str | None = None

    @model_validator(mode="after")
    def _result_with_success(self) -> RecoveredAction:
        if (self.outcome == "succeeded") != (self.result is not None):
            raise ValueError("a result comes with outcome 'succeeded', and only with it")
        return self
