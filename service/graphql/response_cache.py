"""Answers to anonymous reads of the client documents, kept per process and never served stale.

What is cached: the ``data`` of a query document kept in ``service/documents/`` and named in
``CACHED_DOCUMENTS`` (the profile page, the integrator document, a researcher's graph slice),
asked over HTTP by a request with no session and no API key (what a signed-in viewer sees
differs), answered without errors. Keyed by the exact text, the operation name and the
variables.

When it is served: an answer carries tags, every entity in it (each ``id`` of the answer, and
whatever the resolvers read beyond it, such as the nodes a graph slice looked at but cut) plus
``*``. Each writer bumps the versions of the tags its committed change touches
(``service.live.versions``, bumped by the same publisher call that tells subscribers). A hit
reads the versions of the answer's tags (one Redis round trip) and serves the answer only when
none moved. An answer is stored only when no change at all committed while it was computed (the
generation read before it equals the one read after): an answer read from a snapshot older
than a change can never be stored with the versions of after it. ``ttl_s`` bounds what a lost
bump (Redis unreachable by a writer after its commit) could leave behind."""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from service.documents import document
from service.live.versions import EVERYTHING, Snapshot, Versions

CACHED_DOCUMENTS = ("profile_page", "integrator_nested", "graph_slice")


@dataclass(frozen=True, slots=True)
class Entry:
    data: bytes
    """The answer's ``data`` as JSON: one object for the garbage collector to walk instead of
    the hundreds of a parsed answer (10,000 parsed profile pages made full collections of
    several hundred milliseconds), and nothing to encode again when it is served."""
    tags: tuple[str, ...]
    versions: tuple[int, ...]
    epoch: str
    expires: float


@dataclass(frozen=True, slots=True)
class Ticket:
    """Taken before an answer is computed: the generation then."""

    key: bytes
    snapshot: Snapshot


class ResponseCache:
    def __init__(self, versions: Versions, max_entries: int, ttl_s: float) -> None:
        self.versions = versions
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._texts = frozenset(document(f"{name}.graphql") for name in CACHED_DOCUMENTS)
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def key(
        self, query: str | None, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> bytes | None:
        """The key of a cacheable request, None for any other."""
        if not self.enabled or query not in self._texts:
            return None
        try:
            return orjson.dumps([query, operation_name, variables], option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None

    async def get(self, key: bytes) -> bytes | None:
        """The answer's ``data`` as JSON, if it is stored and still current."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = await self.versions.snapshot(entry.tags)
        if (
            now is None
            or entry.expires < time.monotonic()
            or now.epoch != entry.epoch
            or now.versions != entry.versions
        ):
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return entry.data

    async def ticket(self, key: bytes) -> Ticket | None:
        """Before computing the answer of ``key``; None: it will not be stored."""
        snapshot = await self.versions.snapshot(())
        return None if snapshot is None else Ticket(key, snapshot)

    async def put(self, ticket: Ticket, data: dict[str, Any], read: set[str]) -> bool:
        """Store ``data`` unless a change committed since ``ticket``; ``read``: tags of what the
        answer depends on beyond the ids it shows."""
        tags = tuple(sorted({EVERYTHING, *read, *ids_in(data)}))
        now = await self.versions.snapshot(tags)
        if (
            now is None
            or now.epoch != ticket.snapshot.epoch
            or now.generation != ticket.snapshot.generation
        ):
            return False
        self._entries[ticket.key] = Entry(
            orjson.dumps(data), tags, now.versions, now.epoch, time.monotonic() + self.ttl_s
        )
        self._entries.move_to_end(ticket.key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True


def ids_in(data: Any) -> Iterator[str]:
    """``Type:pk`` of every global id in an answer (the ``id`` fields)."""
    if isinstance(data, dict):
        for name, value in data.items():
            if name == "id" and isinstance(value, str):
                with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                    yield base64.b64decode(value).decode()  # "Type:pk", as to_global_id wrote
            else:
                yield from ids_in(value)
    elif isinstance(data, list):
        for item in data:
            yield from ids_in(item)
