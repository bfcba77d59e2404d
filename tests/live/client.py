"""A graphql-transport-ws client for tests, on the ``websockets`` library's synchronous client:
each step is one frame, so a test can also send what a well-behaved client would not."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


@dataclass(frozen=True)
class Closed:
    code: int
    reason: str


class Socket:
    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        origin: str | None = None,
        subprotocols: tuple[str, ...] = (PROTOCOL,),
    ) -> None:
        url = base_url.replace("http://", "ws://") + "/graphql"
        self._connecting = connect(
            url,
            subprotocols=list(subprotocols),  # type: ignore[arg-type]
            additional_headers=headers or {},
            origin=origin,  # type: ignore[arg-type]
            open_timeout=10,
        )
        self.ws: ClientConnection = self._connecting.__enter__()
        self.inbox: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)
        """Messages of operations other than the one a test was waiting for."""

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._connecting.__exit__(None, None, None)

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        frame = self.ws.recv(timeout=timeout)
        assert isinstance(frame, str), "graphql-transport-ws messages are text frames"
        message: dict[str, Any] = json.loads(frame)
        return message

    def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"type": "connection_init", **({"payload": payload} if payload else {})})
        return self.receive()

    def subscribe(self, id_: str, query: str, variables: dict[str, Any] | None = None) -> None:
        self.send(
            {"id": id_, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    def message_of(self, id_: str, timeout: float = 10) -> dict[str, Any]:
        """The next message of operation ``id_``; those of others wait in ``inbox``."""
        if self.inbox[id_]:
            return self.inbox[id_].popleft()
        while True:
            message = self.receive(timeout)
            if message.get("id") == id_:
                return message
            self.inbox[str(message.get("id"))].append(message)

    def next_data(self, id_: str, timeout: float = 10) -> dict[str, Any]:
        """The data of the next ``next`` message of ``id_``; fails on anything else."""
        message = self.message_of(id_, timeout)
        assert message["type"] == "next", message
        payload = message["payload"]
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"]
        return data

    def errors_of(self, id_: str, timeout: float = 10) -> list[dict[str, Any]]:
        """The errors of ``id_``'s next message: an ``error`` message, or a ``next`` with
        errors (then followed by ``complete``)."""
        message = self.message_of(id_, timeout)
        if message["type"] == "error":
            errors: list[dict[str, Any]] = message["payload"]
            return errors
        assert message["type"] == "next" and message["payload"].get("errors"), message
        assert self.message_of(id_, timeout)["type"] == "complete"
        errors = message["payload"]["errors"]
        return errors

    def closed(self, timeout: float = 10) -> Closed:
        """Wait for the server to close the connection; its close code and reason."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "the connection dropped without a close frame"
            return Closed(closed.rcvd.code, closed.rcvd.reason)

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Messages that arrive within ``seconds`` (a test that expects none asserts [])."""
        received = []
        try:
            while True:
                received.append(self.receive(seconds))
        except TimeoutError:
            return received
