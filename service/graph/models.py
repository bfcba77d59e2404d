from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, IdMixin, TimestampMixin


class CoauthorEdge(Base):
    """Derived: one row per direction of a co-author pair, so either side is a primary-key
    prefix. ``weight`` is Newman's collaboration weight, sum of 1/(authors - 1) over joint works."""

    __tablename__ = "coauthor_edges"

    researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), primary_key=True
    )
    coauthor_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    weight: Mapped[float] = mapped_column(Float)
    joint_works: Mapped[int] = mapped_column(Integer)


class Cluster(IdMixin, TimestampMixin, Base):
    """Derived: a Leiden community of the co-author graph."""

    __tablename__ = "clusters"

    size: Mapped[int] = mapped_column(Integer, default=0)
