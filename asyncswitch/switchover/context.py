"""The context every phase runs in: both hubs, the options, the state, the event queue, and the
helpers that make each step resumable and each mutation dry-run aware."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog

from ..kube import Hub, Resource, ResourceCache
from .events import PhaseResult, SwitchoverEvent
from .options import SwitchoverOptions
from .state import StateStore

__all__ = ["SwitchoverContext"]

Objects = Mapping[str, Mapping[str, Any]]
T = TypeVar("T")


class SwitchoverContext:
    def __init__(self, *, primary: Hub, secondary: Hub, options: SwitchoverOptions, store: StateStore,
                 events: asyncio.Queue[SwitchoverEvent] | None = None) -> None:
        self.primary = primary
        self.secondary = secondary
        self.options = options
        self.store = store
        self.events = events
        self.phase = "init"
        self.result: PhaseResult | None = None
        self.log = structlog.get_logger("asyncswitch.switchover")

    # -- state -----------------------------------------------------------------------------

    @property
    def facts(self) -> dict[str, Any]:
        return self.store.state.facts

    async def remember(self, **facts: Any) -> None:
        """Record facts later steps (or a resumed run) need, and save at once."""
        if self.options.dry_run:
            self.facts.update(facts)
            return
        self.facts.update(facts)
        await self.store.save()

    def emit(self, kind: str, name: str = "", *, hub: str = "", **detail: Any) -> None:
        event = SwitchoverEvent(kind=kind, phase=self.phase, name=name, hub=hub, detail=detail)
        if self.events is not None:
            self.events.put_nowait(event)

    def warn(self, message: str) -> None:
        if self.result is not None:
            self.result.warnings.append(message)
        self.log.warning(message, phase=self.phase)
        self.emit("warning", message)

    def server_time(self, key: str, value: str | None) -> None:
        if value and self.result is not None:
            self.result.server_timestamps[key] = value

    # -- steps -----------------------------------------------------------------------------

    async def step(self, name: str, action: Callable[[], Awaitable[None]], *,
                   verify: Callable[[], Awaitable[bool]] | None = None) -> None:
        """Run a step once. A step recorded as done is skipped only if ``verify`` (re-checking the
        hubs) still agrees; the record is written right after the step, so a crash in between
        means the (idempotent) step runs again."""
        state = self.store.state
        if name in state.completed_steps:
            if verify is None or await verify():
                self.emit("step_skipped", name)
                return
            self.log.info("step recorded as done but the hub disagrees; running it again", step=name)
        self.emit("step_started", name)
        started = time.monotonic()
        await action()
        state.completed_steps[name] = datetime.now(UTC).isoformat(timespec="milliseconds")
        if not self.options.dry_run:
            await self.store.save()
        self.emit("step_finished", name, duration=time.monotonic() - started)

    async def for_each(self, items: Iterable[T], action: Callable[[T], Awaitable[object]]) -> None:
        """Run ``action`` on every item, ``options.write_concurrency`` at a time.

        A fleet-wide write (an annotation on every ManagedCluster) is thousands of independent,
        idempotent requests: sent one after another they cost a round trip each. The first failure
        cancels the rest and is raised as itself; a resumed step redoes only what the hub lacks.
        """
        pending = iter(items)

        async def worker() -> None:
            for item in pending:  # shared: each item goes to exactly one worker
                await action(item)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.options.write_concurrency):
                    group.create_task(worker())
        except BaseExceptionGroup as failures:
            raise _first_leaf(failures) from None

    # -- mutations (nothing is sent in dry-run) ----------------------------------------------

    def _dry(self, verb: str, hub: Hub, resource: Resource, name: str) -> bool:
        if self.options.dry_run:
            self.log.info(f"dry-run: would {verb} {resource.kind} {name}", hub=hub.name)
            self.emit("dry_run", f"{verb} {resource.kind}/{name}", hub=hub.name)
            return True
        return False

    async def patch(self, hub: Hub, resource: Resource, name: str, patch: dict[str, Any],
                    namespace: str | None = None) -> dict[str, Any] | None:
        if self._dry("patch", hub, resource, name):
            return None
        return await hub.patch(resource, name, patch, namespace)

    async def create(self, hub: Hub, resource: Resource, body: dict[str, Any],
                     namespace: str | None = None) -> dict[str, Any] | None:
        if self._dry("create", hub, resource, str(body.get("metadata", {}).get("name", ""))):
            return None
        return await hub.create(resource, body, namespace)

    async def delete(self, hub: Hub, resource: Resource, name: str, namespace: str | None = None, *,
                     uid: str | None = None) -> bool:
        if self._dry("delete", hub, resource, name):
            return False
        return await hub.delete(resource, name, namespace, preconditions={"uid": uid} if uid else None)

    async def scale(self, hub: Hub, resource: Resource, name: str, replicas: int, namespace: str) -> None:
        if self._dry(f"scale to {replicas}", hub, resource, name):
            return
        await hub.scale(resource, name, replicas, namespace)

    # -- waits -----------------------------------------------------------------------------

    async def wait(self, hub: Hub, resource: Resource, predicate: Callable[[Objects], bool], *,
                   timeout: float,  # noqa: ASYNC109 -- the deadline is part of the wait's report
                   description: str, namespace: str | None = None,
                   label_selector: str | None = None) -> dict[str, dict[str, Any]]:
        """A watch with a deadline: returns the objects the predicate held for."""
        self.emit("wait_started", description, hub=hub.name, timeout=timeout)
        started = time.monotonic()
        async with ResourceCache(hub, resource, namespace=namespace, label_selector=label_selector) as cache:
            objects = await cache.wait_for(predicate, timeout=timeout, description=description)
        self.emit("wait_satisfied", description, hub=hub.name, waited=time.monotonic() - started)
        return objects


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
