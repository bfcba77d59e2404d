"""Claims and vouches change a record's verification level: their whole effect is the trust of
that record (and, through the trust refresh, of the records that read its level). So does a
merge of author records, which moves the old record's claims to its survivor."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from workers.actor import Payload, event_actor, nothing_more

event_actor(
    "claims.requested",
    "claims.verified",
    "claims.rejected",
    "claims.expired",
    "vouches.created",
)(nothing_more)


async def both_records(_session: AsyncSession, payloads: Sequence[Payload]) -> list[int]:
    return sorted({int(p[k]) for p in payloads for k in ("researcher_id", "old_researcher_id")})


event_actor("researchers.merged", touched=both_records)(nothing_more)
