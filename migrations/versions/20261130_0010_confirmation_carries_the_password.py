"""A sign-up's password and name travel with its confirmation token: confirming an address
sets the account's password to the one chosen in the sign-up whose mail was opened, so that
whoever signed up first with somebody else's address (before the owner did) never holds the
account the owner confirms.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("one_time_tokens") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
        batch_op.add_column(sa.Column("display_name", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("one_time_tokens") as batch_op:
        batch_op.drop_column("display_name")
        batch_op.drop_column("password_hash")
