"""The typed context every resolver gets: one database session and one set of loaders per
operation."""

from __future__ import annotations

from dataclasses import dataclass, field

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from service.accounts.models import Account
from service.config import Settings
from service.graphql.loaders import Loaders
from service.metrics import Metrics


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    session: AsyncSession
    settings: Settings
    request_id: str
    metrics: Metrics | None = None
    viewer: Account | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session)


Info = strawberry.Info[Context, None]
