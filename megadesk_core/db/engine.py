"""Engines and sessions. The app uses the async engine; migrations and the CLI the sync one."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.db.sqlite_reads import SQLiteQuickReader
from megadesk_core.settings import Settings

log = logging.getLogger(__name__)

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=drivers[backend])


def _prepare_sqlite_file(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def make_sync_engine(database_url: str) -> Engine:
    url = _with_driver(database_url, _SYNC_DRIVERS)
    _prepare_sqlite_file(url)
    engine = create_engine(url)
    if url.get_backend_name() == "sqlite":
        _sqlite_pragmas(engine)
    return engine


@dataclass(frozen=True)
class PoolLimits:
    """How many pooled connections one process opens: ``size`` kept, ``overflow`` more under
    load, and how long a request waits for one before it fails."""

    size: int = 5
    overflow: int = 10
    timeout_seconds: float = 30.0


def make_async_engine(database_url: str, pool: PoolLimits | None = None) -> AsyncEngine:
    url = _with_driver(database_url, _ASYNC_DRIVERS)
    _prepare_sqlite_file(url)
    pool = pool or PoolLimits()
    engine = create_async_engine(
        url,
        pool_pre_ping=url.get_backend_name() != "sqlite",
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout_seconds,
    )
    if url.get_backend_name() == "sqlite":
        _sqlite_pragmas(engine.sync_engine)
    return engine


class Database:
    """The async engine and a session factory, owned by one app; on SQLite also a quick reader
    for the warm sidebar's one short read (:mod:`megadesk_core.db.sqlite_reads`)."""

    def __init__(self, database_url: str, pool: PoolLimits | None = None) -> None:
        self.url = database_url
        self.engine = make_async_engine(database_url, pool)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        url = make_url(database_url)
        self._quick_reader = (
            SQLiteQuickReader(url.database)
            if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:"
            else None
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @classmethod
    def for_settings(cls, settings: Settings) -> Database:
        pool = PoolLimits(
            size=settings.database_pool_size,
            overflow=settings.database_max_overflow,
            timeout_seconds=settings.database_pool_timeout_seconds,
        )
        return cls(settings.resolved_database_url(), pool)

    async def quick_read(self, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of one short, indexed read: on SQLite on the event loop itself (a locked
        database falls back to the pool), elsewhere through the pool."""
        if self._quick_reader is not None:
            try:
                return self._quick_reader.read(statement, params)
            except sqlite3.OperationalError as exc:
                log.info("quick read fell back to the pool: %s", exc)
        async with self.engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(statement, params)]

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._quick_reader is not None:
            self._quick_reader.close()
