"""Watches through kubernetes_asyncio: initial state, resumption, 410, bookmarks, timeouts, selectors.

Every wait is a deadline on the event stream itself: the test never sleeps for state to settle.
"""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, ResourceType

from .support import EventFeed, next_event, next_events, widget

G, V, P = "example.io", "v1", "widgets"


@pytest.fixture
def quick_bookmarks(hub: ApiServer) -> None:
    """Bookmarks every 50 ms instead of the fixture's 200 ms, for tests that wait for a few of them."""
    hub.bookmark_interval = 0.05


async def make(core: client.CoreV1Api, name: str, namespace: str = "default", **labels: str) -> str:
    """Create a ConfigMap; return its resourceVersion."""
    created = await core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})
    return str(created.metadata.resource_version)


async def current_rv(core: client.CoreV1Api) -> str:
    return str((await core.list_namespaced_config_map("default")).metadata.resource_version)


# -- where a watch starts ------------------------------------------------------------------


@pytest.mark.parametrize("start", ["", "0", None])
async def test_a_watch_without_a_resource_version_starts_with_current_objects_as_added_then_live_events(
    core: client.CoreV1Api, start: str | None
) -> None:
    await make(core, "a")
    await make(core, "b")
    since = {} if start is None else {"resource_version": start}

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30, **since)
        initial = await next_events(stream, 2)
        await make(core, "c")
        await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
        await core.delete_namespaced_config_map("b", "default")
        live = await next_events(stream, 3)

    assert initial == [("ADDED", "a"), ("ADDED", "b")]
    assert live == [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]


async def test_a_watch_from_a_resource_version_sees_only_newer_events(core: client.CoreV1Api) -> None:
    await make(core, "before")
    since = await current_rv(core)
    await make(core, "after")
    await core.patch_namespaced_config_map("before", "default", {"data": {"k": "v"}})

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        events = await next_events(stream, 2)

    assert events == [("ADDED", "after"), ("MODIFIED", "before")]


@pytest.mark.usefixtures("quick_bookmarks")
async def test_a_watch_resumed_after_a_disconnect_sees_exactly_the_events_it_missed(core: client.CoreV1Api) -> None:
    since = await current_rv(core)
    await make(core, "a")
    await make(core, "b")
    async with watch.Watch() as first:
        stream = first.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        seen = await next_events(stream, 2)
        resume_from = first.resource_version
    # Missed while disconnected:
    await make(core, "c")
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    await core.delete_namespaced_config_map("b", "default")

    async with watch.Watch() as second:
        stream = second.stream(core.list_namespaced_config_map, "default", resource_version=resume_from,
                               timeout_seconds=30, allow_watch_bookmarks=True)
        missed = await next_events(stream, 3)
        after = await next_event(stream, bookmarks=True)

    assert seen == [("ADDED", "a"), ("ADDED", "b")]
    assert missed == [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert after["type"] == "BOOKMARK"  # nothing more was queued: no repeats, no gaps


async def test_a_watch_from_a_compacted_resource_version_gets_410_expired(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    since = await current_rv(core)
    await make(core, "a")
    hub.store.compact()

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        with pytest.raises(ApiException) as caught:
            await next_event(stream)

    assert caught.value.status == 410
    assert "Expired" in caught.value.reason


async def test_after_a_410_a_relist_and_a_watch_from_its_resource_version_work(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    since = await current_rv(core)
    await make(core, "a")
    hub.store.compact()
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        with pytest.raises(ApiException):
            await next_event(stream)

    relisted = await core.list_namespaced_config_map("default")
    await make(core, "b")
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default",
                          resource_version=relisted.metadata.resource_version, timeout_seconds=30)
        events = await next_events(stream, 1)

    assert [cm.metadata.name for cm in relisted.items] == ["a"]
    assert events == [("ADDED", "b")]


async def test_a_watch_from_the_version_compaction_stopped_at_still_works(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    await make(core, "a")
    hub.store.compact()
    since = await current_rv(core)
    await make(core, "b")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        events = await next_events(stream, 1)

    assert events == [("ADDED", "b")]


# -- bookmarks and the end of a stream ---------------------------------------------------


@pytest.mark.usefixtures("quick_bookmarks")
async def test_an_idle_watch_with_allow_watch_bookmarks_gets_bookmarks_at_the_current_version(
    core: client.CoreV1Api,
) -> None:
    since = await make(core, "a")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since,
                          allow_watch_bookmarks=True, timeout_seconds=30)
        first = await next_event(stream, bookmarks=True)
        second = await next_event(stream, bookmarks=True)
        tracked = w.resource_version

    for bookmark in (first, second):
        assert bookmark["type"] == "BOOKMARK"
        assert bookmark["raw_object"]["kind"] == "ConfigMap"
        assert bookmark["raw_object"]["apiVersion"] == "v1"
        assert bookmark["raw_object"]["metadata"] == {"resourceVersion": since}
    assert tracked == since


@pytest.mark.usefixtures("quick_bookmarks")
async def test_a_bookmark_after_a_write_carries_the_newer_version(core: client.CoreV1Api) -> None:
    since = await current_rv(core)

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since,
                          allow_watch_bookmarks=True, timeout_seconds=30)
        assert (await next_event(stream, bookmarks=True))["type"] == "BOOKMARK"
        written = await make(core, "a")
        added = await next_event(stream)
        bookmark = await next_event(stream, bookmarks=True)

    assert added["type"] == "ADDED"
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["raw_object"]["metadata"]["resourceVersion"] == written


@pytest.mark.usefixtures("quick_bookmarks")
async def test_a_watch_without_allow_watch_bookmarks_gets_no_bookmarks(core: client.CoreV1Api) -> None:
    since = await current_rv(core)

    async with watch.Watch() as plain, watch.Watch() as with_bookmarks:
        quiet = plain.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        ticking = with_bookmarks.stream(core.list_namespaced_config_map, "default", resource_version=since,
                                        allow_watch_bookmarks=True, timeout_seconds=30)
        async with EventFeed(quiet) as feed:
            # Bookmark intervals have passed once the other watch has had three bookmarks.
            for _ in range(3):
                assert (await next_event(ticking, bookmarks=True))["type"] == "BOOKMARK"
            await make(core, "a")
            event = await feed.next(bookmarks=True)

    assert event["type"] == "ADDED"


async def test_timeout_seconds_ends_the_stream_and_the_watch_resumes_from_its_last_resource_version(
    core: client.CoreV1Api,
) -> None:
    since = await current_rv(core)
    await make(core, "a")
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=1)
        assert await next_events(stream, 1) == [("ADDED", "a")]
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)
        resume_from = w.resource_version
    await make(core, "b")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=resume_from,
                          timeout_seconds=30)
        assert await next_events(stream, 1) == [("ADDED", "b")]


# -- what a watch sees -------------------------------------------------------------------


async def test_a_label_selector_watch_sees_objects_entering_and_leaving_the_selection(
    core: client.CoreV1Api,
) -> None:
    since = await current_rv(core)
    await make(core, "in", app="web")
    await make(core, "out", app="db")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", label_selector="app=web",
                          resource_version=since, timeout_seconds=30)
        assert await next_events(stream, 1) == [("ADDED", "in")]
        await core.patch_namespaced_config_map("in", "default", {"metadata": {"labels": {"app": "db"}}})
        left = await next_event(stream)
        await core.patch_namespaced_config_map("out", "default", {"metadata": {"labels": {"app": "web"}}})
        entered = await next_event(stream)
        await core.patch_namespaced_config_map("out", "default", {"data": {"k": "v"}})
        modified = await next_event(stream)

    assert (left["type"], left["object"].metadata.name) == ("DELETED", "in")
    assert left["object"].metadata.labels == {"app": "db"}  # the object as it is now, after it left
    assert (entered["type"], entered["object"].metadata.name) == ("ADDED", "out")
    assert (modified["type"], modified["object"].metadata.name) == ("MODIFIED", "out")


async def test_a_field_selector_watch_sees_only_the_named_object(core: client.CoreV1Api) -> None:
    since = await current_rv(core)
    await make(core, "other")
    await make(core, "mine")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", field_selector="metadata.name=mine",
                          resource_version=since, timeout_seconds=30)
        events = await next_events(stream, 1)

    assert events == [("ADDED", "mine")]


async def test_a_namespaced_watch_sees_nothing_from_other_namespaces_and_a_cluster_watch_sees_all(
    core: client.CoreV1Api,
) -> None:
    since = await current_rv(core)
    await make(core, "elsewhere", namespace="kube-system")
    await make(core, "here")

    async with watch.Watch() as one, watch.Watch() as every:
        namespaced = one.stream(core.list_namespaced_config_map, "default", resource_version=since,
                                timeout_seconds=30)
        cluster = every.stream(core.list_config_map_for_all_namespaces, resource_version=since, timeout_seconds=30)
        in_namespace = await next_events(namespaced, 1)
        everywhere = await next_events(cluster, 2)

    assert in_namespace == [("ADDED", "here")]
    assert everywhere == [("ADDED", "elsewhere"), ("ADDED", "here")]


async def test_a_write_reaches_an_open_watch_at_once(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))

    async with watch.Watch() as w:
        stream = w.stream(custom.list_namespaced_custom_object, G, V, "default", P, timeout_seconds=30)
        initial = await next_event(stream)  # the watch is live once the current state has arrived
        written = await custom.patch_namespaced_custom_object_status(
            G, V, "default", P, "w", {"status": {"ready": True}}, _content_type="application/merge-patch+json")
        event = await next_event(stream)

    assert initial["type"] == "ADDED"
    assert event["type"] == "MODIFIED"
    assert event["object"] == event["raw_object"] == written  # custom objects arrive as plain dicts
    assert w.resource_version == written["metadata"]["resourceVersion"]


async def test_a_change_made_inside_the_server_reaches_an_http_watch(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    await make(core, "a")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        assert await next_events(stream, 1) == [("ADDED", "a")]  # the watch is live
        hub.store.create(hub.store.type_of("configmaps"), "default", {"metadata": {"name": "from-python"}})
        event = await next_event(stream)

    assert (event["type"], event["object"].metadata.name) == ("ADDED", "from-python")


async def test_watch_events_arrive_in_resource_version_order(core: client.CoreV1Api) -> None:
    since = await current_rv(core)
    for i in range(5):
        await make(core, f"cm-{i}")
        await core.patch_namespaced_config_map(f"cm-{i}", "default", {"data": {"i": str(i)}})

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        versions = [int((await next_event(stream))["object"].metadata.resource_version) for _ in range(10)]

    assert versions == sorted(versions)
    assert len(set(versions)) == 10
