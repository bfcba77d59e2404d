"""Every event type the service emits, each either consumed by a worker actor or declared
audit-only (kept in the outbox for the record and for readers of it, marked processed as it is
published). The relay marks an event processed on publishing only when this catalogue says its
type is audit-only: a type it does not know (a newer producer during a rolling deploy) stays
unprocessed for a relay that knows it, never silently dropped."""

from __future__ import annotations

import enum
from collections.abc import Collection


class EventType(enum.StrEnum):
    ACCOUNTS_CREATED = "accounts.created"
    ACCOUNTS_EMAIL_CONFIRMED = "accounts.email_confirmed"
    CLAIMS_REQUESTED = "claims.requested"
    CLAIMS_VERIFIED = "claims.verified"
    CLAIMS_REJECTED = "claims.rejected"
    CLAIMS_EXPIRED = "claims.expired"
    CLUSTERS_CHANGED = "clusters.changed"
    FOLLOWS_CREATED = "follows.created"
    FOLLOWS_DELETED = "follows.deleted"
    IMPORTS_COMPLETED = "imports.completed"
    INVITATIONS_CREATED = "invitations.created"
    INVITATIONS_ANSWERED = "invitations.answered"
    RESEARCHERS_MERGED = "researchers.merged"
    RESEARCHERS_UPDATED = "researchers.updated"
    VOUCHES_CREATED = "vouches.created"
    WORKS_ADDED = "works.added"
    WORKS_CHANGED = "works.changed"


AUDIT_ONLY = frozenset(
    {
        EventType.ACCOUNTS_CREATED,
        EventType.ACCOUNTS_EMAIL_CONFIRMED,
        EventType.IMPORTS_COMPLETED,  # the bulk derive already ran in its transaction
        EventType.INVITATIONS_CREATED,
        EventType.INVITATIONS_ANSWERED,
        EventType.RESEARCHERS_UPDATED,  # live readers follow the row, not the event
    }
)
CONSUMED = frozenset(EventType) - AUDIT_ONLY
"""Types a worker actor must consume (``workers.actors``)."""


class CatalogueMismatch(RuntimeError):
    """Raised when the loaded consumers and the catalogue disagree: the process must not run."""


def check_consumers(consumed: Collection[str]) -> None:
    """Refuse a set of consumers that misses a consumed type or consumes one not catalogued
    as consumed (an empty registry included)."""
    missing = sorted(CONSUMED - set(consumed))
    unknown = sorted(set(consumed) - CONSUMED)
    if missing or unknown:
        raise CatalogueMismatch(
            f"event consumers do not match the catalogue: no consumer for {missing or 'none'}, "
            f"consumers of uncatalogued types {unknown or 'none'}"
        )
