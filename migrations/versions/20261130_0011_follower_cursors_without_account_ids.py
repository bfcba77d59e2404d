"""Follower cursors that name no account: ``follows.cursor_key``, a random 62-bit key per
follow (unique per followed record) that orders a record's followers and is all their cursors
carry; before, they carried the follower's account id.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_KEY = {
    "postgresql": "(floor(random() * 4611686018427387903))::bigint",
    "sqlite": "(abs(random()) % 4611686018427387904)",
}
"""A random key in SQL: for the rows there are, and for rows inserted by hand (the service
sets its own, from ``secrets``)."""


def upgrade() -> None:
    random_key = sa.text(RANDOM_KEY[op.get_bind().dialect.name])
    with op.batch_alter_table("follows") as batch_op:
        batch_op.add_column(
            sa.Column(
                "cursor_key",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                server_default=random_key,
            )
        )
        batch_op.create_index(
            "uq_follows_researcher_id_cursor_key", ["researcher_id", "cursor_key"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("follows") as batch_op:
        batch_op.drop_index("uq_follows_researcher_id_cursor_key")
        batch_op.drop_column("cursor_key")
