"""The objects plugins get: :class:`IntegrationHTTP` (one integration, one tenant) from
:class:`OutboundHTTP` (the host's, built once per app from the process settings)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from megadesk_core.outbound.addresses import Resolver
from megadesk_core.outbound.budget import RequestBudget, RequestBudgets
from megadesk_core.outbound.errors import OutboundRefusedError
from megadesk_core.outbound.observer import OutboundObserver
from megadesk_core.outbound.pinning import PinningTransport
from megadesk_core.outbound.policy import OutboundPolicy, check_url, url_problem, user_agent
from megadesk_core.outbound.transport import CallLabel, OutboundTransport

if TYPE_CHECKING:
    from megadesk_core.settings import Settings

Purpose = Literal["panel", "action", "settings"]


class GuardedAsyncClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose requests to a URL httpx cannot parse are a refusal
    (:class:`OutboundRefusedError`) like any other, rather than an ``httpx.InvalidURL`` crash."""

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        try:
            return super().build_request(method, url, **kwargs)
        except httpx.InvalidURL as exc:
            raise OutboundRefusedError(
                f"the URL cannot be used ({exc})", kind="unparseable", target=str(self.base_url) or "the URL"
            ) from None


@dataclass(frozen=True)
class IntegrationHTTP:
    """The host's outbound layer for one integration, labelled with the tenant it works for.

    Every client or transport it makes refuses the server's own network, pins connections to
    the addresses it checked, sends ``megadesk/<version> (+<integration>)`` as user agent,
    keeps each request within ``deadline_seconds`` (the host's panel or action deadline),
    retries idempotent requests on connection errors, 502/503/504 and short 429s, and reports
    every attempt to the host's observers.

    ``allow_private_hosts`` and ``trusted_origins`` widen the process policy; pass only what the
    operator configured (plugin options), never a tenant's settings.
    """

    outbound: OutboundHTTP
    integration: str
    tenant_id: str | None
    deadline_seconds: float

    @property
    def policy(self) -> OutboundPolicy:
        return self.outbound.policy

    @property
    def cache_key(self) -> str:
        """What tells two of these apart: a plugin caching clients keys them by this too."""
        return f"{id(self.outbound)}\0{self.integration}\0{self.tenant_id}\0{self.deadline_seconds}"

    def url_problem(
        self, url: str, *, allow_private_hosts: bool = False, trusted_origins: Iterable[str] = ()
    ) -> OutboundRefusedError | None:
        """Why a request to ``url`` would be refused without a lookup (for a settings check), or
        ``None``. Its host name is still resolved and checked before each request."""
        return url_problem(
            url, self.policy.widened(allow_private_hosts=allow_private_hosts, trusted_origins=tuple(trusted_origins))
        )

    def transport(
        self,
        *,
        retries: bool = True,
        allow_private_hosts: bool = False,
        trusted_origins: Iterable[str] = (),
        network: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        budget: RequestBudget | None = None,
    ) -> httpx.AsyncBaseTransport:
        """A transport for a client the plugin builds itself (or a library builds: the Stripe
        plugin's). ``retries=False`` when the library retries on its own. ``budget``: the
        upstream account's rate limit, kept per tenant (:mod:`~megadesk_core.outbound.budget`).
        ``network`` and ``resolver`` replace the network and the name resolution in tests."""
        policy = self.policy.widened(allow_private_hosts=allow_private_hosts, trusted_origins=tuple(trusted_origins))
        guard = PinningTransport(policy, network=network, resolver=resolver, resolve_timeout=self.deadline_seconds)
        label = CallLabel(
            integration=self.integration,
            tenant_id=self.tenant_id,
            user_agent=user_agent(self.integration),
            deadline_seconds=self.deadline_seconds,
            max_retries=policy.max_retries if retries else 0,
            budget=budget,
        )
        return OutboundTransport(guard, label, lambda: self.outbound.observers, lambda: self.outbound.budgets)

    def timeout(self, seconds: float | None = None) -> float:
        """The per-request timeout: the host's (``MEGADESK_OUTBOUND_TIMEOUT_SECONDS``) or the
        plugin's ``seconds``, and never more than the deadline."""
        return min(seconds if seconds is not None else self.policy.timeout_seconds, self.deadline_seconds)

    def client(
        self,
        *,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        follow_redirects: bool = False,
        retries: bool = True,
        allow_private_hosts: bool = False,
        trusted_origins: Iterable[str] = (),
        network: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        budget: RequestBudget | None = None,
    ) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` over :meth:`transport`; use it as ``async with``.

        Redirects are not followed unless asked (a followed redirect is checked like any
        request). A ``base_url`` that may not be called raises :class:`OutboundRefusedError`
        here, before any request.
        """
        origins = tuple(trusted_origins)
        if base_url:
            check_url(base_url, self.policy.widened(allow_private_hosts=allow_private_hosts, trusted_origins=origins))
        return GuardedAsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=self.timeout(timeout),
            follow_redirects=follow_redirects,
            transport=self.transport(
                retries=retries,
                allow_private_hosts=allow_private_hosts,
                trusted_origins=origins,
                network=network,
                resolver=resolver,
                budget=budget,
            ),
        )


@dataclass
class OutboundHTTP:
    """The host's outbound layer: the process policy, the deadlines and the observers.
    Built once per app (:meth:`from_settings`); :meth:`for_integration` labels it."""

    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    panel_deadline_seconds: float = 8.0
    action_deadline_seconds: float = 30.0
    observers: tuple[OutboundObserver, ...] = ()
    budgets: RequestBudgets | None = None
    """Request budgets per upstream account (none: no plugin's budget is enforced)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundHTTP:
        """From :class:`megadesk_core.settings.Settings` (its ``outbound_*`` and deadline fields)."""
        return cls(
            policy=OutboundPolicy(
                allow_private_hosts=settings.outbound_allow_private_hosts,
                timeout_seconds=settings.outbound_timeout_seconds,
                max_retries=settings.outbound_max_retries,
            ),
            panel_deadline_seconds=settings.panel_timeout_seconds,
            action_deadline_seconds=settings.action_timeout_seconds,
        )

    def add_observer(self, observer: OutboundObserver) -> None:
        """Report every upstream attempt to ``observer`` from now on (clients made before too)."""
        self.observers = (*self.observers, observer)

    def for_integration(
        self, integration: str, *, tenant_id: str | None = None, purpose: Purpose = "panel"
    ) -> IntegrationHTTP:
        deadline = self.action_deadline_seconds if purpose == "action" else self.panel_deadline_seconds
        return IntegrationHTTP(self, integration, tenant_id, deadline)
