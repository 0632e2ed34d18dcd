"""Helpers for the watch and cache tests: events within deadlines, and objects written straight to the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from asyncswitch.kube import WatchEvent
from asyncswitch.sim import ApiServer

DEADLINE = 5.0
"""Seconds a test waits for something that should happen at once (the loop's time is real)."""


async def take(events: AsyncIterator[WatchEvent], count: int, *, within: float = DEADLINE) -> list[WatchEvent]:
    """The next ``count`` events, all within one deadline."""
    out: list[WatchEvent] = []
    async with asyncio.timeout(within):
        while len(out) < count:
            out.append(await anext(events))
    return out


async def take_until_sync(events: AsyncIterator[WatchEvent], *, within: float = DEADLINE) -> list[WatchEvent]:
    """Events up to and including the next SYNC."""
    out: list[WatchEvent] = []
    async with asyncio.timeout(within):
        while not out or out[-1].type != "SYNC":
            out.append(await anext(events))
    return out


def brief(events: list[WatchEvent]) -> list[tuple[str, str]]:
    return [(e.type, e.name) for e in events]


def put(hub: ApiServer, namespace: str, name: str, **data: str) -> None:
    """Create or replace a ConfigMap directly in the hub's store (no await: nothing else runs meanwhile)."""
    cms = hub.store.type_of("configmaps")
    if hub.store.find(cms, namespace, name) is None:
        hub.store.create(cms, namespace, {"metadata": {"name": name}, "data": data})
    else:
        hub.store.patch(cms, namespace, name, "application/merge-patch+json", {"data": data})


def remove(hub: ApiServer, namespace: str, name: str) -> None:
    hub.store.delete(hub.store.type_of("configmaps"), namespace, name)
