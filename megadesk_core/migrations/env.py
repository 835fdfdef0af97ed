"""Alembic environment: run by ``megadesk migrate`` through megadesk_core.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from megadesk_core.db import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
