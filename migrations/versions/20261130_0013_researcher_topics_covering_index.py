"""A researcher's topics, most works first, answered from the index alone: the index on
``(researcher_id, work_count)`` becomes ``(researcher_id, work_count, topic_id)``. Read through
the old one, every row cost a heap page (a researcher's topic rows are scattered over the
table): in a graph slice at 1M researchers, the topics of the 10 researchers of its second hop
took 3-6 ms of 96 page reads.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_researcher_topics_researcher_id_work_count"
NEW = "ix_researcher_topics_researcher_id_work_count_topic_id"


def upgrade() -> None:
    op.create_index(NEW, "researcher_topics", ["researcher_id", "work_count", "topic_id"])
    op.drop_index(OLD, table_name="researcher_topics")


def downgrade() -> None:
    op.create_index(OLD, "researcher_topics", ["researcher_id", "work_count"])
    op.drop_index(NEW, table_name="researcher_topics")
