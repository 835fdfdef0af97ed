"""What the outbound layer raises instead of sending a request.

Both are ``httpx`` request errors, so a plugin that only handles ``httpx.HTTPError`` still
turns them into "the upstream cannot be reached" rather than a crash; a plugin that knows
better catches :class:`OutboundRefusedError` first and names the setting to change.
Messages name the upstream's origin and the reason, never a header or a key.
"""

from __future__ import annotations

from typing import Literal

import httpx

RefusalKind = Literal["unparseable", "scheme", "host", "resolves"]


class OutboundRefusedError(httpx.RequestError):
    """The host refused to send a request there: nothing left the process.

    ``kind`` says why: ``unparseable`` (the URL or its host cannot be read as one), ``scheme``
    (not https), ``host`` (the name or literal address is on the server's own network),
    ``resolves`` (the name resolves to such an address: ``address``). ``problem`` is the reason
    in a few words (``"127.0.0.1, a loopback address (this server)"``), for a plugin to put in
    its own message about the setting an admin should change.
    """

    def __init__(
        self,
        problem: str,
        *,
        kind: RefusalKind,
        target: str,
        address: str | None = None,
        request: httpx.Request | None = None,
    ) -> None:
        self.problem = problem
        self.kind: RefusalKind = kind
        self.target = target
        self.address = address
        super().__init__(
            f"The request to {target} was not sent: {problem}. Requests into the server's own network are "
            "refused, and only https is used; point the integration at a public https URL (the operator may "
            "allow private hosts for development only).",
            request=request,
        )


class HostUnresolvedError(httpx.ConnectError):
    """The upstream's host name did not resolve (or not in time): it cannot be reached now."""

    def __init__(self, host: str, *, request: httpx.Request | None = None) -> None:
        self.host = host
        super().__init__(f"{host} cannot be reached: its host name does not resolve.", request=request)
