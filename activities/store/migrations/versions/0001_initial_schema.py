"""initial schema: the tables as hookflow created them before it had migrations

Revision ID: 0001
Revises:
Create Date: 2026-11-29 04:04:36.737524
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_project"), ["project"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_webhook_id"), ["webhook_id"], unique=False)

    op.create_table(
        "sealed_text",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("text_enc", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "secret",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("token_url", sa.String(length=2048), nullable=False),
        sa.Column("convention", sa.String(length=32), nullable=False),
        sa.Column("credentials_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project", "alias", name="uq_secret_project_alias"),
    )
    with op.batch_alter_table("secret", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_secret_project"), ["project"], unique=False)

    op.create_table(
        "storage",
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("zip", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project"),
    )
    op.create_table(
        "webhook",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("verify_ssl", sa.Boolean(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("basic_username", sa.String(), nullable=True),
        sa.Column("basic_password_enc", sa.Text(), nullable=True),
        sa.Column("custom_auth_enc", sa.Text(), nullable=True),
        sa.Column("secret_alias", sa.String(), nullable=True),
        sa.Column("content_type", sa.String(length=8), nullable=False),
        sa.Column("accept", sa.String(length=8), nullable=False),
        sa.Column("retry_schedule", sa.JSON(), nullable=True),
        sa.Column("signing_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_signing_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_signing_secret_until", sa.DateTime(), nullable=True),
        sa.Column("failover_url", sa.String(length=2048), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project", "alias", name="uq_webhook_project_alias"),
    )
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_project"), ["project"], unique=False)

    op.create_table(
        "webhook_template",
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhook.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("webhook_id", "template"),
    )
    with op.batch_alter_table("webhook_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_template_template"), ["template"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_template_template"))

    op.drop_table("webhook_template")
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_project"))

    op.drop_table("webhook")
    op.drop_table("storage")
    with op.batch_alter_table("secret", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secret_project"))

    op.drop_table("secret")
    op.drop_table("sealed_text")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_webhook_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_status"))
        batch_op.drop_index(batch_op.f("ix_delivery_session_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_project"))

    op.drop_table("delivery")
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_delivery_id"))

    op.drop_table("attempt")
