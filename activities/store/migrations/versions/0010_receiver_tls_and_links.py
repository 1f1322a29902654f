"""receiver contract: a webhook's client certificate and CA bundle (mutual TLS),
and how its archive carries documents (embed or link, with a body size limit)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_cert_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("client_key_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ca_bundle", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("documents", sa.String(length=8), nullable=False, server_default="embed")
        )
        batch_op.add_column(sa.Column("max_body_size", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        for name in ("max_body_size", "documents", "ca_bundle", "client_key_enc"):
            batch_op.drop_column(name)
        batch_op.drop_column("client_cert_enc")
