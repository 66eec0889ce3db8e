"""Create the webhook table.

Revision ID: wt0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wt0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_trigger_webhook",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("auth_username", sa.String(128), nullable=True),
        sa.Column("auth_password_hash", sa.String(256), nullable=True),
        sa.Column("auth_password_env", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_trigger_webhook_dag_id", "webhook_trigger_webhook", ["dag_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_trigger_webhook_dag_id", table_name="webhook_trigger_webhook")
    op.drop_table("webhook_trigger_webhook")
