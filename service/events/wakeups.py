"""In-process wake-ups of the relay: when a transaction that wrote outbox rows commits, the
relay of the same process (the embedded default, where SQLite has no LISTEN/NOTIFY) hears of it
at once instead of polling the outbox every few milliseconds."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

OUTBOX_WRITTEN = "outbox_written"
"""``Session.info`` key ``emit`` sets."""
EMITTED = "outbox_emitted"
"""``Session.info`` key: the (type, payload) of the events the open transaction emitted, for
whoever commits it to act on (the API's unit of work bumps change versions); cleared by the
commit or rollback."""

_listeners: list[Callable[[], None]] = []


def on_outbox_commit(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (from the committing thread) after each commit that wrote outbox rows;
    returns the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(EMITTED, None)
    if session.info.pop(OUTBOX_WRITTEN, False):
        for listener in list(_listeners):
            listener()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(OUTBOX_WRITTEN, None)
    session.info.pop(EMITTED, None)
