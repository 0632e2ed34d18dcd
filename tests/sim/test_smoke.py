from __future__ import annotations

from kubernetes_asyncio import client

from asyncswitch.sim import ApiServer


async def test_configmap_round_trip_over_https(hub: ApiServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert created.metadata.resource_version
    got = await core.read_namespaced_config_map("a", "default")
    assert got.data == {"k": "v"}
