"""Tenants and their API tokens. Tokens are shown once and stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.engine import Database
from megadesk_core.db.models import ApiToken, Tenant, utcnow
from megadesk_core.keyring import random_token

TOKEN_PREFIX = "mdk_"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token, its tenant and its role."""

    tenant_id: str
    tenant_slug: str
    token_id: str | None
    name: str
    role: Role

    def may(self, role: Role) -> bool:
        return self.role is Role.ADMIN or self.role is role


def hash_token(token: str) -> str:
    # Tokens are 192 random bits: a plain SHA-256 is enough (no dictionary to defend against).
    return hashlib.sha256(token.encode()).hexdigest()


class TenantError(ValueError):
    pass


async def create_tenant(session: AsyncSession, slug: str, name: str | None = None) -> Tenant:
    if not _SLUG.match(slug):
        raise TenantError("a tenant slug is lower-case letters, digits and dashes, at most 63 characters")
    existing = (await session.exec(select(Tenant).where(Tenant.slug == slug))).first()
    if existing is not None:
        raise TenantError(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug)
    session.add(tenant)
    await session.commit()
    return tenant


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.exec(select(Tenant).where(Tenant.slug == slug))).first()


async def create_token(session: AsyncSession, tenant: Tenant, role: Role, name: str) -> str:
    """Create a token and return it in clear: the only time it is ever visible."""
    token = random_token(TOKEN_PREFIX)
    session.add(ApiToken(tenant_id=tenant.id, name=name, role=role.value, token_hash=hash_token(token)))
    await session.commit()
    return token


async def list_tokens(session: AsyncSession, tenant: Tenant) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(col(ApiToken.created_at))
    return list((await session.exec(query)).all())


async def revoke_token(session: AsyncSession, tenant: Tenant, token_id: str) -> bool:
    """Revoke one of the tenant's tokens; ``False`` if it has no such (active) token."""
    token = (
        await session.exec(
            select(ApiToken).where(
                ApiToken.id == token_id, ApiToken.tenant_id == tenant.id, col(ApiToken.revoked_at).is_(None)
            )
        )
    ).first()
    if token is None:
        return False
    token.revoked_at = utcnow()
    session.add(token)
    await session.commit()
    return True


_token = ApiToken.__table__  # type: ignore[attr-defined]
_tenant = Tenant.__table__  # type: ignore[attr-defined]
_LIVE_TOKEN = (
    sa.select(_token.c.id, _token.c.name, _token.c.role, _tenant.c.id, _tenant.c.slug)
    .select_from(_token.join(_tenant, _tenant.c.id == _token.c.tenant_id))
    .where(_token.c.token_hash == bindparam("token_hash"), _token.c.revoked_at.is_(None))
)
"""Built once with a bound parameter, and only the columns a principal needs: every request
that misses the token cache runs it, as a quick read (:meth:`Database.quick_read`)."""


async def authenticate(database: Database, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    rows = await database.quick_read(_LIVE_TOKEN, {"token_hash": hash_token(token)})
    if not rows:
        return None
    token_id, name, role, tenant_id, tenant_slug = rows[0]
    return Principal(tenant_id=tenant_id, tenant_slug=tenant_slug, token_id=token_id, name=name, role=Role(role))
