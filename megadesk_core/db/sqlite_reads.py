"""Short reads on SQLite, run on the event loop with the standard library's ``sqlite3``.

The warm sidebar needs one indexed read of a few rows. Through aiosqlite every step of it goes
to a thread and back; through SQLAlchemy's execution machinery it cost about 0.3 ms of CPU, as
much as the rest of the request. :class:`SQLiteQuickReader` compiles a SQLAlchemy ``select`` once
with the SQLite dialect, keeps its SQL, the order of its parameters and each column's result
processor (how SQLAlchemy turns a stored value into a ``datetime``, say), and runs it on one
autocommit ``sqlite3`` connection of its own. In WAL mode writers never block readers; a read
that still finds the database locked gives up after ``busy_timeout_ms`` and the caller reads
through the pool instead (:meth:`megadesk_core.db.engine.Database.quick_read`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects import sqlite

_DIALECT = sqlite.dialect()


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]


class SQLiteQuickReader:
    """One ``sqlite3`` connection for short reads, used from the event loop's thread only."""

    def __init__(self, path: str, *, busy_timeout_ms: int = 100) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._connection: sqlite3.Connection | None = None
        self._plans: dict[int, tuple[Select[Any], _Plan]] = {}

    def read(self, statement: Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows, with the values SQLAlchemy would give; raises ``sqlite3.OperationalError``
        when the database stays locked."""
        plan = self._plan(statement)
        cursor = self._connect().execute(plan.sql, [params[name] for name in plan.params])
        return [
            tuple(
                value if process is None else process(value)
                for process, value in zip(plan.processors, row, strict=True)
            )
            for row in cursor.fetchall()
        ]

    def _plan(self, statement: Select[Any]) -> _Plan:
        known = self._plans.get(id(statement))
        if known is not None and known[0] is statement:
            return known[1]
        compiled = statement.compile(dialect=_DIALECT)
        plan = _Plan(
            sql=str(compiled),
            params=tuple(compiled.positiontup or ()),
            processors=tuple(
                column.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
                for column in statement.selected_columns
            ),
        )
        self._plans[id(statement)] = (statement, plan)
        return plan

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # Autocommit: a read takes no transaction of its own to end. Loop thread only.
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            connection.execute("PRAGMA query_only=ON")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
