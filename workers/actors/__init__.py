"""The event consumers, loaded explicitly: ``load()`` imports every actor module (each
registers its actors in ``workers.actor.EVENT_ACTORS``) and checks them against the event
catalogue, so that a process whose consumers miss a consumed type refuses to start."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from service.events.catalogue import check_consumers
from workers.actor import EVENT_ACTORS, EventActor

MODULES = ("claims", "clusters", "follows", "works")


def load() -> Mapping[str, EventActor]:
    """Every consumer by event type; CatalogueMismatch when they and the catalogue disagree."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    check_consumers(EVENT_ACTORS)
    return EVENT_ACTORS
