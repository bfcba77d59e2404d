"""Co-author graph state: the total edge weight and each cluster's summed degree, which
incremental reclustering needs, and when the last full recluster ran.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coauthor_graph_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("total_weight", sa.Float(), nullable=False),
        sa.Column("modularity", sa.Float(), nullable=True),
        sa.Column("reclustered_at", service.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coauthor_graph_state")),
    )
    with op.batch_alter_table("clusters") as batch_op:
        batch_op.add_column(sa.Column("strength", sa.Float(), server_default="0", nullable=False))
    op.execute(
        "UPDATE clusters SET strength = (SELECT COALESCE(SUM(e.weight), 0) FROM coauthor_edges e "
        "JOIN researchers r ON r.id = e.researcher_id WHERE r.cluster_id = clusters.id)"
    )
    # Edges are stored in both directions: each pair's weight counts once.
    op.execute(
        "INSERT INTO coauthor_graph_state (id, total_weight) "
        "SELECT 1, COALESCE(SUM(weight), 0) / 2 FROM coauthor_edges"
    )


def downgrade() -> None:
    op.drop_table("coauthor_graph_state")
    with op.batch_alter_table("clusters") as batch_op:
        batch_op.drop_column("strength")
