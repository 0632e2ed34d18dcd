"""The observation helper itself: it must survive what real API servers do to long watches."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client

from asyncswitch.sim.acm import SimulatedHubPair

from .resources import Hub, Res, snap, until
from .watching import WaitTimeout, name_of

CONFIGMAPS = Res("", "v1", "configmaps", "default")


async def test_wait_for_lists_afresh_when_the_resource_version_it_watches_from_has_expired(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    before = await snap(hub_b, CONFIGMAPS)
    await hub_b.core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="probe")))
    pair.hubs["hub-b"].store.compact()  # the server forgets its watch history: watching from `before` is 410 Gone
    objs = await until(hub_b, CONFIGMAPS, lambda objs: "probe" in {name_of(o) for o in objs}, after=before)
    assert "probe" in {name_of(o) for o in objs}


@pytest.mark.sim(bookmark_interval=0.05)
async def test_wait_for_skips_bookmarks_and_times_out_with_what_it_saw(hub_b: Hub) -> None:
    with pytest.raises(WaitTimeout, match=r"configmaps did not satisfy the predicate within 0.5s"):
        await until(hub_b, CONFIGMAPS, lambda objs: False, timeout=0.5)
