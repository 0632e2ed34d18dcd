"""Watches that survive what real API servers do: dropped streams, 410 Gone, silence, and failures."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import pytest

from asyncswitch.kube import CONFIG_MAPS, MANAGED_CLUSTERS, ClientSettings, Hub, NotFoundError, WatchDriver, WatchEvent
from asyncswitch.kube import watch as watch_resource
from asyncswitch.sim import ApiServer, FaultRule

from .support import brief, put, remove, take, take_until_sync


@pytest.fixture
async def driver() -> WatchDriver:
    return WatchDriver(clock=asyncio.get_running_loop().time, hub="hub", resource="configmaps")


@pytest.fixture
async def events(kube: Hub, namespace: str, driver: WatchDriver,
                 settings: ClientSettings) -> AsyncIterator[AsyncGenerator[WatchEvent, None]]:
    """A running watch of the namespace's ConfigMaps, closed after the test."""
    async with aclosing(watch_resource(kube, CONFIG_MAPS, namespace=namespace, settings=settings,
                                       driver=driver)) as stream:
        yield stream


async def test_a_watch_starts_with_the_current_objects_then_streams_changes(
        hub: ApiServer, namespace: str, events: AsyncGenerator[WatchEvent, None]) -> None:
    put(hub, namespace, "a")
    put(hub, namespace, "b")

    initial = await take_until_sync(events)
    put(hub, namespace, "c")
    put(hub, namespace, "a", k="v")
    remove(hub, namespace, "b")
    live = await take(events, 3)

    assert brief(initial) == [("ADDED", "a"), ("ADDED", "b"), ("SYNC", "")]
    assert brief(live) == [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert live[1].object["data"] == {"k": "v"}
    assert not any(e.from_list for e in live)


async def streaming(hub: ApiServer, namespace: str, events: AsyncGenerator[WatchEvent, None]) -> None:
    """Take the initial list and one live event: the watch's stream is then open (a generator runs only when pulled)."""
    await take_until_sync(events)
    put(hub, namespace, "first")
    assert brief(await take(events, 1)) == [("ADDED", "first")]


async def test_a_dropped_stream_resumes_where_it_was_without_losing_or_repeating_events(
        hub: ApiServer, namespace: str, events: AsyncGenerator[WatchEvent, None], driver: WatchDriver) -> None:
    await streaming(hub, namespace, events)

    assert hub.drop_watches("configmaps") == 1
    for i in range(5):  # written while no stream is open: the resumed watch must replay them
        put(hub, namespace, f"missed-{i}")
    seen = await take(events, 5)
    put(hub, namespace, "after")
    (after,) = await take(events, 1)

    assert brief(seen) == [("ADDED", f"missed-{i}") for i in range(5)]
    assert after.name == "after"
    assert len(hub.requests.records(verb="list", resource="configmaps")) == 1  # resumed, not relisted
    assert driver.gaps == []
    assert driver.streams == 2


async def test_an_expired_resume_relists_and_delivers_deletions_as_deleted(
        hub: ApiServer, namespace: str, events: AsyncGenerator[WatchEvent, None], driver: WatchDriver) -> None:
    put(hub, namespace, "kept")
    put(hub, namespace, "doomed")
    put(hub, namespace, "changed")
    await streaming(hub, namespace, events)

    hub.faults.expire_next_watches("configmaps")
    assert hub.drop_watches("configmaps") == 1
    remove(hub, namespace, "doomed")
    put(hub, namespace, "changed", k="v")
    put(hub, namespace, "born")
    diff = await take_until_sync(events)

    assert sorted(brief(diff)) == [("ADDED", "born"), ("DELETED", "doomed"), ("MODIFIED", "changed"), ("SYNC", "")]
    assert all(e.from_list for e in diff)
    assert [g.reason for g in driver.gaps] == ["expired"]
    assert driver.relists == 1
    assert sorted(name for _, name in driver.objects) == ["born", "changed", "first", "kept"]


async def test_a_compacted_history_makes_the_watch_relist_and_converge(
        hub: ApiServer, namespace: str, events: AsyncGenerator[WatchEvent, None], driver: WatchDriver) -> None:
    put(hub, namespace, "a")
    put(hub, namespace, "b")
    await streaming(hub, namespace, events)

    assert hub.drop_watches("configmaps") == 1
    remove(hub, namespace, "a")
    put(hub, namespace, "b", k="v")
    hub.store.compact()
    diff = await take_until_sync(events)
    put(hub, namespace, "c")
    (live,) = await take(events, 1)

    assert brief(diff) == [("DELETED", "a"), ("MODIFIED", "b"), ("SYNC", "")]
    assert (live.type, live.name, live.from_list) == ("ADDED", "c", False)
    assert [g.reason for g in driver.gaps] == ["expired"]
    assert driver.gaps[0].duration >= 0


async def test_a_silent_stream_is_re_established_and_the_gap_recorded(
        hub: ApiServer, kube: Hub, namespace: str, settings: ClientSettings) -> None:
    quiet_after = 0.5
    loop = asyncio.get_running_loop()
    # The stall lasts until our watch notices the silence and reconnects.
    driver = WatchDriver(clock=loop.time, on_gap=lambda gap: hub.faults.unstall_watches("configmaps"))
    impatient = dataclasses.replace(settings, watch_inactivity=quiet_after)
    async with aclosing(watch_resource(kube, CONFIG_MAPS, namespace=namespace, settings=impatient,
                                       driver=driver)) as events:
        await streaming(hub, namespace, events)
        hub.faults.stall_watches("configmaps")
        put(hub, namespace, "late")
        stalled_at = loop.time()

        (late,) = await take(events, 1)

    assert late.name == "late"
    (gap,) = driver.gaps
    assert gap.reason == "inactive"
    assert gap.ended_monotonic - stalled_at >= quiet_after
    assert late.received_monotonic >= gap.ended_monotonic
    assert len(hub.requests.records(verb="list", resource="configmaps")) == 1


async def test_a_watch_that_cannot_reconnect_backs_off_and_catches_up(
        hub: ApiServer, namespace: str, events: AsyncGenerator[WatchEvent, None], driver: WatchDriver) -> None:
    await streaming(hub, namespace, events)
    hub.faults.add(FaultRule(verb="watch", resource="configmaps", error_rate=1.0, status=503, times=2))

    assert hub.drop_watches("configmaps") == 1
    put(hub, namespace, "meanwhile")
    (event,) = await take(events, 1)

    assert event.name == "meanwhile"
    assert [r.status for r in hub.requests.records(verb="watch", resource="configmaps")].count(503) == 2
    assert [g.reason for g in driver.gaps] == ["disconnected"]


async def test_a_watch_of_a_type_the_hub_does_not_serve_fails_at_once(kube: Hub) -> None:
    with pytest.raises(NotFoundError):
        async with aclosing(watch_resource(kube, MANAGED_CLUSTERS)) as events:
            await take(events, 1)
