from __future__ import annotations

import strawberry

from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.invitations.service import invitations
from service.invitations.types import Invitation
from service.mail.messages import invitation_received
from service.researchers.lookup import researcher_for_change


@strawberry.input
class InviteToCollaborateInput:
    researcher_id: strawberry.ID
    message: str


@strawberry.type
class InvitationPayload:
    invitation: Invitation


@strawberry.input
class RespondToInvitationInput:
    invitation_id: strawberry.ID
    accept: bool


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(
        description="Invite the claimant of another record; both records must be claimed."
    )
    async def invite_to_collaborate(
        self, info: Info, input: InviteToCollaborateInput
    ) -> InvitationPayload:
        context = info.context
        account = context.require_viewer()
        await context.services.rate_limiter.hit(
            context.settings.rate_limit_invitations_per_account, "invitations", str(account.id)
        )
        researcher = await researcher_for_change(info, input.researcher_id)
        invited = await invitations.invite(context.session, account, researcher, input.message)
        invitation = invited.invitation
        invitee_account = await context.loaders.account_by_id.load(invited.invitee_account_id)
        if invitee_account is not None:
            message = invitation_received(
                context.settings,
                invitee_account.email,
                invited.sender_record_name,
                invitation.message,
            )
            mailer = context.services.mailer
            context.after_commit.append(lambda: mailer.send(message))
        return InvitationPayload(invitation=Invitation.from_model(invitation))

    @strawberry.mutation(description="Accept or decline an invitation to your record.")
    async def respond_to_invitation(
        self, info: Info, input: RespondToInvitationInput
    ) -> InvitationPayload:
        account = info.context.require_viewer()
        _, invitation_id = from_global_id(input.invitation_id, "Invitation")
        invitation = await invitations.respond(
            info.context.session, account, invitation_id, input.accept
        )
        return InvitationPayload(invitation=Invitation.from_model(invitation))
