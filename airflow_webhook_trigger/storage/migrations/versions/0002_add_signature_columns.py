"""Add the signature check of a webhook (its non-secret settings, and encrypted secrets).

Revision ID: wt0002
Revises: wt0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wt0002"
down_revision = "wt0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: every existing webhook keeps working as it was (no signature check)
    with op.batch_alter_table("webhook_trigger_webhook") as batch:
        batch.add_column(sa.Column("signature", sa.Text, nullable=True))
        batch.add_column(sa.Column("signature_secret", sa.Text, nullable=True))
        batch.add_column(sa.Column("signature_previous_secret", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_trigger_webhook") as batch:
        batch.drop_column("signature_previous_secret")
        batch.drop_column("signature_secret")
        batch.drop_column("signature")
