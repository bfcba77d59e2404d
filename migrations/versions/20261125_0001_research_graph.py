"""The research graph: researchers, works, topics, institutions, accounts and derived data.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Trigram index for case- and accent-insensitive name search.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "accounts",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("email_confirmed_at", service.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
    )
    op.create_table(
        "clusters",
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
    )
    op.create_table(
        "institutions",
        sa.Column("openalex_id", sa.String(length=32), nullable=True),
        sa.Column("ror_id", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=500), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("homepage_url", sa.String(length=500), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
        sa.UniqueConstraint("openalex_id", name=op.f("uq_institutions_openalex_id")),
        sa.UniqueConstraint("ror_id", name=op.f("uq_institutions_ror_id")),
    )
    op.create_table(
        "outbox_events",
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("published_at", service.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_events_unpublished",
            ["id"],
            unique=False,
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        )

    op.create_table(
        "topics",
        sa.Column("openalex_id", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=500), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "DOMAIN",
                "FIELD",
                "SUBFIELD",
                "TOPIC",
                name="topiclevel",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["topics.id"],
            name=op.f("fk_topics_parent_id_topics"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sa.UniqueConstraint("openalex_id", name=op.f("uq_topics_openalex_id")),
    )
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topics_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "venues",
        sa.Column("openalex_id", sa.String(length=32), nullable=True),
        sa.Column("display_name", sa.String(length=500), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "JOURNAL",
                "REPOSITORY",
                "CONFERENCE",
                "BOOK_SERIES",
                "EBOOK_PLATFORM",
                "OTHER",
                name="venuetype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("issn_l", sa.String(length=9), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
        sa.UniqueConstraint("openalex_id", name=op.f("uq_venues_openalex_id")),
    )
    op.create_table(
        "institution_domains",
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_institution_domains_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("institution_id", "domain", name=op.f("pk_institution_domains")),
    )
    with op.batch_alter_table("institution_domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_institution_domains_domain"), ["domain"], unique=False)

    op.create_table(
        "researchers",
        sa.Column("display_name", sa.String(length=500), nullable=False),
        sa.Column("search_name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("orcid", sa.String(length=19), nullable=True),
        sa.Column("openalex_id", sa.String(length=32), nullable=True),
        sa.Column(
            "affiliation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("open_to_collaborate", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("works_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("followers_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("topics_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("close_collaborators_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["affiliation_id"],
            ["institutions.id"],
            name=op.f("fk_researchers_affiliation_id_institutions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_researchers_cluster_id_clusters"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_researchers")),
        sa.UniqueConstraint("openalex_id", name=op.f("uq_researchers_openalex_id")),
        sa.UniqueConstraint("orcid", name=op.f("uq_researchers_orcid")),
    )
    with op.batch_alter_table("researchers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_researchers_affiliation_id"), ["affiliation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_researchers_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index("ix_researchers_search_name_id", ["search_name", "id"], unique=False)
        batch_op.create_index(
            "ix_researchers_search_name_trgm",
            ["search_name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        )

    op.create_table(
        "works",
        sa.Column("openalex_id", sa.String(length=32), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("arxiv_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column(
            "type",
            sa.Enum(
                "ARTICLE",
                "PREPRINT",
                "BOOK",
                "BOOK_CHAPTER",
                "DATASET",
                "DISSERTATION",
                "REVIEW",
                "REPORT",
                "PROCEEDINGS_ARTICLE",
                "OTHER",
                name="worktype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("publication_year", sa.Integer(), nullable=True),
        sa.Column("publication_date", sa.Date(), nullable=True),
        sa.Column("venue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cited_by_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_works_venue_id_venues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_works")),
        sa.UniqueConstraint("openalex_id", name=op.f("uq_works_openalex_id")),
    )
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_works_arxiv_id"), ["arxiv_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_works_doi"), ["doi"], unique=False)
        batch_op.create_index(batch_op.f("ix_works_venue_id"), ["venue_id"], unique=False)

    op.create_table(
        "authorships",
        sa.Column("work_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("raw_author_name", sa.String(length=500), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_authorships_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["work_id"], ["works.id"], name=op.f("fk_authorships_work_id_works"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorships")),
        sa.UniqueConstraint("work_id", "position", name=op.f("uq_authorships_work_id_position")),
        sa.UniqueConstraint(
            "work_id", "researcher_id", name=op.f("uq_authorships_work_id_researcher_id")
        ),
    )
    with op.batch_alter_table("authorships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_authorships_researcher_id_work_id", ["researcher_id", "work_id"], unique=False
        )

    op.create_table(
        "claims",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "method",
            sa.Enum(
                "INSTITUTIONAL_EMAIL", "ORCID", name="claimmethod", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "VERIFIED",
                "REJECTED",
                "EXPIRED",
                name="claimstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.String(length=320), nullable=True),
        sa.Column("verified_at", service.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_claims_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_claims_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_claims_researcher_id"), ["researcher_id"], unique=False
        )
        batch_op.create_index(
            "uq_claims_account_id_verified",
            ["account_id"],
            unique=True,
            postgresql_where=sa.text("status = 'VERIFIED'"),
            sqlite_where=sa.text("status = 'VERIFIED'"),
        )
        batch_op.create_index(
            "uq_claims_researcher_id_verified",
            ["researcher_id"],
            unique=True,
            postgresql_where=sa.text("status = 'VERIFIED'"),
            sqlite_where=sa.text("status = 'VERIFIED'"),
        )

    op.create_table(
        "coauthor_edges",
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "coauthor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("joint_works", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coauthor_id"],
            ["researchers.id"],
            name=op.f("fk_coauthor_edges_coauthor_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_coauthor_edges_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("researcher_id", "coauthor_id", name=op.f("pk_coauthor_edges")),
    )
    with op.batch_alter_table("coauthor_edges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coauthor_edges_coauthor_id"), ["coauthor_id"], unique=False
        )

    op.create_table(
        "follows",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_follows_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_follows_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "researcher_id", name=op.f("pk_follows")),
    )
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follows_researcher_id"), ["researcher_id"], unique=False
        )

    op.create_table(
        "invitations",
        sa.Column(
            "from_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "from_researcher_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "to_researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "ACCEPTED",
                "DECLINED",
                name="invitationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("responded_at", service.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["accounts.id"],
            name=op.f("fk_invitations_from_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_researcher_id"],
            ["researchers.id"],
            name=op.f("fk_invitations_from_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_researcher_id"],
            ["researchers.id"],
            name=op.f("fk_invitations_to_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitations_from_account_id"), ["from_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invitations_to_researcher_id"), ["to_researcher_id"], unique=False
        )

    op.create_table(
        "researcher_topics",
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("topic_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("work_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_researcher_topics_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_researcher_topics_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("researcher_id", "topic_id", name=op.f("pk_researcher_topics")),
    )
    with op.batch_alter_table("researcher_topics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_researcher_topics_researcher_id_work_count",
            ["researcher_id", "work_count"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_researcher_topics_topic_id"), ["topic_id"], unique=False
        )

    op.create_table(
        "trust_snapshots",
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column(
            "band",
            sa.Enum(
                "UNVERIFIED",
                "EMERGING",
                "ESTABLISHED",
                "TRUSTED",
                name="trustband",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "verification_level",
            sa.Enum("L0", "L1", "L2", "L3", "L4", name="verificationlevel", native_enum=False),
            nullable=False,
        ),
        sa.Column("claimed", sa.Boolean(), nullable=False),
        sa.Column(
            "factors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "computed_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_trust_snapshots_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_snapshots")),
    )
    with op.batch_alter_table("trust_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trust_snapshots_researcher_id_computed_at",
            ["researcher_id", "computed_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_trust_snapshots_researcher_id_current",
            ["researcher_id"],
            unique=True,
            postgresql_where=sa.text("is_current"),
            sqlite_where=sa.text("is_current"),
        )

    op.create_table(
        "vouches",
        sa.Column(
            "voucher_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "voucher_researcher_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "researcher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "created_at",
            service.db.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["researcher_id"],
            ["researchers.id"],
            name=op.f("fk_vouches_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["voucher_account_id"],
            ["accounts.id"],
            name=op.f("fk_vouches_voucher_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["voucher_researcher_id"],
            ["researchers.id"],
            name=op.f("fk_vouches_voucher_researcher_id_researchers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouches")),
        sa.UniqueConstraint(
            "voucher_researcher_id",
            "researcher_id",
            name=op.f("uq_vouches_voucher_researcher_id_researcher_id"),
        ),
    )
    with op.batch_alter_table("vouches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vouches_researcher_id"), ["researcher_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vouches_voucher_account_id"), ["voucher_account_id"], unique=False
        )

    op.create_table(
        "work_topics",
        sa.Column("work_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("topic_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Float(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_work_topics_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["work_id"], ["works.id"], name=op.f("fk_work_topics_work_id_works"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("work_id", "topic_id", name=op.f("pk_work_topics")),
    )
    with op.batch_alter_table("work_topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_topics_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "authorship_institutions",
        sa.Column(
            "authorship_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["authorship_id"],
            ["authorships.id"],
            name=op.f("fk_authorship_institutions_authorship_id_authorships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_authorship_institutions_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "authorship_id", "institution_id", name=op.f("pk_authorship_institutions")
        ),
    )
    with op.batch_alter_table("authorship_institutions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorship_institutions_institution_id"),
            ["institution_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("authorship_institutions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorship_institutions_institution_id"))

    op.drop_table("authorship_institutions")
    with op.batch_alter_table("work_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_topics_topic_id"))

    op.drop_table("work_topics")
    with op.batch_alter_table("vouches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouches_voucher_account_id"))
        batch_op.drop_index(batch_op.f("ix_vouches_researcher_id"))

    op.drop_table("vouches")
    with op.batch_alter_table("trust_snapshots", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_trust_snapshots_researcher_id_current",
            postgresql_where=sa.text("is_current"),
            sqlite_where=sa.text("is_current"),
        )
        batch_op.drop_index("ix_trust_snapshots_researcher_id_computed_at")

    op.drop_table("trust_snapshots")
    with op.batch_alter_table("researcher_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_researcher_topics_topic_id"))
        batch_op.drop_index("ix_researcher_topics_researcher_id_work_count")

    op.drop_table("researcher_topics")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_to_researcher_id"))
        batch_op.drop_index(batch_op.f("ix_invitations_from_account_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follows_researcher_id"))

    op.drop_table("follows")
    with op.batch_alter_table("coauthor_edges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coauthor_edges_coauthor_id"))

    op.drop_table("coauthor_edges")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_claims_researcher_id_verified",
            postgresql_where=sa.text("status = 'VERIFIED'"),
            sqlite_where=sa.text("status = 'VERIFIED'"),
        )
        batch_op.drop_index(
            "uq_claims_account_id_verified",
            postgresql_where=sa.text("status = 'VERIFIED'"),
            sqlite_where=sa.text("status = 'VERIFIED'"),
        )
        batch_op.drop_index(batch_op.f("ix_claims_researcher_id"))
        batch_op.drop_index(batch_op.f("ix_claims_account_id"))

    op.drop_table("claims")
    with op.batch_alter_table("authorships", schema=None) as batch_op:
        batch_op.drop_index("ix_authorships_researcher_id_work_id")

    op.drop_table("authorships")
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_works_venue_id"))
        batch_op.drop_index(batch_op.f("ix_works_doi"))
        batch_op.drop_index(batch_op.f("ix_works_arxiv_id"))

    op.drop_table("works")
    with op.batch_alter_table("researchers", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_researchers_search_name_trgm",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        )
        batch_op.drop_index("ix_researchers_search_name_id")
        batch_op.drop_index(batch_op.f("ix_researchers_cluster_id"))
        batch_op.drop_index(batch_op.f("ix_researchers_affiliation_id"))

    op.drop_table("researchers")
    with op.batch_alter_table("institution_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_institution_domains_domain"))

    op.drop_table("institution_domains")
    op.drop_table("venues")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topics_parent_id"))

    op.drop_table("topics")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_events_unpublished",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        )

    op.drop_table("outbox_events")
    op.drop_table("institutions")
    op.drop_table("clusters")
    op.drop_table("accounts")
