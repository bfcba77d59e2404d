from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, IdMixin, TimestampMixin


class CoauthorEdge(Base):
    """Derived: one row per direction of a co-author pair, so either side is a primary-key
    prefix. ``weight`` is Newman's collaboration weight, sum of 1/(authors - 1) over joint works.

    No foreign keys: the rows are rebuilt from the authorships, which have them (and researcher
    rows are never deleted: a merged record stays as a pointer to its survivor). Checking two
    keys per row made a full rebuild of 3.7M rows take 86 s instead of about 6."""

    __tablename__ = "coauthor_edges"
    __table_args__ = (
        # Pages of co-authors, heaviest first, straight off the index read backwards
        # (migration 0012).
        Index("ix_coauthor_edges_researcher_id_weight", "researcher_id", "weight", "coauthor_id"),
    )

    researcher_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No index of its own: an edge is stored both ways, so the edges reaching a researcher
    # are those leaving it, off the primary key (migration 0018).
    coauthor_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    joint_works: Mapped[int] = mapped_column(Integer)


class Cluster(IdMixin, TimestampMixin, Base):
    """Derived: a Leiden community of the co-author graph."""

    __tablename__ = "clusters"

    size: Mapped[int] = mapped_column(Integer, default=0)
    strength: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    """Summed weighted degree of the members: what incremental clustering needs of the
    members it does not load."""


class CoauthorGraphState(Base):
    """Derived, one row (id 1): what reclustering part of the graph needs of the whole."""

    __tablename__ = "coauthor_graph_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    total_weight: Mapped[float] = mapped_column(Float, default=0.0)
    """Sum of the edge weights, each pair once: modularity's m. Kept by every edge change."""
    modularity: Mapped[float | None] = mapped_column(Float)
    """Of the last full recluster."""
    reclustered_at: Mapped[dt.datetime | None]
    """When the last full recluster wrote its memberships."""
