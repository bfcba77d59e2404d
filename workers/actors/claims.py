"""Claims and vouches change a record's verification level: their whole effect is the trust of
that record (and, through the trust refresh, of the records that read its level)."""

from __future__ import annotations

from workers.actor import event_actor, nothing_more

event_actor("claims.requested", "claims.verified", "claims.rejected", "vouches.created")(
    nothing_more
)
