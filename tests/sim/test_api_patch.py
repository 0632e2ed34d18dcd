"""PATCH in its three formats, the scale subresource, and dry runs, through kubernetes_asyncio."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ResourceType

from .support import assert_status, deployment, widget

G, V, P = "example.io", "v1", "widgets"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"

MAIN = {"name": "main", "image": "registry.example/main:1", "env": [{"name": "A", "value": "1"}]}
SIDECAR = {"name": "sidecar", "image": "registry.example/sidecar:1"}


def containers(obj: client.V1Deployment) -> dict[str, Any]:
    return {c.name: c for c in obj.spec.template.spec.containers}


def template_patch(*items: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": list(items)}}}}


# -- strategic merge (built-in types) ------------------------------------------------------


async def test_strategic_merge_patch_on_a_deployment_merges_containers_by_name(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", containers=[MAIN, SIDECAR]))

    patched = await apps.patch_namespaced_deployment(
        "web", "default", template_patch({"name": "main", "image": "registry.example/main:2"}))

    by_name = containers(patched)
    assert list(by_name) == ["main", "sidecar"]
    assert by_name["main"].image == "registry.example/main:2"
    assert [(e.name, e.value) for e in by_name["main"].env] == [("A", "1")]  # untouched fields stay
    assert by_name["sidecar"].image == "registry.example/sidecar:1"
    assert patched.metadata.generation == 2


async def test_strategic_merge_patch_appends_a_container_with_a_new_name(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", containers=[MAIN]))

    patched = await apps.patch_namespaced_deployment("web", "default", template_patch(SIDECAR))

    assert list(containers(patched)) == ["main", "sidecar"]


async def test_strategic_merge_patch_deletes_a_container_with_the_patch_delete_directive(
    apps: client.AppsV1Api,
) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", containers=[MAIN, SIDECAR]))

    patched = await apps.patch_namespaced_deployment(
        "web", "default", template_patch({"name": "sidecar", "$patch": "delete"}))

    assert list(containers(patched)) == ["main"]


async def test_strategic_merge_patch_merges_env_by_name_inside_a_container(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", containers=[MAIN]))

    patched = await apps.patch_namespaced_deployment(
        "web", "default", template_patch({"name": "main", "env": [{"name": "B", "value": "2"}]}))

    assert [(e.name, e.value) for e in containers(patched)["main"].env] == [("A", "1"), ("B", "2")]


async def test_a_merge_patch_on_a_deployment_replaces_the_container_list_instead(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", containers=[MAIN, SIDECAR]))

    patched = await apps.patch_namespaced_deployment(
        "web", "default", template_patch({"name": "main", "image": "registry.example/main:2"}), _content_type=MERGE)

    assert list(containers(patched)) == ["main"]
    assert containers(patched)["main"].env is None


async def test_strategic_merge_patch_merges_labels_and_null_removes_one(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}}})

    patched = await core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"y": None, "z": "3"}}})

    assert patched.metadata.labels == {"x": "1", "z": "3"}


async def test_a_patch_that_changes_nothing_keeps_the_resource_version(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "v"}})

    patched = await core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})

    assert patched.metadata.resource_version == created.metadata.resource_version


async def test_a_patch_with_a_stale_resource_version_gets_409_conflict(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "1"}})

    with pytest.raises(ApiException) as caught:
        await core.patch_namespaced_config_map(
            "a", "default", {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"k": "2"}})

    assert_status(caught.value, 409, "Conflict")


async def test_a_patch_of_a_missing_object_gets_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.patch_namespaced_config_map("missing", "default", {"data": {"k": "v"}})

    assert_status(caught.value, 404, "NotFound")


async def test_a_patch_cannot_change_server_set_metadata(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})

    patched = await core.patch_namespaced_config_map(
        "a", "default", {"metadata": {"uid": "forged", "creationTimestamp": "2000-01-01T00:00:00Z"}})

    assert patched.metadata.uid == created.metadata.uid
    assert patched.metadata.creation_timestamp == created.metadata.creation_timestamp


# -- the scale subresource -----------------------------------------------------------------


async def test_the_scale_subresource_reads_and_patches_spec_replicas(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", replicas=2))

    before = await apps.read_namespaced_deployment_scale("web", "default")
    after = await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    stored = await apps.read_namespaced_deployment("web", "default")

    assert before.kind == "Scale"
    assert before.api_version == "autoscaling/v1"
    assert before.spec.replicas == 2
    assert before.status.selector == "app=web"
    assert after.spec.replicas == 5
    assert stored.spec.replicas == 5
    assert stored.metadata.generation == 2
    assert after.metadata.resource_version == stored.metadata.resource_version


async def test_a_deployment_created_without_replicas_defaults_to_one(apps: client.AppsV1Api) -> None:
    body = deployment("web")
    del body["spec"]["replicas"]

    created = await apps.create_namespaced_deployment("default", body)

    assert created.spec.replicas == 1
    assert (await apps.read_namespaced_deployment_scale("web", "default")).spec.replicas == 1


async def test_replacing_the_scale_with_a_stale_resource_version_gets_409(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 2}})
    scale.spec.replicas = 3

    with pytest.raises(ApiException) as caught:
        await apps.replace_namespaced_deployment_scale("web", "default", scale)

    assert_status(caught.value, 409, "Conflict")
    assert (await apps.read_namespaced_deployment("web", "default")).spec.replicas == 2


async def test_replacing_the_scale_with_the_current_resource_version_succeeds(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    scale.spec.replicas = 4

    replaced = await apps.replace_namespaced_deployment_scale("web", "default", scale)

    assert replaced.spec.replicas == 4


async def test_a_negative_replica_count_on_the_scale_gets_422_invalid(apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))

    with pytest.raises(ApiException) as caught:
        await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": -1}})

    assert_status(caught.value, 422, "Invalid")


async def test_a_scale_subresource_on_a_type_without_one_gets_404(
    core: client.CoreV1Api, api: client.ApiClient
) -> None:
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})

    with pytest.raises(ApiException) as caught:
        await api.call_api("/api/v1/namespaces/default/configmaps/a/scale", "GET",
                           auth_settings=["BearerToken"], response_types_map={200: "object"})

    assert caught.value.status == 404


# -- custom resources: merge and JSON patch, no strategic merge ------------------------------


@pytest.fixture
async def w(widgets: ResourceType, custom: client.CustomObjectsApi) -> dict[str, Any]:
    return dict(await custom.create_namespaced_custom_object(
        G, V, "default", P, widget("w", size=1, color="red", parts={"a": 1, "b": 2}, tags=["x", "y"])))


async def test_a_strategic_merge_patch_to_a_custom_resource_gets_415(
    w: dict[str, Any], custom: client.CustomObjectsApi
) -> None:
    with pytest.raises(ApiException) as caught:
        await custom.patch_namespaced_custom_object(G, V, "default", P, "w", {"spec": {"size": 2}},
                                                    _content_type=STRATEGIC)

    body = assert_status(caught.value, 415, "UnsupportedMediaType")
    assert "application/merge-patch+json" in body["message"]
    assert "strategic" not in body["message"]


async def test_a_merge_patch_merges_maps_and_null_deletes_a_key(
    w: dict[str, Any], custom: client.CustomObjectsApi
) -> None:
    patched = await custom.patch_namespaced_custom_object(
        G, V, "default", P, "w", {"spec": {"color": None, "parts": {"a": None, "c": 3}}}, _content_type=MERGE)

    assert patched["spec"] == {"size": 1, "parts": {"b": 2, "c": 3}, "tags": ["x", "y"]}
    assert patched["metadata"]["generation"] == 2


async def test_a_merge_patch_replaces_lists_whole(w: dict[str, Any], custom: client.CustomObjectsApi) -> None:
    patched = await custom.patch_namespaced_custom_object(
        G, V, "default", P, "w", {"spec": {"tags": ["z"]}}, _content_type=MERGE)

    assert patched["spec"]["tags"] == ["z"]


async def test_json_patch_add_replace_and_remove_apply_in_order(
    w: dict[str, Any], custom: client.CustomObjectsApi
) -> None:
    patched = await custom.patch_namespaced_custom_object(G, V, "default", P, "w", [
        {"op": "test", "path": "/spec/size", "value": 1},
        {"op": "add", "path": "/spec/tags/-", "value": "z"},
        {"op": "replace", "path": "/spec/size", "value": 2},
        {"op": "remove", "path": "/spec/color"},
        {"op": "add", "path": "/metadata/labels", "value": {"app": "web"}},
    ])

    assert patched["spec"] == {"size": 2, "parts": {"a": 1, "b": 2}, "tags": ["x", "y", "z"]}
    assert patched["metadata"]["labels"] == {"app": "web"}


async def test_a_failed_json_patch_test_gets_422_and_changes_nothing(
    w: dict[str, Any], custom: client.CustomObjectsApi
) -> None:
    with pytest.raises(ApiException) as caught:
        await custom.patch_namespaced_custom_object(G, V, "default", P, "w", [
            {"op": "replace", "path": "/spec/size", "value": 5},
            {"op": "test", "path": "/spec/color", "value": "blue"},
        ])

    assert_status(caught.value, 422, "Invalid")
    unchanged = await custom.get_namespaced_custom_object(G, V, "default", P, "w")
    assert unchanged == w


async def test_a_json_patch_removing_a_missing_path_gets_422(
    w: dict[str, Any], custom: client.CustomObjectsApi
) -> None:
    with pytest.raises(ApiException) as caught:
        await custom.patch_namespaced_custom_object(G, V, "default", P, "w",
                                                    [{"op": "remove", "path": "/spec/nothing"}])

    assert_status(caught.value, 422, "Invalid")


async def test_json_patch_works_on_built_in_types_too(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "v"}})

    patched = await core.patch_namespaced_config_map("a", "default", [{"op": "add", "path": "/data/n", "value": "1"}])

    assert patched.data == {"k": "v", "n": "1"}


# -- dry runs ----------------------------------------------------------------------------------


async def test_a_dry_run_patch_answers_with_the_result_but_stores_nothing(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "v"}})

    answered = await core.patch_namespaced_config_map("a", "default", {"data": {"k": "dry"}}, dry_run="All")

    assert answered.data == {"k": "dry"}
    stored = await core.read_namespaced_config_map("a", "default")
    assert stored.data == {"k": "v"}
    assert stored.metadata.resource_version == created.metadata.resource_version


async def test_a_dry_run_create_stores_nothing(core: client.CoreV1Api) -> None:
    answered = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}}, dry_run="All")

    assert answered.metadata.name == "a"
    assert (await core.list_namespaced_config_map("default")).items == []
