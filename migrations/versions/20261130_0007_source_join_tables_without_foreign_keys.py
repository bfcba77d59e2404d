"""The imported join tables without foreign keys: ``authorships``, ``authorship_institutions`` and
``work_topics`` are written in bulk by the OpenAlex import (about 15 rows a work), and checking
two keys per row (an index probe and a row lock on the parent) cost PostgreSQL 12 of its 35 CPU
seconds on 100k works. The importer writes a work and its rows in one transaction from ids it
has just looked up or created; the only deletes (a merged work, a rewired author list) remove
the child rows themselves (``OpenAlexRepository._delete_children``), and a test checks that no row is left without its parent after imports, updates and merges.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS = (
    ("authorships", "fk_authorships_work_id_works", "work_id", "works"),
    ("authorships", "fk_authorships_researcher_id_researchers", "researcher_id", "researchers"),
    (
        "authorship_institutions",
        "fk_authorship_institutions_authorship_id_authorships",
        "authorship_id",
        "authorships",
    ),
    (
        "authorship_institutions",
        "fk_authorship_institutions_institution_id_institutions",
        "institution_id",
        "institutions",
    ),
    ("work_topics", "fk_work_topics_work_id_works", "work_id", "works"),
    ("work_topics", "fk_work_topics_topic_id_topics", "topic_id", "topics"),
)


def upgrade() -> None:
    for table, name, _, _ in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, column, referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(name, referred, [column], ["id"], ondelete="CASCADE")
