"""The compiled plan of the profile page (``service/documents/profile_page.graphql``): the
seed page's every block from one statement (four on SQLite), built field for field in the
document's order, as the general path would answer it.

It answers a well-formed id of an existing, unmerged researcher; anything else (a malformed or
unknown id: an error to report; a merged record: its survivor) goes to the general path. Signed
in, ``viewerFollows`` and ``viewerCanClaim`` come from the same functions the resolvers call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.db.paging import encode_cursor
from service.errors import BadUserInput
from service.graphql.context import Context
from service.graphql.plans import Answer, Plan
from service.graphql.relay import from_global_id, to_global_id
from service.researchers.profile_rows import ProfileRows
from service.researchers.viewer import viewer_can_claim, viewer_follows
from service.works.repository import BY_RECENCY

PAGE_SIZE = 10
"""``first: 10`` of the document's works, topics and close collaborators."""


async def profile_page(context: Context, variables: Mapping[str, Any]) -> Answer | None:
    given = variables.get("id")
    if not isinstance(given, str) or variables.keys() != {"id"}:
        return None
    try:
        _, researcher_id = from_global_id(given, "Researcher")
    except BadUserInput:
        return None
    found = await ProfileRows(context.session).read(researcher_id, PAGE_SIZE + 1, PAGE_SIZE)
    if found is None or found.researcher["merged_into_id"] is not None:
        return None
    r = found.researcher
    signed_in = context.viewer is not None
    researcher = {
        "id": to_global_id("Researcher", r["id"]),
        "displayName": r["display_name"],
        "description": r["description"],
        "orcid": r["orcid"],
        "affiliation": None
        if r["affiliation_id"] is None
        else {
            "id": to_global_id("Institution", r["affiliation_id"]),
            "displayName": r["affiliation_name"],
        },
        "openToCollaborate": r["open_to_collaborate"],
        "trust": _trust(r),
        "counts": {
            "works": r["works_count"],
            "followers": r["followers_count"],
            "topics": r["topics_count"],
            "closeCollaborators": r["close_collaborators_count"],
        },
        "viewerFollows": signed_in and await viewer_follows(context, researcher_id),
        "viewerCanClaim": signed_in and await viewer_can_claim(context, researcher_id),
        "works": _works(found.works, r["works_total"]),
        "topics": {
            "edges": [
                {"node": {"id": to_global_id("Topic", topic_id), "displayName": name}}
                for topic_id, name in found.topics
            ]
        },
        "closeCollaborators": {"edges": [_collaborator(*row) for row in found.close_collaborators]},
    }
    return {"researcher": researcher}


# Enum columns (band, level, type) come back as their names (str enums on SQLite, str on
# PostgreSQL): what GraphQL answers, and orjson writes either the same way.


def _trust(r: Mapping[str, Any]) -> Answer | None:
    if r["score"] is None:
        return None
    return {
        "score": r["score"],
        "band": r["band"],
        "verificationLevel": r["verification_level"],
        "claimed": r["claimed"],
        "computedAt": r["computed_at"].isoformat(),
        "factors": [
            {"key": f["key"], "points": f["points"], "detail": f["detail"]} for f in r["factors"]
        ],
    }


def _works(rows: Sequence[tuple[Any, ...]], total: int) -> Answer:
    edges = []
    for work_id, type_, year, year_key, venue_id, venue, title, abstract, doi, arxiv_id in rows[
        :PAGE_SIZE
    ]:
        edges.append(
            {
                "cursor": encode_cursor(BY_RECENCY.name, (year_key, work_id)),
                "node": {
                    "id": to_global_id("Work", work_id),
                    "type": type_,
                    "publicationYear": year,
                    "venue": None
                    if venue_id is None
                    else {"id": to_global_id("Venue", venue_id), "displayName": venue},
                    "title": title,
                    "abstract": abstract,
                    "doi": doi,
                    "arxivId": arxiv_id,
                },
            }
        )
    return {
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": len(rows) > PAGE_SIZE,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "edges": edges,
    }


def _collaborator(
    researcher_id: int, name: str, weight: float, score: int | None, band: str | None
) -> Answer:
    return {
        "weight": weight,
        "node": {
            "id": to_global_id("Researcher", researcher_id),
            "displayName": name,
            "trust": None if score is None else {"score": score, "band": band},
        },
    }


PROFILE_PAGE = Plan(document="profile_page", operation_name="ProfilePage", answer=profile_page)
