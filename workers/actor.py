"""How actors are declared: a handler is an async function of a session and ids, registered
under an explicit ``domain.event`` name. ``workers/runtime.py`` binds every registered handler
to a broker as a Dramatiq actor; handlers never see Dramatiq."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from workers.broker import EVENTS_QUEUE

EventHandler = Callable[..., Awaitable[None]]
"""``async def handler(session, **payload)``: applies one event's effect in ``session``."""


@dataclass(frozen=True, slots=True)
class EventActor:
    name: str
    """The event type it consumes, such as ``follows.created``; also the actor's name."""
    handler: EventHandler
    queue: str = EVENTS_QUEUE


EVENT_ACTORS: dict[str, EventActor] = {}
"""Every event consumer, by event type (filled as ``workers.actors`` is imported)."""


def event_actor(*event_types: str, queue: str = EVENTS_QUEUE) -> Callable[[EventHandler], Any]:
    """Register ``handler`` as the consumer of ``event_types``. The runtime marks the event
    processed in the handler's transaction and skips redeliveries."""

    def register(handler: EventHandler) -> EventHandler:
        for event_type in event_types:
            if event_type in EVENT_ACTORS:
                raise ValueError(f"{event_type} already has a consumer")
            EVENT_ACTORS[event_type] = EventActor(event_type, handler, queue)
        return handler

    return register


async def no_effect(_session: AsyncSession, **_payload: Any) -> None:
    """For events whose only consumer is elsewhere (none yet)."""
