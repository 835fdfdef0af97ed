"""Which addresses are on the public internet, and what a host name resolves to.

A plugin's upstream URL is often entered by a tenant's admin. Without these checks any tenant
admin could make the server probe and read its own network: ``http://localhost:6379``, a
database on ``127.0.0.1``, a cloud metadata service on ``169.254.169.254``, another customer's
intranet. :func:`host_problem` refuses names and literal addresses without a lookup;
:func:`address_problem` refuses each address a name resolves to (:func:`resolve`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Resolves ``(host, port)`` to addresses; raises ``OSError`` when the name does not resolve."""

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NUMERIC_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.IGNORECASE)


def address_problem(address: IPAddress) -> str | None:
    """Why ``address`` is not on the public internet (``"a loopback address"``...), or ``None``."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 inside IPv6 reaches the IPv4 address: judge that one.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
    checks = [
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address (this server)"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    ]
    return next((reason for refused, reason in checks if refused), None)


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address, if it is one (without IPv6 brackets).

    Also the short and numeric IPv4 forms the system resolver accepts (``127.1``,
    ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``), which are addresses too, whatever they look like.
    """
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_problem(host: str) -> str | None:
    """Why ``host`` (a URL's host name, lower case) is refused without looking it up, or ``None``."""
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host}, this server"
    address = literal_address(name)
    if address is None:
        return None
    reason = address_problem(address)
    return f"{host}, {reason}" if reason else None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to, in the resolver's order, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found
