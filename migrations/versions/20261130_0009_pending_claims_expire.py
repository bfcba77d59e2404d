"""Pending claims expire with their code: ``claims.expires_at``, with a partial index over the
pending ones for the sweep that marks them EXPIRED. A claim pending today expires when the
last code issued for it does.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = sa.text("status = 'PENDING'")


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_claims_pending_expires_at",
            ["expires_at"],
            postgresql_where=PENDING_ONLY,
            sqlite_where=PENDING_ONLY,
        )
    op.execute(
        "UPDATE claims SET expires_at = (SELECT max(t.expires_at) FROM one_time_tokens t "
        "WHERE t.claim_id = claims.id) WHERE status = 'PENDING'"
    )
    # A pending claim without any code can never be verified: it expires at the next sweep.
    op.execute(
        "UPDATE claims SET expires_at = created_at WHERE status = 'PENDING' AND expires_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_index("ix_claims_pending_expires_at")
        batch_op.drop_column("expires_at")
