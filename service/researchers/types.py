from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from service.db.paging import Page
from service.errors import Forbidden
from service.follows.repository import BY_FOLLOW_KEY, FollowRepository
from service.graphql.context import Info
from service.graphql.relay import Connection, LoadedNode, page_args, page_info, paged_connection
from service.institutions.types import Institution
from service.researchers import models
from service.researchers.repository import BY_TOPIC_WORKS, BY_WEIGHT
from service.researchers.viewer import viewer_can_claim, viewer_follows
from service.topics.types import Topic
from service.trust.types import Trust
from service.works.repository import BY_RECENCY
from service.works.types import Work

if TYPE_CHECKING:
    from service.graph.types import Cluster


@strawberry.type(description="Counters derived from the graph.")
class ResearcherCounts:
    works: int
    followers: int
    topics: int
    close_collaborators: int


@strawberry.type(description="Why two researchers are collaborators.")
class CollaborationReason:
    joint_works: int
    shared_cluster: bool = strawberry.field(
        description="Whether both are in the same collaborator cluster (close collaborators)."
    )

    @strawberry.field(description='For people: "3 joint works, same collaborator cluster".')
    def summary(self) -> str:
        works = f"{self.joint_works} joint work" + ("" if self.joint_works == 1 else "s")
        return works + (", same collaborator cluster" if self.shared_cluster else "")


@strawberry.type(description="A co-author, with the strength of the collaboration.")
class CollaboratorEdge:
    cursor: str
    node: Researcher
    weight: float = strawberry.field(
        description="Newman's collaboration weight: sum over joint works of 1/(authors - 1)."
    )
    researcher_id: strawberry.Private[int]
    shared_cluster: strawberry.Private[bool]

    @strawberry.field
    async def reason(self, info: Info) -> CollaborationReason:
        loader = info.context.loaders.joint_works_by_pair
        joint = await loader.load((self.researcher_id, int(self.node.id)))
        return CollaborationReason(joint_works=joint, shared_cluster=self.shared_cluster)


@strawberry.type(description="Co-authors ranked by collaboration weight.")
class CollaboratorConnection:
    edges: list[CollaboratorEdge]
    page_info: relay.PageInfo
    researcher_id: strawberry.Private[int]
    close_only: strawberry.Private[bool]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        loaders = info.context.loaders
        if self.close_only:
            return await loaders.close_collaborator_count_by_researcher.load(self.researcher_id)
        return await loaders.coauthor_count_by_researcher.load(self.researcher_id)


@strawberry.type(description="An account following a researcher.")
class Follower:
    display_name: str


@strawberry.type
class FollowerEdge:
    cursor: str
    node: Follower


@strawberry.type
class FollowerConnection:
    researcher_id: strawberry.Private[int]
    first: strawberry.Private[int | None]
    after: strawberry.Private[str | None]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        return await FollowRepository(info.context.session).count_followers(self.researcher_id)

    @strawberry.field(description="FORBIDDEN unless you are the record's verified claimant.")
    async def edges(self, info: Info) -> list[FollowerEdge]:
        page = await self._page(info)
        return [
            FollowerEdge(cursor=cursor, node=Follower(display_name=account.display_name))
            for account, cursor in zip(page.items, page.cursors, strict=True)
        ]

    @strawberry.field
    async def page_info(self, info: Info) -> relay.PageInfo:
        return page_info(await self._page(info))

    async def _page(self, info: Info) -> Page[Any]:
        viewer = info.context.viewer
        claimant = await info.context.loaders.verified_claimant_by_researcher.load(
            self.researcher_id
        )
        if viewer is None or claimant != viewer.id:
            raise Forbidden("Only the record's verified claimant sees who follows it.")
        request = page_args(
            info, BY_FOLLOW_KEY, first=self.first, after=self.after, last=None, before=None
        )
        return await FollowRepository(info.context.session).follower_page(
            self.researcher_id, request
        )


@strawberry.type(name="Researcher", description="An author record.")
class Researcher(LoadedNode):
    loader_name = "researcher_by_id"

    id: relay.NodeID[int]
    display_name: str
    description: str | None
    orcid: str | None
    openalex_id: str | None
    open_to_collaborate: bool
    counts: ResearcherCounts
    trust: Trust | None = strawberry.field(
        description="The current trust snapshot; null until it is first computed."
    )
    affiliation: Institution | None = strawberry.field(
        description="Last known institution; null when none was imported."
    )
    cluster_id: strawberry.Private[int | None] = None

    @classmethod
    def from_model(cls, m: models.Researcher) -> Self:
        return cls(
            id=m.id,
            display_name=m.display_name,
            description=m.description,
            orcid=m.orcid,
            openalex_id=m.openalex_id,
            open_to_collaborate=m.open_to_collaborate,
            counts=ResearcherCounts(
                works=m.works_count,
                followers=m.followers_count,
                topics=m.topics_count,
                close_collaborators=m.close_collaborators_count,
            ),
            trust=Trust.from_model(m.trust) if m.trust else None,
            affiliation=Institution.from_model(m.affiliation) if m.affiliation else None,
            cluster_id=m.cluster_id,
        )

    @strawberry.field(
        description="The researcher's collaborator cluster (a Leiden community of the "
        "co-author graph); null for a researcher with no close co-author."
    )
    async def cluster(
        self, info: Info
    ) -> Annotated[Cluster, strawberry.lazy("service.graph.types")] | None:
        from service.graph.types import Cluster

        if self.cluster_id is None:
            return None
        found = await info.context.loaders.cluster_by_id.load(self.cluster_id)
        return Cluster.from_model(found) if found is not None else None

    @strawberry.field(description="Whether the signed-in account follows this researcher.")
    async def viewer_follows(self, info: Info) -> bool:
        return await viewer_follows(info.context, self.id)

    @strawberry.field(
        description="Whether the signed-in account may claim this record now: signed in with a "
        "confirmed email, the record has no verified claimant, and the account claims no other."
    )
    async def viewer_can_claim(self, info: Info) -> bool:
        return await viewer_can_claim(info.context, self.id)

    @strawberry.field(
        description="Accounts following this researcher: the count for everyone, who they are "
        "only for the record's verified claimant."
    )
    def followers(self, first: int | None = None, after: str | None = None) -> FollowerConnection:
        return FollowerConnection(researcher_id=self.id, first=first, after=after)

    @strawberry.field(description="Works, newest first.")
    async def works(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Work]:
        loaders = info.context.loaders
        return await paged_connection(
            info,
            BY_RECENCY,
            loader=loaders.work_page_by_researcher,
            parent_id=self.id,
            convert=Work.from_model,
            count=lambda: loaders.work_count_by_researcher.load(self.id),
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Topics of the researcher's works, the most frequent first.")
    async def topics(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Topic]:
        loaders = info.context.loaders
        return await paged_connection(
            info,
            BY_TOPIC_WORKS,
            loader=loaders.topic_page_by_researcher,
            parent_id=self.id,
            convert=Topic.from_model,
            count=lambda: loaders.topic_count_by_researcher.load(self.id),
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Co-authors in this researcher's collaborator cluster, heaviest edge first."
    )
    async def close_collaborators(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CollaboratorConnection:
        return await self._collaborators(info, True, first, after, last, before)

    @strawberry.field(description="Every co-author, heaviest edge first.")
    async def coauthors(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CollaboratorConnection:
        return await self._collaborators(info, False, first, after, last, before)

    async def _collaborators(
        self,
        info: Info,
        close_only: bool,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> CollaboratorConnection:
        request = page_args(info, BY_WEIGHT, first=first, after=after, last=last, before=before)
        loaders = info.context.loaders
        loader = (
            loaders.close_collaborator_page_by_researcher
            if close_only
            else loaders.coauthor_page_by_researcher
        )
        page = await loader.load((self.id, request))
        edges = [
            CollaboratorEdge(
                cursor=cursor,
                node=Researcher.from_model(m),
                weight=key[0],
                researcher_id=self.id,
                shared_cluster=self.cluster_id is not None and m.cluster_id == self.cluster_id,
            )
            for m, cursor, key in zip(page.items, page.cursors, page.keys, strict=True)
        ]
        return CollaboratorConnection(
            edges=edges,
            page_info=page_info(page),
            researcher_id=self.id,
            close_only=close_only,
        )
