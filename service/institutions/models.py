from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, BigId, IdMixin, SearchNameMixin, TimestampMixin


class Institution(IdMixin, TimestampMixin, SearchNameMixin, Base):
    __tablename__ = "institutions"

    openalex_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    ror_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(500))
    country_code: Mapped[str | None] = mapped_column(String(2))
    type: Mapped[str | None] = mapped_column(String(32))
    homepage_url: Mapped[str | None] = mapped_column(String(500))
    openalex_updated: Mapped[dt.datetime | None]
    """``updated_date`` of the imported OpenAlex institution record (None: known only from
    works)."""

    domains: Mapped[list[InstitutionDomain]] = relationship(
        back_populates="institution", lazy="raise", cascade="all, delete-orphan"
    )


class InstitutionDomain(Base):
    """A web domain of an institution (``kfupm.edu.sa``): an email address under it is
    institutional evidence for a claim."""

    __tablename__ = "institution_domains"

    institution_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[str] = mapped_column(String(253), primary_key=True, index=True)

    institution: Mapped[Institution] = relationship(back_populates="domains", lazy="raise")
