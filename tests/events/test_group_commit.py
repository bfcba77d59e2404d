"""Group commit hands every event to a batch, however the hand-overs fall against the batches
(``workers/group_commit.py``); no database here, only the scheduling."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from workers.actor import EventActor
from workers.group_commit import Delivery, GroupCommit


async def _nothing(*_args: object) -> list[int]:
    return []


SPEC = EventActor(name="follows.created", touched=_nothing, apply=_nothing)  # type: ignore[arg-type]


async def test_an_event_handed_over_as_the_last_batch_ends_is_applied() -> None:
    """The second event is handed over while the first batch is being applied, and its
    hand-over runs after the drainer found nothing more to take but before the drainer's task
    was forgotten. It used to wait for a drainer that had already finished: until the relay's
    reconciler sent the event again 30 s later (a test that waited for the events to settle
    failed once in CI that way)."""
    late: list[asyncio.Future[bool]] = []
    applied: list[int] = []

    async def apply(batch: Sequence[Delivery]) -> set[int]:
        applied.extend(d.event_id for d in batch)
        if len(applied) == 1:  # hand the next one over now; it starts after this batch ends
            late.append(asyncio.ensure_future(group.submit(Delivery(SPEC, 2, {}))))
        return {d.event_id for d in batch}

    group = GroupCommit(apply)
    assert await group.submit(Delivery(SPEC, 1, {})) is True
    assert await asyncio.wait_for(late[0], timeout=5) is True
    assert applied == [1, 2]


async def test_events_handed_over_together_share_a_batch() -> None:
    batches: list[list[int]] = []

    async def apply(batch: Sequence[Delivery]) -> set[int]:
        batches.append([d.event_id for d in batch])
        return {d.event_id for d in batch}

    group = GroupCommit(apply)
    results = await asyncio.gather(*(group.submit(Delivery(SPEC, i, {})) for i in range(5)))
    assert results == [True] * 5
    assert batches == [[0, 1, 2, 3, 4]]
