"""The warm sidebar's one read, on SQLite through the quick reader: the same values SQLAlchemy
gives (they are part of every panel's cache key), and the pool when the reader cannot read."""

from __future__ import annotations

import sqlite3

from megadesk_core.db.engine import Database
from megadesk_core.services.sidebar_state import _SIDEBAR_STATE, sidebar_state
from megadesk_core.services.tenants import get_tenant_by_slug


async def _tenant_id(database: Database, slug: str) -> str:
    async with database.session() as session:
        tenant = await get_tenant_by_slug(session, slug)
    assert tenant is not None
    return tenant.id


async def _rows_through_sqlalchemy(database: Database, params: dict[str, str]) -> list[tuple[object, ...]]:
    async with database.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(_SIDEBAR_STATE, params)]


async def test_the_quick_read_gives_what_sqlalchemy_gives(megadesk_tenant, megadesk_app):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": "sample-secret-token"})
    await acme.upsert_ticket("T-1", email="pat@example.com")
    database: Database = megadesk_app.state.host.database
    tenant_id = await _tenant_id(database, "acme")
    params = {"tenant_id": tenant_id, "external_id": "T-1"}
    quick = await database.quick_read(_SIDEBAR_STATE, params)
    assert quick == await _rows_through_sqlalchemy(database, params)
    assert len(quick) == 1 and quick[0][1] == "sample"
    state = await sidebar_state(database, tenant_id, "T-1")
    assert state is not None and [name for name, _ in state.installations] == ["sample"]
    assert await sidebar_state(database, tenant_id, "T-404") is None
    assert await sidebar_state(database, "another-tenant", "T-1") is None


async def test_a_locked_database_falls_back_to_the_pool(megadesk_tenant, megadesk_app, monkeypatch, caplog):
    acme = await megadesk_tenant("acme")
    await acme.upsert_ticket("T-1", email="pat@example.com")
    database: Database = megadesk_app.state.host.database
    tenant_id = await _tenant_id(database, "acme")
    reader = database._quick_reader
    if reader is None:  # PostgreSQL: always the pool
        assert await sidebar_state(database, tenant_id, "T-1") is not None
        return

    def locked(*args: object) -> list[tuple[object, ...]]:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(reader, "read", locked)
    state = await sidebar_state(database, tenant_id, "T-1")
    assert state is not None and state.installations == ()
    assert "quick read fell back to the pool: database is locked" in caplog.text
