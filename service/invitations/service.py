"""Invitations to collaborate between claimed records. Never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Account
from service.claims.repository import ClaimRepository
from service.claims.service import claims
from service.db.base import utcnow
from service.errors import BadUserInput, Conflict, Forbidden, NotFound
from service.events.service import emit
from service.invitations.models import Invitation, InvitationStatus
from service.invitations.repository import InvitationRepository
from service.researchers.models import Researcher
from service.text import clean_text

MAX_MESSAGE_LENGTH = 2_000


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    invitee_account_id: int
    sender_record_name: str
    """The sender's verified record's name: what the invitee's mail says (not the sender's
    self-chosen account name)."""


class InvitationService:
    async def invite(
        self, session: AsyncSession, account: Account, researcher: Researcher, message: str
    ) -> Invited:
        """Invite the claimant of ``researcher``. Both sides must have verified claims."""
        text = clean_text(
            message, argument="message", max_length=MAX_MESSAGE_LENGTH, multiline=True
        )
        if not text:
            raise BadUserInput("Write a message.", argument="message")
        sender = await claims.verified_record_of(session, account)
        if sender.id == researcher.id:
            raise BadUserInput("You cannot invite yourself.", argument="researcherId")
        invitee = (await ClaimRepository(session).verified_claimants([researcher.id])).get(
            researcher.id
        )
        if invitee is None:
            raise Forbidden("This record has not been claimed; invitations need a claimant.")
        invitation = InvitationRepository(session).add(
            Invitation(
                from_account_id=account.id,
                from_researcher_id=sender.id,
                to_researcher_id=researcher.id,
                message=text,
            )
        )
        await session.flush()
        emit(
            session,
            "invitations.created",
            invitation_id=invitation.id,
            from_researcher_id=sender.id,
            to_researcher_id=researcher.id,
        )
        return Invited(invitation, invitee, sender.display_name)

    async def respond(
        self, session: AsyncSession, account: Account, invitation_id: int, accept: bool
    ) -> Invitation:
        invitation = await InvitationRepository(session).get_by_id(invitation_id)
        if invitation is None:
            raise NotFound("No such invitation.")
        claimant = (
            await ClaimRepository(session).verified_claimants([invitation.to_researcher_id])
        ).get(invitation.to_researcher_id)
        if claimant != account.id:
            raise Forbidden("This invitation is not addressed to you.")
        if invitation.status is not InvitationStatus.PENDING:
            raise Conflict(f"This invitation was already {invitation.status.value.lower()}.")
        invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
        invitation.responded_at = utcnow()
        emit(
            session,
            "invitations.answered",
            invitation_id=invitation.id,
            status=invitation.status.value,
        )
        return invitation


invitations = InvitationService()
