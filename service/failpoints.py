"""Named crash points for fault tests: ``BZPEER_FAILPOINTS="relay.after_send=kill:3"`` makes the
process SIGKILL itself the third time it reaches ``relay.after_send``. Unset, a failpoint is one
dictionary lookup."""

from __future__ import annotations

import os
import signal
import threading


class Failpoints:
    def __init__(self, spec: str) -> None:
        self._kill_at: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, action = item.partition("=")
            kind, _, count = action.partition(":")
            if kind != "kill":
                raise ValueError(f"unknown failpoint action {action!r} in {spec!r}")
            self._kill_at[name.strip()] = int(count or 1)
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def reach(self, name: str) -> None:
        if name not in self._kill_at:
            return
        with self._lock:
            self._hits[name] = self._hits.get(name, 0) + 1
            if self._hits[name] >= self._kill_at[name]:
                os.kill(os.getpid(), signal.SIGKILL)
