"""Add the delivery record, the delivery keys of exactly-once runs, and test captures.

Revision ID: wt0003
Revises: wt0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wt0003"
down_revision = "wt0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_trigger_delivery",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("dag_id", sa.String(250), nullable=True),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("delivery_key", sa.String(256), nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Column("replay_of", sa.String(32), nullable=True),
    )
    op.create_index("ix_webhook_trigger_delivery_received_at", "webhook_trigger_delivery", ["received_at"])
    op.create_index(
        "webhook_trigger_delivery_by_webhook", "webhook_trigger_delivery", ["webhook_id", "received_at"]
    )
    op.create_table(
        "webhook_trigger_delivery_key",
        sa.Column("webhook_id", sa.String(64), primary_key=True),
        sa.Column("key_sha256", sa.String(64), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_webhook_trigger_delivery_key_created_at", "webhook_trigger_delivery_key", ["created_at"]
    )
    op.create_table(
        "webhook_trigger_sample",
        sa.Column("webhook_id", sa.String(64), primary_key=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sample", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_trigger_sample")
    op.drop_index("ix_webhook_trigger_delivery_key_created_at", "webhook_trigger_delivery_key")
    op.drop_table("webhook_trigger_delivery_key")
    op.drop_index("webhook_trigger_delivery_by_webhook", "webhook_trigger_delivery")
    op.drop_index("ix_webhook_trigger_delivery_received_at", "webhook_trigger_delivery")
    op.drop_table("webhook_trigger_delivery")
