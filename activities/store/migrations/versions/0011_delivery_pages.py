"""delivery pages: an index in the log's order, so a cursor page reads only its rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_project_created_at_id", ["project", "created_at", "id"], unique=False
        )
        # An admin's page, every project at once.
        batch_op.create_index("ix_delivery_created_at_id", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_created_at_id")
        batch_op.drop_index("ix_delivery_project_created_at_id")
