"""Which cached answers an event makes stale: the change-version tags (``service.live.versions``)
of what its payload names. The API bumps them once its mutation has committed, the relay once
it has sent the events of any process (imports and reclusters run elsewhere); the workers bump
what applying an event changed (counters, trust, clusters) themselves, through the researchers
it touched. An event whose effect cannot be named by its payload (a new or changed work moves
its authors' pages, an import or a merge anything) bumps everything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from service.events.catalogue import EventType
from service.live.versions import EVERYTHING

BROAD = frozenset(
    {
        EventType.WORKS_ADDED,
        EventType.WORKS_CHANGED,
        EventType.RESEARCHERS_MERGED,
        EventType.IMPORTS_COMPLETED,
        # Memberships changed at the commit; the pages of the moved researchers' co-authors
        # changed with them (their close collaborators), whom the payload does not name.
        EventType.CLUSTERS_CHANGED,
    }
)
SILENT = frozenset(
    {
        EventType.ACCOUNTS_CREATED,
        EventType.ACCOUNTS_EMAIL_CONFIRMED,
        EventType.INVITATIONS_CREATED,
        EventType.INVITATIONS_ANSWERED,
        # What a follow shows anonymously (the count, trust) the worker writes and bumps.
        EventType.FOLLOWS_CREATED,
        EventType.FOLLOWS_DELETED,
    }
)
"""Events whose committed rows change nothing an anonymous read shows."""


def tags_of_events(events: Iterable[tuple[str, Mapping[str, Any]]]) -> set[str]:
    """The tags to bump for these (event type, payload) pairs."""
    tags: set[str] = set()
    for event_type, payload in events:
        if event_type in SILENT:
            continue
        if event_type in BROAD or event_type not in EventType.__members__.values():
            return {EVERYTHING}
        ids = [payload.get("researcher_id"), *payload.get("researcher_ids", ())]
        named = {f"Researcher:{int(i)}" for i in ids if i is not None}
        if not named:  # an event of a researcher that does not say which
            return {EVERYTHING}
        tags |= named
    return tags
