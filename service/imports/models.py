"""What imports remember: how far each file got (to resume), and the merges they applied."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, IdMixin


class ImportedFile(IdMixin, Base):
    """One input file's progress. ``lines_done`` moves in the transaction that writes those
    lines' records, so an import stopped anywhere (Ctrl-C, ``kill -9``) resumes after the last
    committed batch: nothing twice, nothing skipped."""

    __tablename__ = "imported_files"

    path: Mapped[str] = mapped_column(String(1000), unique=True)
    """Absolute path of the file."""
    entity: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    """With ``size``: a file replaced by another of the same name starts over."""
    lines_done: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    """Records of the file so far (this run's, and a stopped run's before it), as the batches
    committed them."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why the last run of this file stopped before its end (a broken file, a job that gave
    up); cleared when a run starts it again."""
    derive_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    """Imported in bulk (no event per work): everything derived must be recomputed once the
    import ends. Cleared by that recompute; a run that finds it set runs it."""


class ImportNote(IdMixin, Base):
    """An item an import left out or repaired, written in the transaction of its batch: the
    report of a run (a stopped one included) is exactly what its batches committed."""

    __tablename__ = "import_notes"

    path: Mapped[str] = mapped_column(String(1000), index=True)
    line: Mapped[int] = mapped_column(Integer)
    entity_id: Mapped[str] = mapped_column(String(64))
    skipped: Mapped[bool] = mapped_column(Boolean)
    """True: left out; False: kept, repaired."""
    reason: Mapped[str] = mapped_column(Text)


class OpenAlexMerge(Base):
    """A merged OpenAlex id (the snapshot's ``merged_ids`` lists): the old id keeps answering
    with its survivor, and this row says what moved."""

    __tablename__ = "openalex_merges"

    old_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(String(32), index=True)
    merged_on: Mapped[dt.date | None] = mapped_column(Date)
    applied_at: Mapped[dt.datetime]
    moved_authorships: Mapped[int] = mapped_column(Integer, default=0)
    moved_follows: Mapped[int] = mapped_column(Integer, default=0)
    moved_claims: Mapped[int] = mapped_column(Integer, default=0)
