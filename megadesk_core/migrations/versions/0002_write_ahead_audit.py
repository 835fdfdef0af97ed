"""write-ahead audit: the action's full audit row, claims with an owner and a heartbeat

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column("amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("audit_entry_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_column("audit_entry_id")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("owner")

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
        batch_op.drop_column("reference")
        batch_op.drop_column("request")
        batch_op.drop_column("currency")
        batch_op.drop_column("amount")
        batch_op.drop_column("customer_id")
