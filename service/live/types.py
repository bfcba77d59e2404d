from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

if TYPE_CHECKING:
    from service.researchers.types import Researcher


@strawberry.type(description="A researcher's follower count changed.")
class FollowerUpdate:
    researcher: Annotated[Researcher, strawberry.lazy("service.researchers.types")]
    followers: int = strawberry.field(description="The new follower count.")
