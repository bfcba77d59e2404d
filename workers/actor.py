"""How actors are declared. An event consumer is two async functions of a session and event
payloads: ``touched`` names the researchers whose trust the events move, ``apply`` writes their
effect. Both take several events, because the runtime applies events that arrive together in one
transaction (group commit). ``workers/runtime.py`` binds every consumer to a broker as a
Dramatiq actor named after its event type; consumers never see Dramatiq."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.live.topics import Topic
from workers.broker import EVENTS_QUEUE

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    """Events of one type applied together, and what their consumer may need with them."""

    payloads: Sequence[Payload]
    touched: Sequence[int]
    """The researchers the actor's ``touched`` named, so ``apply`` need not look them up."""
    settings: Settings
    live: dict[Topic, set[int]] = field(default_factory=dict)
    """Researchers whose watched values (follower count...) the effect changes: subscribers
    are told once the transaction commits. Shared by the batches of one transaction."""

    def changed(self, topic: Topic, researcher_ids: Iterable[int]) -> None:
        self.live.setdefault(topic, set()).update(researcher_ids)


Touched = Callable[[AsyncSession, Sequence[Payload]], Awaitable[list[int]]]
Apply = Callable[[AsyncSession, Batch], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class EventActor:
    name: str
    """The event type it consumes, such as ``follows.created``; also the actor's name."""
    touched: Touched
    """Researchers whose trust these events move; the runtime marks them stale first (lock
    order: stale rows, then researcher rows)."""
    apply: Apply
    """The events' own effect, such as a counter; may be nothing beyond the stale mark."""
    queue: str = EVENTS_QUEUE
    order: int = 0
    """Effects of one transaction apply by (order, name): an actor that takes the graph lock
    goes first, before any other takes researcher row locks."""


EVENT_ACTORS: dict[str, EventActor] = {}
"""Every event consumer, by event type (filled as ``workers.actors`` is imported)."""


async def nothing_more(_session: AsyncSession, _batch: Batch) -> None:
    """For events whose whole effect is the trust they move."""


async def researcher_in_payload(_session: AsyncSession, payloads: Sequence[Payload]) -> list[int]:
    return [int(p["researcher_id"]) for p in payloads]


def event_actor(
    *event_types: str,
    touched: Touched = researcher_in_payload,
    queue: str = EVENTS_QUEUE,
    order: int = 0,
) -> Callable[[Apply], Apply]:
    """Register the decorated ``apply`` as the consumer of ``event_types``."""

    def register(apply: Apply) -> Apply:
        for event_type in event_types:
            if event_type in EVENT_ACTORS:
                raise ValueError(f"{event_type} already has a consumer")
            EVENT_ACTORS[event_type] = EventActor(event_type, touched, apply, queue, order)
        return apply

    return register
