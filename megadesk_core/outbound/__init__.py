"""The host's outbound HTTP layer: every upstream call a plugin makes, in one place.

A plugin calls its API through the layer the host hands it, labelled with the tenant and the
integration (``context.http``, an :class:`IntegrationHTTP`)::

    async with context.http.client(base_url=settings.base_url, headers={...}) as client:
        response = await client.get("customers", params={"email": email})

or, in ``check_settings`` (which has no context), ``process_http("acme").client(...)``. What
the layer does for every request:

* refuses the server's own network (SSRF): private, loopback, link-local, shared, reserved,
  multicast and unspecified addresses, ``localhost``, URLs httpx cannot read, and plain http,
  unless the operator allows private hosts; resolves each host name itself and connects to the
  address it checked (:mod:`~megadesk_core.outbound.pinning`); follows no redirect unless asked,
  and checks every hop it follows;
* keeps each request within the host's panel or action deadline (a plugin may ask for less);
* sends ``User-Agent: megadesk/<version> (+<integration>)``;
* retries idempotent requests (GET, HEAD, OPTIONS, or with an ``Idempotency-Key``) on
  connection errors, 502/503/504 and 429 with a short ``Retry-After``
  (:mod:`~megadesk_core.outbound.retries`);
* reports every attempt to the host's observers (:class:`OutboundObserver`), which count,
  budget and trace calls per tenant and upstream.

A refused request raises :class:`OutboundRefusedError` before anything is sent; a name that
does not resolve raises :class:`HostUnresolvedError` (an ``httpx.ConnectError``).
"""

from __future__ import annotations

from megadesk_core.outbound.addresses import (
    IPAddress,
    Resolver,
    address_problem,
    host_problem,
    literal_address,
    resolve,
)
from megadesk_core.outbound.client import GuardedAsyncClient, IntegrationHTTP, OutboundHTTP, Purpose
from megadesk_core.outbound.errors import HostUnresolvedError, OutboundRefusedError, RefusalKind
from megadesk_core.outbound.observer import CallCounter, OutboundCall, OutboundObserver, path_template
from megadesk_core.outbound.policy import OutboundPolicy, check_url, origin_of, url_problem, user_agent
from megadesk_core.outbound.process import install, process_http, process_outbound

__all__ = [
    "CallCounter",
    "GuardedAsyncClient",
    "HostUnresolvedError",
    "IPAddress",
    "IntegrationHTTP",
    "OutboundCall",
    "OutboundHTTP",
    "OutboundObserver",
    "OutboundPolicy",
    "OutboundRefusedError",
    "Purpose",
    "RefusalKind",
    "Resolver",
    "address_problem",
    "check_url",
    "host_problem",
    "install",
    "literal_address",
    "origin_of",
    "path_template",
    "process_http",
    "process_outbound",
    "resolve",
    "url_problem",
    "user_agent",
]
