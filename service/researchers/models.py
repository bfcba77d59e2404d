from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, BigId, IdMixin, JsonDocument, TimestampMixin
from service.institutions.models import Institution

if TYPE_CHECKING:
    from service.trust.models import TrustSnapshot


MERGED_ONLY = text("merged_into_id IS NOT NULL")


class Researcher(IdMixin, TimestampMixin, Base):
    """An author record. Counters and ``cluster_id`` are derived: only services that recompute
    them from the graph write them."""

    __tablename__ = "researchers"
    __table_args__ = (
        Index(
            "ix_researchers_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
        Index("ix_researchers_search_name_id", "search_name", "id"),
        # Only merged records have one; the rest need no index entry.
        Index(
            "ix_researchers_merged_into_id",
            "merged_into_id",
            postgresql_where=MERGED_ONLY,
            sqlite_where=MERGED_ONLY,
        ),
    )

    display_name: Mapped[str] = mapped_column(String(500))
    search_name: Mapped[str] = mapped_column(String(500))
    """``display_name`` folded for case- and accent-insensitive matching."""
    description: Mapped[str | None] = mapped_column(Text)
    orcid: Mapped[str | None] = mapped_column(String(19), unique=True)
    openalex_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    openalex_updated: Mapped[dt.datetime | None]
    """``updated_date`` of the imported OpenAlex author record (None: known only from works)."""
    alternative_names: Mapped[list[str] | None] = mapped_column(JsonDocument)
    """Other spellings of the name (OpenAlex's ``display_name_alternatives``)."""
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="SET NULL")
    )
    """Set when OpenAlex merged this author record into another: the row stays so that its
    ids keep answering, with the survivor; it has no authorships, follows or claims left."""
    affiliation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("institutions.id", ondelete="SET NULL"), index=True
    )
    open_to_collaborate: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    cluster_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("clusters.id", ondelete="SET NULL"), index=True
    )

    works_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    followers_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    topics_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    close_collaborators_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    affiliation: Mapped[Institution | None] = relationship(lazy="raise")
    trust: Mapped[TrustSnapshot | None] = relationship(
        "TrustSnapshot",
        primaryjoin="and_(TrustSnapshot.researcher_id == Researcher.id, TrustSnapshot.is_current)",
        uselist=False,
        viewonly=True,
        lazy="raise",
    )


class ResearcherTopic(Base):
    """Derived: how many of a researcher's works carry a topic. No foreign keys, like the
    co-author edges: rebuilt from the authorships and work topics, which have them."""

    __tablename__ = "researcher_topics"
    __table_args__ = (
        # Covering: a researcher's topics by work count off the index alone (migration 0013).
        Index(
            "ix_researcher_topics_researcher_id_work_count_topic_id",
            "researcher_id",
            "work_count",
            "topic_id",
        ),
    )

    researcher_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic_id: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)
    work_count: Mapped[int] = mapped_column(Integer)
