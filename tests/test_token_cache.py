"""The short in-process token cache: a revoked token works for at most the documented delay."""

from __future__ import annotations

from megadesk_core.api.token_cache import TokenCache
from megadesk_core.services.tenants import Principal, Role, get_tenant_by_slug, revoke_token

PRINCIPAL = Principal(tenant_id="t-1", tenant_slug="acme", token_id="tok-1", name="sidebar", role=Role.AGENT)


def test_a_checked_token_is_trusted_for_the_configured_seconds_only():
    now = [0.0]
    cache = TokenCache(5, clock=lambda: now[0])
    cache.put("mdk_secret", PRINCIPAL)
    assert cache.get("mdk_secret") == PRINCIPAL and cache.get("mdk_other") is None
    now[0] = 5.1
    assert cache.get("mdk_secret") is None
    off = TokenCache(0)
    off.put("mdk_secret", PRINCIPAL)
    assert off.get("mdk_secret") is None


def test_the_cache_is_keyed_by_the_tokens_hash_never_the_token():
    cache = TokenCache(5)
    cache.put("mdk_secret", PRINCIPAL)
    assert "mdk_secret" not in repr(cache._principals)


async def test_with_the_cache_off_a_revoked_token_fails_at_once(megadesk_tenant, megadesk_app):
    host = megadesk_app.state.host
    host.tokens.__init__(0)  # MEGADESK_TOKEN_CACHE_SECONDS=0
    acme = await megadesk_tenant("acme")
    assert (await acme.client.get("/api/v1/tickets", headers=acme.agent_headers)).status_code == 200
    token = acme.agent_headers["Authorization"].removeprefix("Bearer ")
    async with host.database.session() as session:
        tenant = await get_tenant_by_slug(session, "acme")
        assert tenant is not None
        from megadesk_core.services.tenants import authenticate

        principal = await authenticate(host.database, token)
        assert principal is not None and principal.token_id is not None
        assert await revoke_token(session, tenant, principal.token_id)
    assert (await acme.client.get("/api/v1/tickets", headers=acme.agent_headers)).status_code == 401


async def test_with_the_cache_on_a_revoked_token_works_until_it_expires(megadesk_tenant, megadesk_app):
    host = megadesk_app.state.host
    now = [0.0]
    host.tokens.__init__(5, clock=lambda: now[0])
    acme = await megadesk_tenant("acme")
    assert (await acme.client.get("/api/v1/tickets", headers=acme.agent_headers)).status_code == 200
    token = acme.agent_headers["Authorization"].removeprefix("Bearer ")
    from megadesk_core.services.tenants import authenticate

    principal = await authenticate(host.database, token)
    assert principal is not None and principal.token_id is not None
    async with host.database.session() as session:
        tenant = await get_tenant_by_slug(session, "acme")
        assert tenant is not None
        assert await revoke_token(session, tenant, principal.token_id)
    assert (await acme.client.get("/api/v1/tickets", headers=acme.agent_headers)).status_code == 200  # the delay
    now[0] = 5.1
    assert (await acme.client.get("/api/v1/tickets", headers=acme.agent_headers)).status_code == 401
