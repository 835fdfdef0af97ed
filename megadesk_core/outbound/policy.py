"""The process's outbound policy, and the checks a URL must pass before anything is sent."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from importlib import metadata
from urllib.parse import urlsplit

import httpx

from megadesk_core.outbound.addresses import host_problem
from megadesk_core.outbound.errors import OutboundRefusedError

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class OutboundPolicy:
    """What every upstream call must respect. Built from the process settings
    (``MEGADESK_OUTBOUND_*``); plugins cannot loosen it except with the operator's own options.

    ``allow_private_hosts`` (development and tests only) lifts the network checks and allows
    plain http. ``trusted_origins`` are origins the operator configured outright (e.g. the
    Stripe plugin's ``api_base`` pointing at a local emulator): requests there skip the checks.
    """

    allow_private_hosts: bool = False
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    trusted_origins: frozenset[str] = field(default_factory=frozenset)

    def widened(self, *, allow_private_hosts: bool = False, trusted_origins: tuple[str, ...] = ()) -> OutboundPolicy:
        """This policy with the operator's per-integration allowances added (never narrowed)."""
        origins = self.trusted_origins | {origin_of(o) for o in trusted_origins if origin_of(o)}
        return replace(
            self, allow_private_hosts=self.allow_private_hosts or allow_private_hosts, trusted_origins=origins
        )


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (lower case, explicit port), or ``""`` if it has none."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return ""
    if not parsed.scheme or not parsed.host:
        return ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = parsed.raw_host.decode("ascii").lower()
    return f"{parsed.scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def check_url(url: str | httpx.URL, policy: OutboundPolicy) -> None:
    """Raise :class:`OutboundRefusedError` if ``policy`` forbids sending a request to ``url``.

    The host is judged as httpx would connect to it (its IDNA-encoded form), so a name httpx
    cannot encode (full-width letters) or an address it cannot read (``0177.0.0.1``) is a
    refusal here, not an exception later. Host names are resolved and checked separately, just
    before each request (:mod:`megadesk_core.outbound.pinning`).
    """
    target = str(url)
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except httpx.InvalidURL as exc:
        # Say the worse problem when there is one: 0177.0.0.1 is loopback (octal) to the resolver.
        problem = None if policy.allow_private_hosts else host_problem(_hostname(target))
        if problem is not None:
            raise OutboundRefusedError(problem, kind="host", target=_printable(target)) from None
        raise OutboundRefusedError(
            f"the URL cannot be used ({exc})", kind="unparseable", target=_printable(target)
        ) from None
    host = parsed.raw_host.decode("ascii").lower()
    origin = origin_of(str(parsed))
    target = origin or _printable(target)
    if parsed.scheme not in ("https", "http") or not host:
        raise OutboundRefusedError("it is not an http(s) URL with a host", kind="unparseable", target=target)
    if origin in policy.trusted_origins or policy.allow_private_hosts:
        return
    if (problem := host_problem(host)) is not None:
        raise OutboundRefusedError(problem, kind="host", target=target)
    if parsed.scheme != "https":
        raise OutboundRefusedError("it is not https", kind="scheme", target=target)


def url_problem(url: str, policy: OutboundPolicy) -> OutboundRefusedError | None:
    """The refusal :func:`check_url` would raise for ``url``, or ``None``."""
    try:
        check_url(url, policy)
    except OutboundRefusedError as refusal:
        return refusal
    return None


def _hostname(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _printable(url: str) -> str:
    # Enough to recognise the setting; never a query string (it may carry a customer's email)
    # nor a user name and password.
    return re.sub(r"//[^/@]*@", "//", url.split("?", 1)[0])[:200]


@functools.cache
def host_version() -> str:
    try:
        return metadata.version("megadesk-core")
    except metadata.PackageNotFoundError:
        return "0"


def user_agent(integration: str) -> str:
    """``megadesk/<version> (+<integration>)``: upstreams see which integration calls them."""
    return f"megadesk/{host_version()} (+{integration})"
