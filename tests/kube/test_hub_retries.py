"""Retries, timeouts and the error tree: what a flaky or unreachable hub looks like through Hub."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncswitch.kube import (
    CONFIG_MAPS,
    NAMESPACES,
    ClientSettings,
    Hub,
    HubApiError,
    HubUnreachableError,
    ServerError,
    TooManyRequestsError,
)
from asyncswitch.sim import ApiServer, FaultRule, kubeconfig_for, write_kubeconfig


@pytest.fixture
async def viewer(hub: ApiServer, tmp_path: Path, settings: ClientSettings) -> AsyncIterator[Hub]:
    """Our client with the hub's read-only token."""
    path = write_kubeconfig(tmp_path / "viewer", kubeconfig_for([hub], read_only=True))
    async with Hub.connect(path, "hub", settings=settings) as client:
        yield client


async def test_a_request_that_fails_with_503_is_retried_until_it_succeeds(hub: ApiServer, kube: Hub) -> None:
    hub.faults.add(FaultRule(verb="get", resource="namespaces", error_rate=1.0, status=503, times=2))

    found = await kube.get(NAMESPACES, "default")

    assert found is not None
    assert [r.status for r in hub.requests.records(verb="get", resource="namespaces")] == [503, 503, 200]
    assert (kube.counters.attempts, kube.counters.retries, kube.counters.failures) == (3, 2, 0)


async def test_a_429_is_retried_no_sooner_than_its_retry_after(hub: ApiServer, kube: Hub, namespace: str) -> None:
    hub.faults.add(FaultRule(verb="list", resource="configmaps", error_rate=1.0, status=429, retry_after=1, times=1))
    started = time.monotonic()

    listed = await kube.list(CONFIG_MAPS, namespace)

    assert listed.items == []
    assert time.monotonic() - started >= 1.0  # the backoff alone would be 10 ms
    assert [r.status for r in hub.requests.records(verb="list", resource="configmaps")] == [429, 200]


async def test_a_hub_that_keeps_failing_gives_up_after_the_configured_attempts(hub: ApiServer, kube: Hub) -> None:
    hub.faults.add(FaultRule(verb="create", resource="configmaps", error_rate=1.0, status=500))

    with pytest.raises(ServerError) as caught:
        await kube.create(CONFIG_MAPS, {"metadata": {"name": "x"}}, "default")

    assert caught.value.status == 500
    assert len(hub.requests.records(verb="create", resource="configmaps")) == kube.settings.attempts
    assert kube.counters.failures == 1


async def test_throttling_that_outlasts_the_attempts_raises_too_many_requests(
        hub: ApiServer, kubeconfig: Path, settings: ClientSettings) -> None:
    hub.faults.add(FaultRule(verb="get", resource="namespaces", error_rate=1.0, status=429, retry_after=0))

    async with Hub.connect(kubeconfig, "hub", settings=dataclasses.replace(settings, attempts=2)) as client:
        with pytest.raises(TooManyRequestsError):
            await client.get(NAMESPACES, "default")

    assert len(hub.requests.records(verb="get", resource="namespaces")) == 2


async def test_a_forbidden_request_is_not_retried(hub: ApiServer, viewer: Hub) -> None:
    with pytest.raises(HubApiError) as caught:
        await viewer.create(CONFIG_MAPS, {"metadata": {"name": "x"}}, "default")

    assert caught.value.status == 403
    assert caught.value.reason == "Forbidden"
    assert not isinstance(caught.value, ServerError | TooManyRequestsError)
    assert len(hub.requests.records(verb="create", resource="configmaps")) == 1
    assert viewer.counters.retries == 0


async def test_an_invalid_request_is_not_retried(hub: ApiServer, kube: Hub) -> None:
    with pytest.raises(HubApiError) as caught:
        await kube.create(CONFIG_MAPS, {"metadata": {"name": "Bad_Name"}}, "default")

    assert caught.value.status == 422
    assert len(hub.requests.records(verb="create", resource="configmaps")) == 1


async def test_a_hub_slower_than_the_request_timeout_is_unreachable_after_every_attempt(
        hub: ApiServer, kubeconfig: Path, settings: ClientSettings) -> None:
    hub.faults.add(FaultRule(verb="get", resource="namespaces", latency=5.0))
    impatient = dataclasses.replace(settings, request_timeout=0.2, connect_timeout=0.2, attempts=3)
    started = time.monotonic()

    async with Hub.connect(kubeconfig, "hub", settings=impatient) as client:
        with pytest.raises(HubUnreachableError) as caught:
            await client.get(NAMESPACES, "default")

    assert time.monotonic() - started < 2.0
    assert caught.value.status is None
    assert "0.2 s" in str(caught.value)
    assert (client.counters.attempts, client.counters.retries) == (3, 2)


async def test_a_hub_nobody_listens_on_is_unreachable(tmp_path: Path, settings: ClientSettings) -> None:
    document = {"apiVersion": "v1", "kind": "Config", "current-context": "gone",
                "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t0k3n-never-printed"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}]}
    path = write_kubeconfig(tmp_path / "kc", document)

    async with Hub.connect(path, "gone", settings=settings) as client:
        with pytest.raises(HubUnreachableError) as caught:
            await client.list(CONFIG_MAPS, "default")

    assert caught.value.hub == "gone"
    assert "t0k3n" not in str(caught.value)
    assert client.counters.attempts == settings.attempts

