from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, BigId, IdMixin, SearchNameMixin, TimestampMixin
from service.institutions.models import Institution


class WorkType(enum.StrEnum):
    ARTICLE = "ARTICLE"
    PREPRINT = "PREPRINT"
    BOOK = "BOOK"
    BOOK_CHAPTER = "BOOK_CHAPTER"
    DATASET = "DATASET"
    DISSERTATION = "DISSERTATION"
    REVIEW = "REVIEW"
    REPORT = "REPORT"
    PROCEEDINGS_ARTICLE = "PROCEEDINGS_ARTICLE"
    OTHER = "OTHER"


class VenueType(enum.StrEnum):
    JOURNAL = "JOURNAL"
    REPOSITORY = "REPOSITORY"
    CONFERENCE = "CONFERENCE"
    BOOK_SERIES = "BOOK_SERIES"
    EBOOK_PLATFORM = "EBOOK_PLATFORM"
    OTHER = "OTHER"


class Venue(IdMixin, TimestampMixin, SearchNameMixin, Base):
    """Where a work appeared: a journal, a repository such as arXiv, a conference."""

    __tablename__ = "venues"

    openalex_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(500))
    type: Mapped[VenueType] = mapped_column(
        Enum(VenueType, native_enum=False, length=32, create_constraint=False),
        default=VenueType.OTHER,
    )
    issn_l: Mapped[str | None] = mapped_column(String(9))
    openalex_updated: Mapped[dt.datetime | None]
    """``updated_date`` of the imported OpenAlex source record (None: known only from works)."""


class Work(IdMixin, TimestampMixin, Base):
    __tablename__ = "works"

    openalex_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    doi: Mapped[str | None] = mapped_column(String(255), index=True)
    """Lower-cased, without the ``https://doi.org/`` prefix."""
    arxiv_id: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str | None] = mapped_column(Text)
    type: Mapped[WorkType] = mapped_column(
        Enum(WorkType, native_enum=False, length=32, create_constraint=False),
        default=WorkType.ARTICLE,
    )
    publication_year: Mapped[int | None] = mapped_column(Integer)
    publication_date: Mapped[dt.date | None] = mapped_column(Date)
    venue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("venues.id", ondelete="SET NULL"), index=True
    )
    cited_by_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pmid: Mapped[str | None] = mapped_column(String(16), index=True)
    """PubMed id, digits only."""
    openalex_updated: Mapped[dt.datetime | None]
    """The ``updated_date`` of the OpenAlex record last imported: an import applies a record
    only when it is newer (importing the same files twice changes nothing)."""

    venue: Mapped[Venue | None] = relationship(lazy="raise")
    authorships: Mapped[list[Authorship]] = relationship(
        back_populates="work",
        primaryjoin="Work.id == foreign(Authorship.work_id)",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="Authorship.position",
    )

    @property
    def has_persistent_id(self) -> bool:
        return bool(self.doi or self.arxiv_id or self.openalex_id)


class Authorship(IdMixin, Base):
    """A researcher's place on a work's author list, with the institutions given there.

    This table, ``authorship_institutions`` and ``work_topics`` have no foreign keys (migration
    0007: the import writes about 15 of their rows a work, and checking the keys cost more than
    a third of PostgreSQL's time); the import's repository deletes their rows with their work."""

    __tablename__ = "authorships"
    __table_args__ = (
        UniqueConstraint("work_id", "position"),
        UniqueConstraint("work_id", "researcher_id"),
        Index("ix_authorships_researcher_id_work_id", "researcher_id", "work_id"),
    )

    work_id: Mapped[int] = mapped_column(BigId)
    researcher_id: Mapped[int] = mapped_column(BigId)
    position: Mapped[int] = mapped_column(Integer)
    """1-based order on the author list."""
    raw_author_name: Mapped[str | None] = mapped_column(String(500))

    work: Mapped[Work] = relationship(
        back_populates="authorships",
        primaryjoin="Work.id == foreign(Authorship.work_id)",
        lazy="raise",
    )
    institutions: Mapped[list[Institution]] = relationship(
        secondary="authorship_institutions",
        primaryjoin="Authorship.id == foreign(AuthorshipInstitution.authorship_id)",
        secondaryjoin="Institution.id == foreign(AuthorshipInstitution.institution_id)",
        lazy="raise",
        order_by="Institution.id",  # a stable order for answers (the record's is not kept)
    )


class AuthorshipInstitution(Base):
    __tablename__ = "authorship_institutions"

    authorship_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    institution_id: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)


class WorkTopic(Base):
    __tablename__ = "work_topics"

    work_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic_id: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)
    score: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
