"""OpenAlex import: each record's ``updated_date`` (an import applies only newer records), PubMed
ids, alternative names, merged author records that keep answering with their survivor, and the
import's own bookkeeping (file progress for resuming, applied merges).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_files",
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("lines_done", sa.Integer(), nullable=False),
        sa.Column("started_at", service.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", service.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("derive_pending", sa.Boolean(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_files")),
        sa.UniqueConstraint("path", name=op.f("uq_imported_files_path")),
    )
    op.create_table(
        "import_notes",
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_notes")),
    )
    with op.batch_alter_table("import_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_notes_path"), ["path"], unique=False)
    op.create_table(
        "openalex_merges",
        sa.Column("old_id", sa.String(length=32), nullable=False),
        sa.Column("survivor_id", sa.String(length=32), nullable=False),
        sa.Column("merged_on", sa.Date(), nullable=True),
        sa.Column("applied_at", service.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("moved_authorships", sa.Integer(), nullable=False),
        sa.Column("moved_follows", sa.Integer(), nullable=False),
        sa.Column("moved_claims", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("old_id", name=op.f("pk_openalex_merges")),
    )
    with op.batch_alter_table("openalex_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_openalex_merges_survivor_id"), ["survivor_id"], unique=False
        )

    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("openalex_updated", service.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("researchers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("openalex_updated", service.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "alternative_names",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "merged_into_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_index(
            batch_op.f("ix_researchers_merged_into_id"),
            ["merged_into_id"],
            unique=False,
            postgresql_where=sa.text("merged_into_id IS NOT NULL"),
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_researchers_merged_into_id_researchers"),
            "researchers",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("openalex_updated", service.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("openalex_updated", service.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pmid", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("openalex_updated", service.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_works_pmid"), ["pmid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_works_pmid"))
        batch_op.drop_column("openalex_updated")
        batch_op.drop_column("pmid")

    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.drop_column("openalex_updated")

    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_column("openalex_updated")

    with op.batch_alter_table("researchers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_researchers_merged_into_id_researchers"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_researchers_merged_into_id"))
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("alternative_names")
        batch_op.drop_column("openalex_updated")

    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("openalex_updated")

    with op.batch_alter_table("openalex_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_openalex_merges_survivor_id"))

    op.drop_table("openalex_merges")
    op.drop_table("import_notes")
    op.drop_table("imported_files")
