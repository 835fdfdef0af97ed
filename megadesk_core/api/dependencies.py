"""Dependencies: the host state, a database session, and the authenticated caller by role."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.api.state import HostState
from megadesk_core.errors import RequestError
from megadesk_core.observability.context import bind_tenant
from megadesk_core.services.tenants import Principal, Role, authenticate


def provide_host(state: State) -> HostState:
    host: NamedDependency[HostState] = state.host
    return host


async def provide_db_session(host: NamedDependency[HostState]) -> AsyncGenerator[AsyncSession, None]:
    async with host.database.session() as session:
        yield session


async def provide_principal(request: Request[Any, Any, Any], host: NamedDependency[HostState]) -> Principal:
    # Its own short read, no request session: when this raises (401), Litestar does not clean up
    # dependencies already resolved, so a shared request session would stay checked out.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    principal = None
    if scheme.lower() == "bearer":
        principal = host.tokens.get(token)
        if principal is None:
            principal = await authenticate(host.database, token)
            if principal is not None:
                host.tokens.put(token, principal)
    if principal is None:
        raise RequestError(
            401,
            "unauthenticated",
            "A valid API token is required: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="megadesk"'},
        )
    bind_tenant(principal.tenant_slug)  # for this request's log lines and metrics
    return principal


def provide_agent(principal: NamedDependency[Principal]) -> Principal:
    if not principal.may(Role.AGENT):
        raise RequestError(403, "forbidden", "This token's role may not do that.")
    return principal


def provide_admin(principal: NamedDependency[Principal]) -> Principal:
    if not principal.may(Role.ADMIN):
        raise RequestError(403, "forbidden", "Only an admin token may do that.")
    return principal


DEPENDENCIES = {
    "host": Provide(provide_host, sync_to_thread=False),
    "db_session": Provide(provide_db_session),
    "principal": Provide(provide_principal),
    "agent": Provide(provide_agent, sync_to_thread=False),
    "admin": Provide(provide_admin, sync_to_thread=False),
}
