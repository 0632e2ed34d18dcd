"""Injected faults and the request log: what a client of a misbehaving API server sees."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, FaultRule, FaultTable

from .support import EventFeed, assert_status, http, next_event, next_events


@pytest.fixture
def quick_bookmarks(hub: ApiServer) -> None:
    """Bookmarks every 50 ms instead of the fixture's 200 ms, for tests that wait for a few of them."""
    hub.bookmark_interval = 0.05


async def make(core: client.CoreV1Api, name: str) -> None:
    await core.create_namespaced_config_map("default", {"metadata": {"name": name}})


# -- error rules -----------------------------------------------------------------------------


async def test_an_error_rate_of_one_fails_every_matching_request_with_the_rule_status(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    await make(core, "a")
    rule_id = hub.faults.add(FaultRule(verb="get", resource="configmaps", error_rate=1.0, status=503))

    for _ in range(3):
        with pytest.raises(ApiException) as caught:
            await core.read_namespaced_config_map("a", "default")
        body = assert_status(caught.value, 503, "ServiceUnavailable")
        assert rule_id in body["message"]
    listed = await core.list_namespaced_config_map("default")  # another verb
    await core.create_namespaced_secret("default", {"metadata": {"name": "s"}})
    secret = await core.read_namespaced_secret("s", "default")  # another resource

    assert [cm.metadata.name for cm in listed.items] == ["a"]
    assert secret.metadata.name == "s"
    assert hub.faults.fired(rule_id) == 3


@pytest.mark.parametrize(("status", "reason"), [(403, "Forbidden"), (404, "NotFound"), (409, "Conflict"),
                                                (500, "InternalError"), (504, "Timeout")])
async def test_an_injected_fault_carries_the_reason_a_real_server_gives_its_code(
    hub: ApiServer, core: client.CoreV1Api, status: int, reason: str
) -> None:
    await make(core, "a")
    hub.faults.add(FaultRule(verb="get", resource="configmaps", error_rate=1.0, status=status))

    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_config_map("a", "default")

    assert_status(caught.value, status, reason)


async def test_a_rule_for_one_name_in_one_namespace_spares_the_others(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    await make(core, "b")
    hub.faults.add(FaultRule(verb="*", resource="configmaps", namespace="default", name="a", error_rate=1.0))

    with pytest.raises(ApiException) as caught:
        await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    spared = await core.patch_namespaced_config_map("b", "default", {"data": {"k": "v"}})

    assert_status(caught.value, 500, "InternalError")
    assert spared.data == {"k": "v"}


async def test_a_rule_can_name_the_resource_with_its_group(hub: ApiServer, apps: client.AppsV1Api) -> None:
    hub.faults.add(FaultRule(verb="list", resource="deployments.apps", error_rate=1.0, status=500))

    with pytest.raises(ApiException) as caught:
        await apps.list_namespaced_deployment("default")

    assert caught.value.status == 500


async def test_a_429_with_retry_after_sends_the_retry_after_header(hub: ApiServer, core: client.CoreV1Api) -> None:
    hub.faults.add(FaultRule(verb="list", resource="configmaps", error_rate=1.0, status=429, retry_after=7))

    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default")

    body = assert_status(caught.value, 429, "TooManyRequests")
    assert caught.value.headers["Retry-After"] == "7"
    assert body["details"]["retryAfterSeconds"] == 7


async def test_a_fault_without_retry_after_sends_no_retry_after_header(hub: ApiServer, core: client.CoreV1Api) -> None:
    hub.faults.add(FaultRule(verb="list", resource="configmaps", error_rate=1.0, status=503))

    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default")

    assert "Retry-After" not in caught.value.headers


async def test_a_rule_with_times_retires_after_that_many_failures(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    rule_id = hub.faults.add(FaultRule(verb="get", resource="configmaps", error_rate=1.0, status=503, times=2))

    failures = 0
    for _ in range(2):
        with pytest.raises(ApiException):
            await core.read_namespaced_config_map("a", "default")
        failures += 1
    third = await core.read_namespaced_config_map("a", "default")

    assert failures == 2
    assert third.metadata.name == "a"
    assert hub.faults.fired(rule_id) == 2


async def test_a_rule_for_the_watch_verb_fails_the_watch_request_and_spares_lists(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    hub.faults.add(FaultRule(verb="watch", resource="configmaps", error_rate=1.0, status=503))

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        with pytest.raises(ApiException) as caught:
            await next_event(stream)
    listed = await core.list_namespaced_config_map("default")

    # The library reads the Status body as if it were an event: the code arrives, the headers do not.
    assert caught.value.status == 503
    assert caught.value.reason.startswith("ServiceUnavailable")
    assert listed.items == []


async def test_removing_a_rule_ends_its_failures(hub: ApiServer, core: client.CoreV1Api) -> None:
    rule_id = hub.faults.add(FaultRule(verb="list", resource="*", error_rate=1.0))
    with pytest.raises(ApiException):
        await core.list_namespace()

    assert hub.faults.remove(rule_id)
    assert (await core.list_namespace()).items


def test_a_fault_rule_with_bad_values_is_rejected() -> None:
    for bad in ({"verb": "explode"}, {"error_rate": 2}, {"latency": -1}, {"status": 200}, {"colour": "red"}):
        with pytest.raises((ValueError, TypeError)):
            FaultRule.from_dict(bad)


# -- latency ---------------------------------------------------------------------------------


async def test_latency_delays_the_matching_request_as_the_request_log_shows(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    await make(core, "a")
    rule_id = hub.faults.add(FaultRule(verb="get", resource="configmaps", latency=0.05))

    got = await core.read_namespaced_config_map("a", "default")
    await core.list_namespaced_config_map("default")

    assert got.metadata.name == "a"
    [delayed] = hub.requests.records(verb="get", resource="configmaps")
    [undelayed] = hub.requests.records(verb="list", resource="configmaps")
    assert delayed.fault == rule_id
    assert delayed.duration_ms >= 50
    assert delayed.status == 200
    assert undelayed.fault is None
    assert hub.faults.fired(rule_id) == 1


# -- seeded randomness -----------------------------------------------------------------------


def decisions(table: FaultTable, count: int = 200) -> list[int | None]:
    return [table.decide("get", "configmaps", "default", "a").status for _ in range(count)]


def test_two_fault_tables_with_the_same_seed_decide_identically() -> None:
    rule = FaultRule(verb="get", resource="configmaps", error_rate=0.5, status=503)
    first, second, other = FaultTable(seed=7), FaultTable(seed=7), FaultTable(seed=8)
    for table in (first, second, other):
        table.add(rule)

    run = decisions(first)

    assert run == decisions(second)
    assert run != decisions(other)
    assert 50 < run.count(503) < 150  # about half fail


async def test_servers_with_the_same_seed_fail_the_same_requests() -> None:
    outcomes: list[list[int]] = []
    for _ in range(2):
        async with ApiServer("seeded", seed=11) as server, http(server, server.token) as session:
            server.faults.add(FaultRule(verb="list", resource="configmaps", error_rate=0.5, status=503))
            statuses = []
            for _ in range(30):
                async with session.get("/api/v1/namespaces/default/configmaps") as response:
                    statuses.append(response.status)
            outcomes.append(statuses)

    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 503}


# -- watch faults ----------------------------------------------------------------------------


async def test_drop_watches_ends_an_open_stream(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        assert await next_events(stream, 1) == [("ADDED", "a")]
        dropped = hub.drop_watches()
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)

    assert dropped == 1


async def test_drop_watches_of_one_resource_spares_the_others(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        await next_events(stream, 1)
        dropped = hub.drop_watches("secrets")
        await make(core, "b")
        still_open = await next_events(stream, 1)

    assert dropped == 0
    assert still_open == [("ADDED", "b")]


async def test_expire_next_watches_makes_the_next_watch_get_410_once(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    since = (await core.list_namespaced_config_map("default")).metadata.resource_version
    hub.faults.expire_next_watches("configmaps")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        with pytest.raises(ApiException) as caught:
            await next_event(stream)
    await make(core, "b")
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since, timeout_seconds=30)
        events = await next_events(stream, 1)

    assert caught.value.status == 410
    assert events == [("ADDED", "b")]


async def test_expire_next_watches_leaves_other_resources_alone(hub: ApiServer, core: client.CoreV1Api) -> None:
    await core.create_namespaced_secret("default", {"metadata": {"name": "s"}})
    hub.faults.expire_next_watches("configmaps")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_secret, "default", timeout_seconds=30)
        event = await next_event(stream)

    assert (event["type"], event["object"].metadata.name) == ("ADDED", "s")


@pytest.mark.usefixtures("quick_bookmarks")
async def test_a_stalled_watch_goes_silent_until_unstalled_and_then_delivers_what_it_held(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    since = (await core.list_namespaced_config_map("default")).metadata.resource_version

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=since,
                          allow_watch_bookmarks=True, timeout_seconds=30)
        async with EventFeed(stream) as feed:
            assert (await feed.next(bookmarks=True))["type"] == "BOOKMARK"  # live
            connection = w.resp
            hub.faults.stall_watches("configmaps")
            await make(core, "during-stall")
            await feed.assert_silent(0.3)  # six bookmark intervals: no event, no bookmark
            hub.faults.unstall_watches("configmaps")
            held = await feed.next()
            await make(core, "after-stall")
            after = await feed.next()
            assert w.resp is connection  # one connection throughout: no reconnect replayed anything

    assert (held["type"], held["object"].metadata.name) == ("ADDED", "during-stall")
    assert (after["type"], after["object"].metadata.name) == ("ADDED", "after-stall")


@pytest.mark.usefixtures("quick_bookmarks")
async def test_a_watch_opened_while_stalled_stays_silent(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    hub.faults.stall_watches("*")

    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", allow_watch_bookmarks=True, timeout_seconds=30)
        async with EventFeed(stream) as feed:
            await feed.assert_silent(0.2)
            hub.faults.clear()
            event = await feed.next()
            await make(core, "b")
            live = await feed.next()

    assert (event["type"], event["object"].metadata.name) == ("ADDED", "a")
    assert (live["type"], live["object"].metadata.name) == ("ADDED", "b")


# -- the admin endpoint ----------------------------------------------------------------------


async def test_a_fault_posted_to_the_admin_endpoint_takes_effect(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")

    async with http(hub, hub.token) as session:
        async with session.post("/_emulator/faults", json={"verb": "get", "resource": "configmaps",
                                                           "error_rate": 1.0, "status": 503}) as response:
            assert response.status == 201
            rule_id = (await response.json())["id"]
        with pytest.raises(ApiException) as caught:
            await core.read_namespaced_config_map("a", "default")
        async with session.get("/_emulator/faults") as response:
            described = await response.json()
        async with session.delete("/_emulator/faults") as response:
            assert response.status == 200
    recovered = await core.read_namespaced_config_map("a", "default")

    assert caught.value.status == 503
    assert [(r["id"], r["fired"]) for r in described["rules"]] == [(rule_id, 1)]
    assert recovered.metadata.name == "a"


async def test_a_bad_fault_rule_posted_to_the_admin_endpoint_gets_400(hub: ApiServer) -> None:
    async with http(hub, hub.token) as session, session.post("/_emulator/faults",
                                                             json={"verb": "explode"}) as response:
        body = await response.json()

    assert response.status == 400
    assert body["reason"] == "BadRequest"
    assert hub.faults.rules() == []


async def test_the_admin_endpoint_lists_served_requests(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    with pytest.raises(ApiException):
        await core.read_namespaced_config_map("missing", "default")

    async with http(hub, hub.token) as session, session.get("/_emulator/requests",
                                                            params={"resource": "configmaps"}) as response:
        listed = await response.json()

    assert response.status == 200
    assert [(r["verb"], r["path"], r["status"]) for r in listed["items"]] == [
        ("create", "/api/v1/namespaces/default/configmaps", 201),
        ("get", "/api/v1/namespaces/default/configmaps/missing", 404),
    ]
    assert listed["total"] == hub.requests.total


async def test_the_request_log_endpoint_with_limit_0_returns_no_records(hub: ApiServer, core: client.CoreV1Api) -> None:
    await core.list_namespaced_config_map("default")
    async with http(hub, hub.token) as session, session.get("/_emulator/requests", params={"limit": "0"}) as response:
        listed = await response.json()

    assert listed["items"] == []
    assert listed["total"] >= 1


async def test_the_admin_endpoint_drops_and_expires_watches(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")

    async with http(hub, hub.token) as session, watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        await next_events(stream, 1)
        async with session.post("/_emulator/watches/drop", json={"resource": "configmaps"}) as response:
            dropped = await response.json()
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)
        async with session.post("/_emulator/watches/expire", json={"resource": "configmaps"}) as response:
            assert response.status == 200
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        with pytest.raises(ApiException) as caught:
            await next_event(stream)

    assert dropped == {"dropped": 1}
    assert caught.value.status == 410


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/_emulator/faults"), ("POST", "/_emulator/faults"), ("GET", "/_emulator/requests"),
    ("POST", "/_emulator/watches/drop"), ("POST", "/_emulator/compact"),
])
async def test_the_admin_endpoint_refuses_the_read_only_token_with_403(
    hub: ApiServer, method: str, path: str
) -> None:
    async with http(hub, hub.read_only_token) as session, session.request(
            method, path, json={"verb": "get", "error_rate": 1.0}) as response:
        body = await response.json()

    assert response.status == 403
    assert body["reason"] == "Forbidden"
    assert hub.faults.rules() == []


async def test_the_admin_endpoint_refuses_a_request_without_a_token_with_401(hub: ApiServer) -> None:
    async with http(hub, "") as session, session.get("/_emulator/requests") as response:
        assert response.status == 401


# -- the request log -------------------------------------------------------------------------


async def test_the_request_log_records_verb_path_status_and_who(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    await core.delete_namespaced_config_map("a", "default")
    with pytest.raises(ApiException):
        await core.delete_namespaced_config_map("a", "default")

    records = hub.requests.records(resource="configmaps")

    assert [(r.verb, r.path, r.status) for r in records] == [
        ("create", "/api/v1/namespaces/default/configmaps", 201),
        ("patch", "/api/v1/namespaces/default/configmaps/a", 200),
        ("delete", "/api/v1/namespaces/default/configmaps/a", 200),
        ("delete", "/api/v1/namespaces/default/configmaps/a", 404),
    ]
    assert {(r.namespace, r.user) for r in records} == {("default", "system:admin:hub")}
    assert [r.name for r in records] == [None, "a", "a", "a"]
    assert all(r.duration_ms >= 0 for r in records)


async def test_the_request_log_records_refused_requests(
    hub: ApiServer, read_only_api: client.ApiClient
) -> None:
    with pytest.raises(ApiException):
        await client.CoreV1Api(read_only_api).create_namespaced_config_map("default", {"metadata": {"name": "a"}})

    [record] = hub.requests.records(verb="create")

    assert (record.status, record.user) == (403, "viewer:hub")


async def test_the_request_log_records_a_watch_once_its_stream_ends(hub: ApiServer, core: client.CoreV1Api) -> None:
    await make(core, "a")
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        await next_events(stream, 1)
        hub.drop_watches()
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)

    [record] = hub.requests.records(verb="watch")

    assert (record.path, record.status, record.resource) == ("/api/v1/namespaces/default/configmaps", 200,
                                                             "configmaps")
