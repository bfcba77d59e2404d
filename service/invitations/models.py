from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, BigId, IdMixin, TimestampMixin


class InvitationStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class Invitation(IdMixin, TimestampMixin, Base):
    """An invitation to collaborate, from one claimed record's owner to another's."""

    __tablename__ = "invitations"

    from_account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    from_researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE")
    )
    to_researcher_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("researchers.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[InvitationStatus] = mapped_column(
        Enum(InvitationStatus, native_enum=False, length=16, create_constraint=False),
        default=InvitationStatus.PENDING,
    )
    responded_at: Mapped[dt.datetime | None]
