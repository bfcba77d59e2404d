from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, BigId, IdMixin, SearchNameMixin, TimestampMixin


class TopicLevel(enum.StrEnum):
    """OpenAlex's four-level hierarchy: domain > field > subfield > topic."""

    DOMAIN = "DOMAIN"
    FIELD = "FIELD"
    SUBFIELD = "SUBFIELD"
    TOPIC = "TOPIC"
    CONCEPT = "CONCEPT"
    """A concept of OpenAlex's 2022 schema (before topics), from records of that schema."""


class Topic(IdMixin, TimestampMixin, SearchNameMixin, Base):
    __tablename__ = "topics"

    openalex_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(500))
    level: Mapped[TopicLevel] = mapped_column(
        Enum(TopicLevel, native_enum=False, length=16, create_constraint=False),
        default=TopicLevel.TOPIC,
    )
    openalex_updated: Mapped[dt.datetime | None]
    """``updated_date`` of the imported OpenAlex topic record (None: known only from works)."""
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("topics.id", ondelete="SET NULL"), index=True
    )

    parent: Mapped[Topic | None] = relationship(remote_side="Topic.id", lazy="raise")
