"""The garbage collector and long-lived processes. A full collection walks every object the
collector tracks; after startup that is the schema, the mappers and the imported modules (about
180k objects in an API process), which never become garbage. Walking them took about 100 ms,
several times a minute under load: the p99 of the read path, and 15% of a small import."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect what is garbage now, then take every surviving object out of the collector's
    view (``gc.freeze``): later collections walk only what was allocated since. Frozen objects
    are never collected, so a process that builds many apps in turn (the test suite) should
    not (``Settings.freeze_startup_objects``)."""
    gc.collect()
    gc.freeze()
