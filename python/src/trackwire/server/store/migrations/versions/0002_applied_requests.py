"""Idempotency keys of applied logging requests.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "applied_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("applied_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_applied_requests_time", "applied_requests", ["applied_time"])


def downgrade() -> None:
    op.drop_table("applied_requests")
