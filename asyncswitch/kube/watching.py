"""Resilient watches: the decisions in a plain object (:class:`WatchDriver`), the I/O in :func:`watch`.

The driver tracks the resourceVersion and the current objects, turns raw event lines into
:class:`WatchEvent` values, turns a relist into the diff that makes consumers converge, and
records gaps. :func:`watch` is the thin loop around it: list, stream, resume, relist on 410,
re-establish a silent stream, back off while the hub is down.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from .errors import GoneError, HubUnreachableError, ServerError, TooManyRequestsError, error_for_status
from .events import Gap, GapReason, WatchEvent, object_key
from .hub import Selector, selector_text
from .resources import Resource
from .retrying import backoff_delay
from .settings import ClientSettings

if TYPE_CHECKING:
    from .hub import Hub

__all__ = ["WatchDriver", "watch"]

_CHANGES = ("ADDED", "MODIFIED", "DELETED")


@dataclass(frozen=True, slots=True)
class _Instant:
    monotonic: float
    wall: float


class WatchDriver:
    """The state of one watch, fed by whoever does the I/O. Synchronous and side-effect free.

    ``clock`` must be the clock the I/O loop measures deadlines with (the event loop's).
    ``on_gap`` is called with each gap as it closes. With ``keep_objects=False`` the driver keeps
    only each object's name and resourceVersion (a relist's diff needs no more, and a DELETED it
    derives then carries only those): a monitor of 10,000 clusters then holds none of them.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 hub: str = "", resource: str = "", on_gap: Callable[[Gap], None] | None = None,
                 keep_objects: bool = True) -> None:
        self.clock = clock
        self.wall_clock = wall_clock
        self.hub = hub
        self.resource = resource
        self.on_gap = on_gap
        self.resource_version = ""
        """Where the next watch starts; "" means a list is needed first."""
        self.keep_objects = keep_objects
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        """The current objects by (namespace or "", name) (their metadata stubs without keep_objects)."""
        self.gaps: list[Gap] = []
        self.lists = 0
        self.streams = 0
        self.events = 0
        self.bookmarks = 0
        self.last_activity: float | None = None
        """Monotonic time of the last line read or stream opened: the inactivity deadline counts from it."""
        self.last_event: float | None = None
        """Monotonic time of the last ADDED/MODIFIED/DELETED read from a stream."""
        self.last_streamed: float | None = None
        """Monotonic time of the last event or bookmark read from a stream: proof that streaming works."""
        self._current: _Instant | None = None  # when the resourceVersion last advanced
        self._open_gap: tuple[GapReason, _Instant] | None = None

    # -- what the loop asks --------------------------------------------------------------------

    @property
    def needs_list(self) -> bool:
        return not self.resource_version

    @property
    def relists(self) -> int:
        """Lists after the first one (each one follows a 410 or a failed first list)."""
        return max(0, self.lists - 1)

    @property
    def open_gap(self) -> GapReason | None:
        """The reason of the gap in progress, if the watch is not current right now."""
        return self._open_gap[0] if self._open_gap else None

    def deadline(self, inactivity: float) -> float:
        """The monotonic time by which the open stream must say something (event or bookmark)."""
        return (self.last_activity if self.last_activity is not None else self.clock()) + inactivity

    # -- what the loop tells it ----------------------------------------------------------------

    def listed(self, items: Iterable[dict[str, Any]], resource_version: str) -> list[WatchEvent]:
        """Apply a full list: the events that turn the known objects into it, then a SYNC.

        The first list yields every object as ADDED; a relist yields only the differences,
        so objects deleted meanwhile arrive as DELETED. Closes any gap.
        """
        if not resource_version:
            raise ValueError("a list without a resourceVersion cannot start a watch")
        now = self._now()
        fresh = {object_key(obj): obj for obj in items}
        events = [self._event("DELETED", old, resource_version, now, from_list=True)
                  for key, old in self.objects.items() if key not in fresh]
        for key, obj in fresh.items():
            old = self.objects.get(key)
            if old is None or _rv(old) != _rv(obj) or (self.keep_objects and old != obj):
                events.append(self._event("ADDED" if old is None else "MODIFIED", obj, _rv(obj) or resource_version,
                                          now, from_list=True))
        events.append(self._event("SYNC", {"metadata": {"resourceVersion": resource_version}}, resource_version,
                                  now, from_list=True))
        self.objects = fresh if self.keep_objects else {key: _stub(obj) for key, obj in fresh.items()}
        self.resource_version = resource_version
        self.lists += 1
        self.last_activity = now.monotonic
        self._current = now
        self._close_gap(now)
        return events

    def stream_opened(self) -> None:
        """A watch stream from :attr:`resource_version` is open: the server replays what we missed."""
        now = self._now()
        self.streams += 1
        self.last_activity = now.monotonic
        if self._open_gap is not None and self._open_gap[0] != "expired":
            self._close_gap(now)

    def feed(self, line: bytes | str | Mapping[str, Any]) -> WatchEvent | None:
        """Take one event line of a watch stream; return the event for a change, None otherwise.

        BOOKMARK only advances the resourceVersion. An ERROR event raises its error from the
        hub tree: GoneError for 410 (call :meth:`interrupted` with "expired", then relist).
        A line that is not a watch event raises ValueError.
        """
        if isinstance(line, bytes | str):
            if not line.strip():
                return None  # a keep-alive newline
            try:
                raw = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"not a watch event: {exc}") from None
        else:
            raw = line
        if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
            raise ValueError("not a watch event: no type")
        kind: str = raw["type"]
        obj = raw.get("object")
        if not isinstance(obj, dict):
            raise ValueError(f"not a watch event: {kind} without an object")
        if kind == "ERROR":
            raise error_for_status(int(obj.get("code") or 0), obj, hub=self.hub, resource=self.resource, verb="watch")
        now = self._now()
        self.last_activity = self.last_streamed = now.monotonic
        rv = _rv(obj)
        if kind == "BOOKMARK":
            self.bookmarks += 1
            self._advance(rv, now)
            return None
        if kind not in _CHANGES:
            raise ValueError(f"not a watch event: unknown type {kind!r}")
        key = object_key(obj)
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj if self.keep_objects else _stub(obj)
        self.events += 1
        self.last_event = now.monotonic
        self._advance(rv, now)
        return self._event(kind, obj, rv or self.resource_version, now)

    def interrupted(self, reason: GapReason) -> None:
        """The stream ended badly: open a gap (or make an open one "expired"); 410 also forces a relist."""
        if reason == "expired":
            self.resource_version = ""
        if self._open_gap is None:
            start = self._current or self._now()
            if self.gaps and self.gaps[-1].ended_monotonic > start.monotonic:
                last = self.gaps[-1]
                start = _Instant(last.ended_monotonic, last.ended_wall)
            self._open_gap = (reason, start)
        elif reason == "expired":
            self._open_gap = (reason, self._open_gap[1])

    def close_open_gap(self) -> Gap | None:
        """End the gap in progress now (the watcher stops while blind) and return it, or None."""
        if self._open_gap is None:
            return None
        self._close_gap(self._now())
        return self.gaps[-1]

    # -- inside ----------------------------------------------------------------------------------

    def _now(self) -> _Instant:
        return _Instant(self.clock(), self.wall_clock())

    def _advance(self, rv: str, now: _Instant) -> None:
        if rv:
            self.resource_version = rv
        self._current = now

    def _event(self, kind: str, obj: dict[str, Any], rv: str, now: _Instant, *, from_list: bool = False) -> WatchEvent:
        return WatchEvent(kind, obj, rv, now.monotonic, now.wall, from_list)  # type: ignore[arg-type]

    def _close_gap(self, now: _Instant) -> None:
        if self._open_gap is None:
            return
        reason, start = self._open_gap
        self._open_gap = None
        gap = Gap(reason, start.monotonic, now.monotonic, start.wall, now.wall)
        self.gaps.append(gap)
        if self.on_gap is not None:
            self.on_gap(gap)


def _stub(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {"metadata": {key: meta[key] for key in ("name", "namespace", "resourceVersion") if key in meta}}


def _rv(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class _Inactive(Exception):
    """The open stream said nothing before its deadline."""


_RETRYABLE = (HubUnreachableError, ServerError, TooManyRequestsError)


async def watch(
    hub: Hub,
    resource: Resource,
    *,
    namespace: str | None = None,
    label_selector: Selector | None = None,
    field_selector: Selector | None = None,
    settings: ClientSettings | None = None,
    driver: WatchDriver | None = None,
    rng: random.Random | None = None,
) -> AsyncGenerator[WatchEvent, None]:
    """Every change of a resource type on a hub, for as long as the caller iterates.

    Starts with the current objects (ADDED each, then SYNC), then streams changes. A stream
    that ends is resumed from the last resourceVersion; a 410 relists and yields the diff
    (then SYNC); a stream silent past ``settings.watch_inactivity`` is re-established; while
    the hub does not answer (or answers 5xx/429) it backs off and retries. Gaps are recorded
    on the driver (pass your own to see them). Other errors (403, 404 for an unserved type)
    propagate. Use it under ``contextlib.aclosing`` so an early exit closes the stream.
    """
    settings = settings or hub.settings
    driver = driver or WatchDriver(clock=asyncio.get_running_loop().time, hub=hub.name, resource=resource.key)
    own_on_gap, watched = driver.on_gap, driver

    def on_gap(gap: Gap) -> None:  # the driver's own listener, then the hub's (who records every watch's gaps)
        if own_on_gap is not None:
            own_on_gap(gap)
        hub.observed_gap(resource, gap, watched)

    driver.on_gap = on_gap
    rng = rng or random.Random()
    labels, fields_ = selector_text(label_selector), selector_text(field_selector)
    failures = 0
    position: float | None = None  # driver.last_streamed at the previous interruption
    try:
        while True:
            try:
                if driver.needs_list:
                    result = await hub.list_strict(resource, namespace=namespace, label_selector=labels,
                                                   field_selector=fields_)
                    for event in driver.listed(result.items, result.resource_version):
                        yield event
                async with aclosing(_stream(hub, resource, driver, namespace=namespace, labels=labels,
                                            fields=fields_, settings=settings, retry=failures > 0)) as events:
                    async for event in events:
                        yield event
                continue  # the server ended the stream (timeoutSeconds): resume from where we are
            except GoneError:
                driver.interrupted("expired")
                retry_after, hub_trouble = None, False
            except _Inactive:
                driver.interrupted("inactive")
                retry_after, hub_trouble = None, False
            except _RETRYABLE as exc:
                driver.interrupted("disconnected")
                retry_after, hub_trouble = exc.retry_after, True
            # Count troubles since a stream last delivered; the first 410 or silence retries at once.
            failures = failures + 1 if position == driver.last_streamed else 1
            position = driver.last_streamed
            if hub_trouble or failures > 1:
                await asyncio.sleep(backoff_delay(failures, settings=settings, rng=rng, retry_after=retry_after))
    finally:
        # Stopped while blind (the caller is done with the watch): the gap so far is still a gap.
        driver.close_open_gap()
        # The listener closes over the driver: put the caller's back, so no cycle keeps the driver's
        # objects alive until a full collection (which runs only between cycles).
        driver.on_gap = own_on_gap


async def _stream(hub: Hub, resource: Resource, driver: WatchDriver, *, namespace: str | None,
                  labels: str | None, fields: str | None, settings: ClientSettings,
                  retry: bool) -> AsyncGenerator[WatchEvent, None]:
    """One watch request from the driver's resourceVersion, read line by line until it ends.

    The inactivity deadline bounds each read (never a yield, so a slow consumer cannot trip it);
    on expiry the stream is dropped and _Inactive raised.
    """
    query = [("watch", "true"), ("allowWatchBookmarks", "true"),
             ("timeoutSeconds", str(settings.watch_timeout_seconds)),
             ("resourceVersion", driver.resource_version)]
    query += [(k, v) for k, v in (("labelSelector", labels), ("fieldSelector", fields)) if v]
    path = resource.path(namespace=namespace)
    inactivity = settings.watch_inactivity
    async with AsyncExitStack() as stack:
        try:
            async with asyncio.timeout(inactivity):
                response = await stack.enter_async_context(
                    hub.transport.stream(path, resource=resource, namespace=namespace, query=query, retry=retry))
        except TimeoutError:
            raise _Inactive from None
        driver.stream_opened()
        while True:
            try:
                async with asyncio.timeout(max(0.0, driver.deadline(inactivity) - driver.clock())):
                    line = await response.content.readline()
            except TimeoutError:
                raise _Inactive from None
            except (aiohttp.ClientError, OSError) as exc:
                raise HubUnreachableError(f"the watch stream broke: {type(exc).__name__}", hub=hub.name,
                                          resource=resource.key, status=None, reason="Disconnected", verb="watch",
                                          namespace=namespace) from exc
            if not line:
                return
            try:
                event = driver.feed(line)
            except ValueError as exc:  # a torn line: the connection broke mid-event
                raise HubUnreachableError(f"the watch stream broke: {exc}", hub=hub.name, resource=resource.key,
                                          status=None, reason="Disconnected", verb="watch",
                                          namespace=namespace) from exc
            if event is not None:
                yield event
