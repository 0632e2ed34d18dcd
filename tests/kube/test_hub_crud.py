"""Get, list, create, patch, delete and scale through Hub, against the emulated API server over HTTPS."""

from __future__ import annotations

import asyncio

import pytest

from asyncswitch.kube import (
    CONFIG_MAPS,
    DEPLOYMENTS,
    MANAGED_CLUSTERS,
    NAMESPACES,
    SECRETS,
    ConflictError,
    Hub,
    HubApiError,
    NotFoundError,
    Write,
)
from asyncswitch.sim import ApiServer, FaultRule
from asyncswitch.sim.acm.kinds import MANAGED_CLUSTERS as SIM_MANAGED_CLUSTERS


def configmap(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "demo"}},
            "data": data}


async def test_a_created_object_can_be_read_back_patched_and_deleted(kube: Hub, namespace: str) -> None:
    created = await kube.create(CONFIG_MAPS, configmap("settings", mode="ImportOnly"), namespace)
    assert created["metadata"]["uid"]

    fetched = await kube.get(CONFIG_MAPS, "settings", namespace)
    assert fetched is not None
    assert fetched["data"] == {"mode": "ImportOnly"}

    patched = await kube.patch(CONFIG_MAPS, "settings", {"data": {"mode": "ImportAndSync", "extra": "1"}}, namespace)
    assert patched["data"] == {"mode": "ImportAndSync", "extra": "1"}
    assert int(patched["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    assert await kube.delete(CONFIG_MAPS, "settings", namespace) is True
    assert await kube.get(CONFIG_MAPS, "settings", namespace) is None


async def test_a_merge_patch_with_null_removes_an_annotation_of_a_custom_resource(hub: ApiServer, kube: Hub) -> None:
    hub.store.register(SIM_MANAGED_CLUSTERS)
    await kube.create(MANAGED_CLUSTERS, {
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "metadata": {"name": "spoke-1", "annotations": {"import.open-cluster-management.io/disable-auto-import": ""}},
        "spec": {"hubAcceptsClient": True}})

    patched = await kube.patch(MANAGED_CLUSTERS, "spoke-1", {
        "metadata": {"annotations": {"import.open-cluster-management.io/disable-auto-import": None}}})

    assert "import.open-cluster-management.io/disable-auto-import" not in (
        patched["metadata"].get("annotations") or {})


async def test_a_list_patch_is_sent_as_a_json_patch(kube: Hub, namespace: str) -> None:
    await kube.create(CONFIG_MAPS, configmap("settings", mode="a"), namespace)

    patched = await kube.patch(CONFIG_MAPS, "settings", [{"op": "replace", "path": "/data/mode", "value": "b"}],
                               namespace)

    assert patched["data"] == {"mode": "b"}


async def test_missing_objects_read_as_none_delete_as_false_and_patch_as_not_found(kube: Hub, namespace: str) -> None:
    assert await kube.get(CONFIG_MAPS, "absent", namespace) is None
    assert await kube.delete(CONFIG_MAPS, "absent", namespace) is False
    with pytest.raises(NotFoundError) as caught:
        await kube.patch(CONFIG_MAPS, "absent", {"data": {"k": "v"}}, namespace)
    assert caught.value.status == 404
    assert caught.value.hub == "hub"
    assert caught.value.resource == "configmaps"
    assert str(caught.value) == f'hub: patch configmaps {namespace}/absent: 404 NotFound: configmaps "absent" not found'


async def test_a_type_the_hub_does_not_serve_lists_as_empty_and_gets_as_none(kube: Hub) -> None:
    listed = await kube.list(MANAGED_CLUSTERS)

    assert listed.items == []
    assert await kube.get(MANAGED_CLUSTERS, "spoke-1") is None


async def test_a_list_follows_continue_tokens_past_the_page_size(hub: ApiServer, kube: Hub, namespace: str) -> None:
    cms = hub.store.type_of("configmaps")
    for i in range(120):
        labels = {"batch": "x" if i % 2 else "y"}
        hub.store.create(cms, namespace, {"metadata": {"name": f"cm-{i:03d}", "labels": labels}})

    everything = await kube.list(CONFIG_MAPS, namespace)
    odd = await kube.list(CONFIG_MAPS, namespace, label_selector={"batch": "x"})

    assert [o["metadata"]["name"] for o in everything.items] == [f"cm-{i:03d}" for i in range(120)]
    assert int(everything.resource_version) >= 120
    assert len(odd.items) == 60
    pages = hub.requests.records(verb="list", resource="configmaps")
    assert len(pages) == 3 + 2  # 120 in pages of 50, then 60 in pages of 50


async def test_a_list_with_a_limit_returns_only_the_first_page(hub: ApiServer, kube: Hub, namespace: str) -> None:
    for i in range(3):
        hub.store.create(hub.store.type_of("configmaps"), namespace, {"metadata": {"name": f"cm-{i}"}})

    first = await kube.list(CONFIG_MAPS, namespace, limit=1)

    assert [o["metadata"]["name"] for o in first.items] == ["cm-0"]


async def test_a_list_across_namespaces_and_by_field_selector(hub: ApiServer, kube: Hub, namespace: str) -> None:
    cms = hub.store.type_of("configmaps")
    hub.store.create(cms, namespace, {"metadata": {"name": "a"}})
    hub.store.create(cms, "default", {"metadata": {"name": "a"}})
    hub.store.create(cms, "default", {"metadata": {"name": "b"}})

    named_a = await kube.list(CONFIG_MAPS, field_selector="metadata.name=a")

    assert sorted(o["metadata"]["namespace"] for o in named_a.items) == ["default", namespace]


async def test_creating_the_same_object_twice_returns_the_existing_one(kube: Hub, namespace: str) -> None:
    first = await kube.create(CONFIG_MAPS, configmap("import-controller-config", autoImportStrategy="ImportOnly"),
                              namespace)
    again = await kube.create(CONFIG_MAPS, configmap("import-controller-config", autoImportStrategy="ImportOnly"),
                              namespace)

    assert again["metadata"]["uid"] == first["metadata"]["uid"]


async def test_creating_an_existing_object_with_other_content_is_a_conflict_that_names_the_field(
        kube: Hub, namespace: str) -> None:
    await kube.create(CONFIG_MAPS, configmap("import-controller-config", autoImportStrategy="ImportOnly"), namespace)

    with pytest.raises(ConflictError) as caught:
        await kube.create(CONFIG_MAPS, configmap("import-controller-config", autoImportStrategy="ImportAndSync"),
                          namespace)

    assert caught.value.status == 409
    assert "data.autoImportStrategy" in str(caught.value)
    assert "ImportAndSync" not in str(caught.value)  # values (secrets, too) never reach messages


async def test_an_idempotent_create_of_a_secret_compares_string_data_as_data(kube: Hub, namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}, "type": "Opaque",
            "data": {"token": "czNjcjN0"}}  # "s3cr3t"
    await kube.create(SECRETS, body, namespace)

    again = await kube.create(SECRETS, {**body, "data": {}, "stringData": {"token": "s3cr3t"}}, namespace)

    assert again["data"] == {"token": "czNjcjN0"}


async def test_create_takes_the_namespace_from_the_body_when_none_is_given(kube: Hub, namespace: str) -> None:
    body = configmap("x")
    body["metadata"]["namespace"] = namespace  # type: ignore[index]

    created = await kube.create(CONFIG_MAPS, body)

    assert created["metadata"]["namespace"] == namespace


async def test_a_delete_with_a_stale_precondition_is_a_conflict_and_keeps_the_object(
        kube: Hub, namespace: str) -> None:
    created = await kube.create(CONFIG_MAPS, configmap("guarded"), namespace)
    await kube.patch(CONFIG_MAPS, "guarded", {"data": {"k": "v"}}, namespace)

    with pytest.raises(ConflictError):
        await kube.delete(CONFIG_MAPS, "guarded", namespace,
                          preconditions={"resourceVersion": created["metadata"]["resourceVersion"]})

    assert await kube.get(CONFIG_MAPS, "guarded", namespace) is not None


async def test_scaling_sets_replicas_through_the_scale_subresource(hub: ApiServer, kube: Hub, namespace: str) -> None:
    await kube.create(DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
                                    "spec": {"replicas": 2}}, namespace)

    scale = await kube.scale(DEPLOYMENTS, "api", 0, namespace)

    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 0
    assert hub.store.get(hub.store.type_of("deployments", "apps"), namespace, "api").obj["spec"]["replicas"] == 0
    assert hub.requests.records(verb="patch")[-1].subresource == "scale"


async def test_an_access_review_answers_whether_we_may_do_something(kube: Hub) -> None:
    review = await kube.create_access_review(verb="delete", resource=NAMESPACES)

    assert review["status"]["allowed"] is True


async def test_an_invalid_object_is_refused_with_the_servers_message(kube: Hub, namespace: str) -> None:
    with pytest.raises(HubApiError) as caught:
        await kube.create(CONFIG_MAPS, configmap("Not_A_Valid_Name"), namespace)

    assert caught.value.status == 422
    assert caught.value.reason == "Invalid"


async def test_calls_that_need_a_namespace_say_so_before_any_request(hub: ApiServer, kube: Hub) -> None:
    with pytest.raises(ValueError, match="namespaced"):
        await kube.get(CONFIG_MAPS, "x")
    with pytest.raises(ValueError, match="cluster-scoped"):
        await kube.get(NAMESPACES, "x", "default")
    assert hub.requests.records(resource="configmaps") == []


def deployment(image: str) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
            "spec": {"template": {"spec": {"containers": [{"name": "api", "image": image}]}}}}


async def test_an_idempotent_create_compares_lists_item_by_item_and_names_the_differing_one(
        kube: Hub, namespace: str) -> None:
    first = await kube.create(DEPLOYMENTS, deployment("api:1"), namespace)
    assert first["spec"]["replicas"] == 1  # defaulted by the server, absent from our body

    again = await kube.create(DEPLOYMENTS, deployment("api:1"), namespace)
    with pytest.raises(ConflictError, match=r"spec\.template\.spec\.containers\[0\]\.image"):
        await kube.create(DEPLOYMENTS, deployment("api:2"), namespace)

    assert again["metadata"]["uid"] == first["metadata"]["uid"]


async def test_listeners_hear_of_each_confirmed_create_and_patch_with_its_version_and_times(
        hub: ApiServer, kube: Hub, namespace: str) -> None:
    heard: list[Write] = []
    loop = asyncio.get_running_loop()
    with kube.writes_observed_by(heard.append):
        called = loop.time()
        created = await kube.create(CONFIG_MAPS, configmap("settings", mode="a"), namespace)
        await kube.create(CONFIG_MAPS, configmap("settings", mode="a"), namespace)  # exists already: no write
        hub.faults.add(FaultRule(verb="patch", latency=0.2))
        patched = await kube.patch(CONFIG_MAPS, "settings", {"data": {"mode": "b"}}, namespace)
        assert await kube.delete(CONFIG_MAPS, "settings", namespace)  # deletes are not reported
    await kube.create(CONFIG_MAPS, configmap("after", mode="a"), namespace)  # the block has ended

    assert [(w.verb, w.name, w.resource_version) for w in heard] == [
        ("create", "settings", created["metadata"]["resourceVersion"]),
        ("patch", "settings", patched["metadata"]["resourceVersion"])]
    assert all((w.hub, w.resource, w.namespace) == ("hub", CONFIG_MAPS, namespace) for w in heard)
    assert called <= heard[0].sent <= heard[0].answered <= heard[1].sent
    assert heard[1].answered - heard[1].sent >= 0.2  # the hub's delay is after the sending
