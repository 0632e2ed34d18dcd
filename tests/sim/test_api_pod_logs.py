"""pods/{name}/log: text/plain lines from the source registered for the pod, and the kubelet's options."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, LogLine

from .support import assert_status, http

CONTAINERS = [{"name": "main", "image": "registry.example/main:1"}, {"name": "side", "image": "registry.example/s:1"}]


async def running_pod(core: client.CoreV1Api, name: str, *, labels: dict[str, str] | None = None,
                      containers: list[dict[str, Any]] | None = None) -> None:
    containers = containers or CONTAINERS[:1]
    await core.create_namespaced_pod("default", {"metadata": {"name": name, "labels": labels or {}},
                                                 "spec": {"containers": containers}})
    started = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await core.patch_namespaced_pod_status(name, "default", {"status": {
        "phase": "Running", "startTime": started, "containerStatuses": [
            {"name": c["name"], "image": c["image"], "imageID": c["image"], "ready": True, "restartCount": 0,
             "state": {"running": {"startedAt": started}}} for c in containers]}})


def numbered(count: int) -> Any:
    """A log source writing ``line 1`` … ``line N``, one a minute ending now."""
    def source(pod: Mapping[str, Any], container: str) -> list[LogLine]:
        now = datetime.now(UTC)
        return [LogLine(now - timedelta(minutes=count - i), f"{container} line {i}") for i in range(1, count + 1)]
    return source


async def test_a_pod_log_is_text_plain_from_the_source_registered_for_its_labels(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    hub.logs.add(numbered(3), namespace="default", label_selector="app=chatty")
    await running_pod(core, "chatty", labels={"app": "chatty"})
    async with http(hub, hub.token) as session, \
            session.get("/api/v1/namespaces/default/pods/chatty/log") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "main line 1\nmain line 2\nmain line 3\n"


async def test_a_pod_no_source_claims_logs_a_few_start_up_lines_naming_its_container(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    hub.logs.add(numbered(3), namespace="default", label_selector="app=chatty")
    await running_pod(core, "quiet", labels={"app": "quiet"})
    text = await core.read_namespaced_pod_log("quiet", "default")
    lines = text.splitlines()
    assert 3 <= len(lines) <= 10
    assert '"Starting" component="main" image="registry.example/main:1"' in lines[0]


async def test_tail_lines_since_seconds_timestamps_and_limit_bytes_shape_the_log(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    hub.logs.add(numbered(10))
    await running_pod(core, "p")
    assert await core.read_namespaced_pod_log("p", "default", tail_lines=2) == "main line 9\nmain line 10\n"
    assert await core.read_namespaced_pod_log("p", "default", tail_lines=0) == ""
    # Lines are a minute apart and the last is now: the last 150 s hold lines 8, 9 and 10.
    assert (await core.read_namespaced_pod_log("p", "default", since_seconds=150)).splitlines() == [
        "main line 8", "main line 9", "main line 10"]
    stamped = (await core.read_namespaced_pod_log("p", "default", tail_lines=1, timestamps=True)).strip()
    stamp, _, text = stamped.partition(" ")
    assert text == "main line 10"
    assert datetime.fromisoformat(stamp[:26] + "+00:00") <= datetime.now(UTC)
    assert await core.read_namespaced_pod_log("p", "default", limit_bytes=8) == "main lin"


async def test_follow_answers_the_log_so_far_and_ends(hub: ApiServer, core: client.CoreV1Api) -> None:
    hub.logs.add(numbered(2))
    await running_pod(core, "p")
    assert await core.read_namespaced_pod_log("p", "default", follow=True) == "main line 1\nmain line 2\n"


async def test_a_container_is_chosen_by_name_and_must_be_named_when_the_pod_has_several(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    hub.logs.add(numbered(1))
    await running_pod(core, "two", containers=CONTAINERS)
    assert await core.read_namespaced_pod_log("two", "default", container="side") == "side line 1\n"
    with pytest.raises(ApiException) as unnamed:
        await core.read_namespaced_pod_log("two", "default")
    assert "a container name must be specified for pod two, choose one of: [main side]" in assert_status(
        unnamed.value, 400, "BadRequest")["message"]
    with pytest.raises(ApiException) as unknown:
        await core.read_namespaced_pod_log("two", "default", container="nope")
    assert assert_status(unknown.value, 400, "BadRequest")["message"] == "container nope is not valid for pod two"


async def test_an_unknown_pod_answers_404_and_a_pending_one_400_waiting_to_start(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_pod_log("ghost", "default")
    assert assert_status(missing.value, 404, "NotFound")["message"] == 'pods "ghost" not found'
    await core.create_namespaced_pod("default", {"metadata": {"name": "new"}, "spec": {"containers": CONTAINERS[:1]}})
    with pytest.raises(ApiException) as pending:
        await core.read_namespaced_pod_log("new", "default")
    assert assert_status(pending.value, 400, "BadRequest")["message"] == (
        'container "main" in pod "new" is waiting to start: ContainerCreating')


async def test_a_negative_tail_is_invalid_and_a_non_number_is_a_bad_request(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    await running_pod(core, "p")
    async with http(hub, hub.token) as session:
        async with session.get("/api/v1/namespaces/default/pods/p/log?tailLines=-1") as response:
            assert response.status == 422
            assert (await response.json())["reason"] == "Invalid"
        async with session.get("/api/v1/namespaces/default/pods/p/log?tailLines=many") as response:
            assert response.status == 400
