"""A live, watched set of one resource type, and waits on predicates over the whole set.

    async with ResourceCache(hub, ACM_RESTORES, namespace=BACKUP_NS) as restores:
        await restores.ready()
        await restores.wait_for(lambda objs: not objs, timeout=1800, description="all restores gone")
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any

from .errors import WaitTimeout
from .events import Gap, GapReason, WatchEvent
from .hub import Hub, Selector
from .resources import Resource
from .settings import ClientSettings
from .watching import WatchDriver, watch

__all__ = ["CacheHealth", "Objects", "Predicate", "ResourceCache", "summarize"]

Objects = Mapping[str, dict[str, Any]]
"""The current objects by key: the name, or ``namespace/name`` for a namespaced type watched in all namespaces."""

Predicate = Callable[[Objects], bool]

_SUMMARY_LIMIT = 10


@dataclass(frozen=True, slots=True)
class CacheHealth:
    """How current a cache is, for monitors and metrics."""

    ready: bool
    objects: int
    last_event_monotonic: float | None
    """Event-loop time of the last change read from a stream (None before the first one)."""
    last_activity_monotonic: float | None
    """Event-loop time of the last line read or stream opened."""
    lists: int
    relists: int
    streams: int
    gaps: int
    open_gap: GapReason | None
    """Why the cache is not current right now, or None when it is."""


@dataclass(slots=True)
class _Waiter:
    predicate: Predicate
    future: asyncio.Future[dict[str, dict[str, Any]]]


def summarize(objects: Objects) -> str:
    """A short line about a set of objects: count, then names with status.phase where there is one."""
    if not objects:
        return "no objects"
    parts = []
    for key, obj in list(objects.items())[:_SUMMARY_LIMIT]:
        status = obj.get("status")
        phase = status.get("phase") if isinstance(status, dict) else None
        parts.append(f"{key} (phase={phase})" if phase else key)
    more = len(objects) - _SUMMARY_LIMIT
    return f"{len(objects)} object(s): {', '.join(parts)}" + (f", and {more} more" if more > 0 else "")


class ResourceCache:
    """The objects of one type on one hub, kept current by a watch running in its own task.

    Use as an async context manager (the task is cancelled on exit), then ``await ready()``.
    A watch that fails for good (403, an unserved type) fails ``ready``, every ``wait_for``,
    and the exit of the context if nobody saw the error before.
    """

    def __init__(self, hub: Hub, resource: Resource, *, namespace: str | None = None,
                 label_selector: Selector | None = None, field_selector: Selector | None = None,
                 settings: ClientSettings | None = None, on_gap: Callable[[Gap], None] | None = None) -> None:
        self.hub = hub
        self.resource = resource
        self.namespace = namespace
        self._selectors = (label_selector, field_selector)
        self._settings = settings or hub.settings
        self._on_gap = on_gap
        self._by_key = namespace is not None or not resource.namespaced
        self._objects: dict[str, dict[str, Any]] = {}
        self._view: Objects = MappingProxyType(self._objects)
        self._waiters: list[_Waiter] = []
        self._settled = asyncio.Event()  # the first list is applied, or the watch failed
        self._error: Exception | None = None
        self._error_seen = False
        self._driver: WatchDriver | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The task's name: ``watch:<plural.group>@<hub>``."""
        return f"watch:{self.resource.key}@{self.hub.name}"

    @property
    def task(self) -> asyncio.Task[None]:
        """The watch task, for supervisors (it ends only when cancelled or when the watch fails for good)."""
        if self._task is None:
            raise RuntimeError(f"{self.name} is not running: use `async with` first")
        return self._task

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> ResourceCache:
        if self._task is not None:
            raise RuntimeError(f"{self.name} is already running")
        self._driver = WatchDriver(clock=asyncio.get_running_loop().time, hub=self.hub.name,
                                   resource=self.resource.key, on_gap=self._on_gap)
        self._task = asyncio.create_task(self._run(), name=self.name)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.wait({self._task})
        for waiter in self._waiters:
            waiter.future.cancel()
        self._waiters.clear()
        # The cancelled task keeps its CancelledError, whose traceback holds the watch's frames, which hold
        # this cache: dropping the task breaks that cycle, so the cached objects go now rather than at the
        # next full collection (with gc_between_cycles, the end of the cycle; issue 15).
        self._task = None
        if exc is None and self._error is not None and not self._error_seen:
            self._error_seen = True
            raise self._error

    async def ready(self) -> None:
        """Return once the initial list is applied; raise the watch's error if it failed first."""
        if self._task is None:
            raise RuntimeError(f"{self.name} is not running: use `async with` first")
        await self._settled.wait()
        self._raise_if_failed()

    # -- reading ---------------------------------------------------------------------------------

    @property
    def objects(self) -> Objects:
        """A read-only live view of the current objects (changes as events arrive)."""
        self._need_ready()
        return self._view

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A copy of the current key → object mapping (the objects themselves are shared: do not change them)."""
        self._need_ready()
        return dict(self._objects)

    def get(self, key: str) -> dict[str, Any] | None:
        self._need_ready()
        return self._objects.get(key)

    @property
    def gaps(self) -> list[Gap]:
        """Closed gaps so far, oldest first."""
        return list(self._driver.gaps) if self._driver else []

    @property
    def health(self) -> CacheHealth:
        d = self._driver
        return CacheHealth(
            ready=self._settled.is_set() and self._error is None,
            objects=len(self._objects),
            last_event_monotonic=d.last_event if d else None,
            last_activity_monotonic=d.last_activity if d else None,
            lists=d.lists if d else 0,
            relists=d.relists if d else 0,
            streams=d.streams if d else 0,
            gaps=len(d.gaps) if d else 0,
            open_gap=d.open_gap if d else None,
        )

    def key_of(self, obj: Mapping[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        return name if self._by_key or not meta.get("namespace") else f"{meta['namespace']}/{name}"

    # -- waiting ---------------------------------------------------------------------------------

    async def wait_for(self, predicate: Predicate, *, timeout: float,  # noqa: ASYNC109 -- the deadline is part of the wait's report
                       description: str, summary: Callable[[Objects], str] = summarize) -> dict[str, dict[str, Any]]:
        """Wait until ``predicate(objects)`` holds; return the snapshot it held for.

        The predicate sees the whole current set, right away and again after every change
        (a relist counts as one change). At the deadline, WaitTimeout says what was awaited
        and what was last seen.
        """
        try:
            async with asyncio.timeout(timeout):
                await self.ready()
                if predicate(self._view):
                    return dict(self._objects)
                waiter = _Waiter(predicate, asyncio.get_running_loop().create_future())
                self._waiters.append(waiter)
                try:
                    return await waiter.future
                finally:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
        except TimeoutError:
            seen = summary(self._view) if self._settled.is_set() else "the initial list had not arrived"
            gap = self.health.open_gap
            watch_state = f"; the watch is not current ({gap})" if gap else ""
            raise WaitTimeout(
                f"{self.hub.name}: timed out after {timeout:g} s waiting for {description}; "
                f"last seen {self.resource.key}: {seen}{watch_state}",
                description=description, timeout=timeout, summary=seen) from None

    # -- inside ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._driver is not None
        labels, fields_ = self._selectors
        try:
            async with aclosing(watch(self.hub, self.resource, namespace=self.namespace, label_selector=labels,
                                      field_selector=fields_, settings=self._settings,
                                      driver=self._driver)) as events:
                async for event in events:
                    self._apply(event)
        except Exception as exc:  # kept, and raised where someone waits; see the class docstring
            self._error = exc
            for waiter in self._waiters:
                if not waiter.future.done():
                    self._error_seen = True
                    waiter.future.set_exception(exc)
            self._settled.set()

    def _apply(self, event: WatchEvent) -> None:
        if event.type == "SYNC":
            self._settled.set()
            self._evaluate()
            return
        key = self.key_of(event.object)
        if event.type == "DELETED":
            self._objects.pop(key, None)
        else:
            self._objects[key] = event.object
        if not event.from_list:  # a relist is judged as a whole, at its SYNC
            self._evaluate()

    def _evaluate(self) -> None:
        if not self._settled.is_set():
            return
        for waiter in self._waiters:
            if waiter.future.done():
                continue
            try:
                held = waiter.predicate(self._view)
            except Exception as exc:  # the predicate's own bug fails its waiter, not the cache
                waiter.future.set_exception(exc)
                continue
            if held:
                waiter.future.set_result(dict(self._objects))

    def _need_ready(self) -> None:
        if not self._settled.is_set():
            raise RuntimeError(f"{self.name}: await ready() before reading the cache")
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            self._error_seen = True
            raise self._error
