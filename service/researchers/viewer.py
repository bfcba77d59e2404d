"""What the signed-in viewer may do with a researcher record, for the resolvers and the profile
page's compiled plan alike."""

from __future__ import annotations

from service.claims.models import ClaimStatus
from service.graphql.context import Context


async def viewer_follows(context: Context, researcher_id: int) -> bool:
    if context.viewer is None:
        return False
    return await context.loaders.viewer_follows_researcher.load(researcher_id)


async def viewer_can_claim(context: Context, researcher_id: int) -> bool:
    """Signed in with a confirmed email, the record has no verified claimant, and the account
    claims no other."""
    viewer = context.viewer
    if viewer is None or not viewer.email_confirmed:
        return False
    loaders = context.loaders
    if await loaders.verified_claimant_by_researcher.load(researcher_id) is not None:
        return False
    active = await loaders.active_claim_by_account.load(viewer.id)
    return active is None or (
        active.researcher_id == researcher_id and active.status is ClaimStatus.PENDING
    )
