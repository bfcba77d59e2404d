from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from starlette.responses import Response

from service.claims import orcid
from service.claims.models import ClaimMethod
from service.claims.service import claims
from service.claims.types import Claim
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.mail.messages import verify_claim
from service.researchers.lookup import researcher_for_change

if TYPE_CHECKING:
    from service.researchers.types import Researcher


@strawberry.input
class RequestClaimInput:
    researcher_id: strawberry.ID
    method: ClaimMethod
    email: str | None = strawberry.field(
        default=None, description="INSTITUTIONAL_EMAIL: the address to send the link to."
    )


@strawberry.type
class RequestClaimPayload:
    claim: Claim


@strawberry.input
class VerifyClaimInput:
    claim_id: strawberry.ID
    token: str


@strawberry.type
class VerifyClaimPayload:
    claim: Claim


@strawberry.input
class VouchInput:
    researcher_id: strawberry.ID


@strawberry.type
class VouchPayload:
    researcher: Annotated[Researcher, strawberry.lazy("service.researchers.types")]


@strawberry.type
class ClaimMutation:
    @strawberry.mutation(
        description="Claim a researcher record: by an institutional address (a link is mailed "
        "there) or by signing in with the record's ORCID iD (follow claim.authorizeUrl)."
    )
    async def request_claim(self, info: Info, input: RequestClaimInput) -> RequestClaimPayload:
        context = info.context
        account = context.require_viewer()
        await context.services.rate_limiter.hit(
            context.settings.rate_limit_claims_per_account, "claims", str(account.id)
        )
        researcher = await researcher_for_change(info, input.researcher_id)
        request = await claims.request(
            context.session, context.settings, account, researcher, input.method, input.email
        )
        claim = Claim.from_model(request.claim, authorize_url=request.authorize_url)
        if request.orcid_state is not None and isinstance(context.response, Response):
            orcid.set_state_cookie(context.response, request.orcid_state, context.settings)
        if request.verification_token is not None:
            message = verify_claim(
                context.settings,
                request.address or "",
                researcher.display_name,
                claim.id,
                request.verification_token,
            )
            mailer = context.services.mailer
            context.after_commit.append(lambda: mailer.send(message))
        return RequestClaimPayload(claim=claim)

    @strawberry.mutation(description="Complete an institutional-email claim with the mailed token.")
    async def verify_claim(self, info: Info, input: VerifyClaimInput) -> VerifyClaimPayload:
        account = info.context.require_viewer()
        _, claim_id = from_global_id(input.claim_id, "Claim")
        claim = await claims.verify_by_token(info.context.session, account, claim_id, input.token)
        return VerifyClaimPayload(claim=Claim.from_model(claim))

    @strawberry.mutation(description="Vouch for a co-author's record (identity-verified only).")
    async def vouch(self, info: Info, input: VouchInput) -> VouchPayload:
        from service.researchers.types import Researcher

        account = info.context.require_viewer()
        researcher = await researcher_for_change(info, input.researcher_id)
        await claims.vouch(info.context.session, account, researcher)
        return VouchPayload(researcher=Researcher.from_model(researcher))
