"""The watch's decisions, fed plain lines and dicts: no server, no event loop, a hand-driven clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from asyncswitch.kube import Gap, GoneError, HubApiError, ServerError, WatchDriver


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cm(name: str, rv: int, namespace: str = "ns", **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv)}, "data": data}


def line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def driver(clock: Clock) -> WatchDriver:
    return WatchDriver(clock=clock, wall_clock=lambda: 1_700_000_000.0 + clock.now, hub="hub-a", resource="configmaps")


def test_the_first_list_arrives_as_added_objects_then_a_sync(driver: WatchDriver) -> None:
    assert driver.needs_list

    events = driver.listed([cm("a", 5), cm("b", 6)], "7")

    assert [(e.type, e.name, e.resource_version) for e in events] == [
        ("ADDED", "a", "5"), ("ADDED", "b", "6"), ("SYNC", "", "7")]
    assert all(e.from_list for e in events)
    assert driver.resource_version == "7"
    assert not driver.needs_list


def test_stream_events_update_the_objects_and_the_resource_version(driver: WatchDriver, clock: Clock) -> None:
    driver.listed([cm("a", 5)], "7")
    clock.now = 101.5

    added = driver.feed(line("ADDED", cm("b", 8)))
    modified = driver.feed(line("MODIFIED", cm("a", 9, k="v")))
    deleted = driver.feed({"type": "DELETED", "object": cm("b", 10)})

    assert [(e.type, e.name) for e in (added, modified, deleted) if e] == [
        ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert modified is not None
    assert modified.received_monotonic == 101.5
    assert modified.received_wall == 1_700_000_101.5
    assert not modified.from_list
    assert list(driver.objects) == [("ns", "a")]
    assert driver.objects[("ns", "a")]["data"] == {"k": "v"}
    assert driver.resource_version == "10"
    assert driver.last_event == 101.5


def test_a_bookmark_advances_the_resource_version_and_yields_nothing(driver: WatchDriver, clock: Clock) -> None:
    driver.listed([], "7")
    clock.now = 130.0

    assert driver.feed(line("BOOKMARK", {"metadata": {"resourceVersion": "42"}})) is None
    assert driver.resource_version == "42"
    assert driver.last_activity == 130.0
    assert driver.last_event is None


def test_blank_keepalive_lines_are_ignored(driver: WatchDriver) -> None:
    assert driver.feed(b"\n") is None


def test_an_expired_error_event_raises_gone_and_forces_a_relist(driver: WatchDriver) -> None:
    driver.listed([cm("a", 5)], "7")
    expired = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version: 7 (9)"}

    with pytest.raises(GoneError, match="too old resource version"):
        driver.feed(line("ERROR", expired))
    driver.interrupted("expired")

    assert driver.needs_list


def test_another_error_event_raises_its_error(driver: WatchDriver) -> None:
    with pytest.raises(ServerError):
        driver.feed(line("ERROR", {"kind": "Status", "code": 500, "reason": "InternalError", "message": "boom"}))
    with pytest.raises(HubApiError) as caught:
        driver.feed(line("ERROR", {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no"}))
    assert caught.value.status == 403


@pytest.mark.parametrize("garbage", [b'{"type": "ADDED", "obj', b'{"object": {}}', b'{"type": "ADDED"}',
                                     b'{"type": "WHAT", "object": {}}'])
def test_a_line_that_is_not_a_watch_event_is_a_value_error(driver: WatchDriver, garbage: bytes) -> None:
    with pytest.raises(ValueError, match=r"not a watch event|Expecting|Unterminated"):
        driver.feed(garbage)


def test_a_relist_yields_the_difference_so_consumers_converge(driver: WatchDriver) -> None:
    driver.listed([cm("kept", 1), cm("changed", 2), cm("gone", 3)], "3")
    driver.interrupted("expired")

    events = driver.listed([cm("kept", 1), cm("changed", 8, k="v"), cm("new", 9)], "9")

    assert [(e.type, e.name) for e in events] == [
        ("DELETED", "gone"), ("MODIFIED", "changed"), ("ADDED", "new"), ("SYNC", "")]
    deleted = events[0]
    assert deleted.object == cm("gone", 3)  # its last known state
    assert deleted.resource_version == "9"
    assert driver.relists == 1


def test_a_driver_that_keeps_no_objects_still_yields_the_difference_of_a_relist(clock: Clock) -> None:
    driver = WatchDriver(clock=clock, hub="hub-a", resource="configmaps", keep_objects=False)
    driver.listed([cm("kept", 1), cm("changed", 2), cm("gone", 3)], "3")
    streamed = driver.feed(line("MODIFIED", cm("kept", 4, k="v")))
    assert streamed is not None
    assert streamed.object == cm("kept", 4, k="v")  # events carry the whole object
    assert all("data" not in kept for kept in driver.objects.values())  # the driver holds only names and versions
    driver.interrupted("expired")

    events = driver.listed([cm("kept", 4, k="v"), cm("changed", 8, k="v"), cm("new", 9)], "9")

    assert [(e.type, e.name) for e in events] == [
        ("DELETED", "gone"), ("MODIFIED", "changed"), ("ADDED", "new"), ("SYNC", "")]
    assert events[0].object == {"metadata": {"name": "gone", "namespace": "ns", "resourceVersion": "3"}}
    assert events[1].object == cm("changed", 8, k="v")


def test_a_relist_after_410_closes_an_expired_gap_from_when_the_watch_was_last_current(
        driver: WatchDriver, clock: Clock) -> None:
    seen: list[Gap] = []
    driver.on_gap = seen.append
    driver.listed([], "1")
    clock.now = 110.0
    driver.feed(line("BOOKMARK", {"metadata": {"resourceVersion": "5"}}))
    clock.now = 115.0
    driver.stream_opened()
    driver.interrupted("expired")
    assert driver.open_gap == "expired"
    clock.now = 116.0
    driver.stream_opened()  # a stream alone does not end an expired gap: only the relist does
    assert driver.gaps == []

    clock.now = 117.0
    driver.listed([], "20")

    assert seen == driver.gaps
    assert [(g.reason, g.started_monotonic, g.ended_monotonic) for g in driver.gaps] == [("expired", 110.0, 117.0)]
    assert driver.gaps[0].duration == 7.0
    assert driver.open_gap is None


def test_a_disconnect_gap_ends_when_a_stream_is_open_again(driver: WatchDriver, clock: Clock) -> None:
    driver.listed([], "1")
    clock.now = 103.0
    driver.interrupted("disconnected")
    clock.now = 104.0
    driver.interrupted("disconnected")  # still the same gap
    clock.now = 106.0

    driver.stream_opened()

    assert [(g.reason, g.started_monotonic, g.ended_monotonic) for g in driver.gaps] == [
        ("disconnected", 100.0, 106.0)]


def test_a_410_right_after_reconnecting_starts_a_new_gap_where_the_last_one_ended(
        driver: WatchDriver, clock: Clock) -> None:
    driver.listed([], "1")
    clock.now = 102.0
    driver.interrupted("disconnected")
    clock.now = 105.0
    driver.stream_opened()
    driver.interrupted("expired")
    clock.now = 106.0
    driver.listed([], "9")

    assert [(g.reason, g.started_monotonic, g.ended_monotonic) for g in driver.gaps] == [
        ("disconnected", 100.0, 105.0), ("expired", 105.0, 106.0)]


def test_the_inactivity_deadline_counts_from_the_last_line_or_stream_opened(driver: WatchDriver, clock: Clock) -> None:
    driver.listed([], "1")
    clock.now = 150.0
    driver.stream_opened()
    assert driver.deadline(70.0) == 220.0

    clock.now = 200.0
    driver.feed(line("BOOKMARK", {"metadata": {"resourceVersion": "2"}}))

    assert driver.deadline(70.0) == 270.0


def test_an_inactive_gap_starts_when_the_watch_last_advanced(driver: WatchDriver, clock: Clock) -> None:
    driver.listed([], "1")
    clock.now = 120.0
    driver.feed(line("ADDED", cm("a", 2)))
    clock.now = 190.0
    driver.interrupted("inactive")
    clock.now = 191.0
    driver.stream_opened()

    assert [(g.reason, g.started_monotonic, g.ended_monotonic) for g in driver.gaps] == [("inactive", 120.0, 191.0)]


def test_a_list_without_a_resource_version_cannot_start_a_watch(driver: WatchDriver) -> None:
    with pytest.raises(ValueError, match="resourceVersion"):
        driver.listed([], "")
