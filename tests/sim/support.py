"""Helpers the emulator's API tests share: Status bodies, watch events with deadlines, extra clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, ResourceType

WIDGETS = ResourceType(group="example.io", version="v1", plural="widgets", kind="Widget", status_subresource=True)
"""A namespaced custom resource type with a status subresource."""

DEADLINE = 3.0
"""Seconds a test waits for something the emulator should do at once (the event loop is not virtual)."""


def status_of(exc: ApiException) -> dict[str, Any]:
    """The ``kind: Status`` body of an API error."""
    body = json.loads(exc.body)
    assert isinstance(body, dict)
    return body


def assert_status(exc: ApiException, code: int, reason: str) -> dict[str, Any]:
    """Assert that an error is a well-formed Failure Status with this code and reason; return its body."""
    assert exc.status == code
    body = status_of(exc)
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["code"] == code
    assert body["reason"] == reason
    assert body["message"]
    return body


async def next_event(stream: Any, *, bookmarks: bool = False, within: float = DEADLINE) -> dict[str, Any]:
    """The next watch event within a deadline; BOOKMARKs are skipped unless ``bookmarks``.

    A deadline that passes ends the stream for good (see :class:`EventFeed`), so use this only
    where the event is due; to assert that nothing arrives, use an :class:`EventFeed`.
    """
    async with asyncio.timeout(within):
        while True:
            event: dict[str, Any] = await anext(stream)
            if bookmarks or event["type"] != "BOOKMARK":
                return event


async def next_events(stream: Any, count: int, *, within: float = DEADLINE) -> list[tuple[str, str]]:
    """The next ``count`` non-BOOKMARK events as (type, name), within one deadline."""
    out: list[tuple[str, str]] = []
    async with asyncio.timeout(within):
        while len(out) < count:
            event = await next_event(stream, within=within)
            out.append((event["type"], event["raw_object"]["metadata"]["name"]))
    return out


class EventFeed:
    """Reads a watch stream in a background task, so a test can wait for events or for their absence.

    Waiting on ``anext(stream)`` with a deadline is fine until the deadline passes: cancelling
    kubernetes_asyncio's ``Watch.__anext__`` closes the response, and the next ``anext`` silently
    opens a new watch from the original resourceVersion. A test that means "nothing arrives for a
    while" must therefore wait on this feed's queue instead of on the stream.
    """

    _END = object()

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventFeed:
        self._task = asyncio.create_task(self._pump(), name="test:watch-feed")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _pump(self) -> None:
        try:
            async for event in self._stream:
                self._queue.put_nowait(event)
        except Exception as exc:  # handed to the test by next()
            self._queue.put_nowait(exc)
        self._queue.put_nowait(self._END)

    async def next(self, *, bookmarks: bool = False, within: float = DEADLINE) -> dict[str, Any]:
        """The next event within a deadline (BOOKMARKs skipped unless ``bookmarks``); re-raises stream errors."""
        async with asyncio.timeout(within):
            while True:
                item = await self._queue.get()
                if item is self._END:
                    self._queue.put_nowait(item)
                    raise StopAsyncIteration
                if isinstance(item, Exception):
                    raise item
                if bookmarks or item["type"] != "BOOKMARK":
                    return item  # type: ignore[no-any-return]

    async def assert_silent(self, seconds: float) -> None:
        """Assert that the stream delivers nothing at all (not even a BOOKMARK) for ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                item = await self._queue.get()
        except TimeoutError:
            return
        raise AssertionError(f"the watch was meant to be silent but delivered {item!r}")


@contextlib.asynccontextmanager
async def client_with_token(server: ApiServer, token: str | None, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    """A kubernetes_asyncio client for ``server`` that sends ``token`` (or no Authorization header)."""
    configuration = client.Configuration(host=server.url)
    if server.ca_pem:
        ca_file = tmp_path / f"{server.name}-ca.pem"
        ca_file.write_bytes(server.ca_pem)
        configuration.ssl_ca_cert = str(ca_file)
    if token is not None:
        configuration.api_key = {"BearerToken": token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
    async with client.ApiClient(configuration) as api_client:
        yield api_client


@contextlib.asynccontextmanager
async def http(server: ApiServer, token: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session to the server, trusting its CA and sending ``token``."""
    context = ssl.create_default_context(cadata=server.ca_pem.decode()) if server.ca_pem else None
    async with aiohttp.ClientSession(base_url=server.url, connector=aiohttp.TCPConnector(ssl=context or False),
                                     headers={"Authorization": f"Bearer {token}"}) as session:
        yield session


def deployment(name: str, *, replicas: int = 1, containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A Deployment body a real API server would accept."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": containers or [{"name": "main", "image": "registry.example/main:1"}]},
            },
        },
    }


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": name}, "spec": dict(spec)}
