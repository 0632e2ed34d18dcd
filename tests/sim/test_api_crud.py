"""Create, get, update and delete through kubernetes_asyncio, as a client of a real API server sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, ResourceType

from .support import assert_status, deployment, next_event, widget

G, V, P = "example.io", "v1", "widgets"


def configmap(name: str, **meta: object) -> dict[str, object]:
    return {"metadata": {"name": name, **meta}, "data": {"k": "v"}}


# -- create ------------------------------------------------------------------------------


async def test_create_answers_201_with_uid_creation_timestamp_and_resource_version(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    created, status, _ = await core.create_namespaced_config_map_with_http_info("default", configmap("a"))

    assert status == 201
    meta = created.metadata
    assert meta.name == "a"
    assert meta.namespace == "default"
    assert meta.uid
    assert int(meta.resource_version) == hub.store.resource_version
    assert abs(meta.creation_timestamp - datetime.now(UTC)) < timedelta(seconds=5)
    assert created.data == {"k": "v"}


async def test_create_of_a_deployment_starts_its_generation_at_one(apps: client.AppsV1Api) -> None:
    created = await apps.create_namespaced_deployment("default", deployment("web"))

    assert created.metadata.generation == 1


async def test_types_without_a_spec_have_no_generation(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a"))

    assert created.metadata.generation is None


async def test_each_create_gets_a_new_uid_and_a_higher_resource_version(core: client.CoreV1Api) -> None:
    first = await core.create_namespaced_config_map("default", configmap("a"))
    second = await core.create_namespaced_config_map("default", configmap("b"))

    assert first.metadata.uid != second.metadata.uid
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


async def test_server_set_metadata_in_a_create_body_is_ignored(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map(
        "default", configmap("a", uid="chosen-by-client", resourceVersion="999", generation=7))

    assert created.metadata.uid != "chosen-by-client"
    assert created.metadata.resource_version != "999"
    assert created.metadata.generation is None


async def test_create_of_an_existing_name_gets_409_already_exists_with_details(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))

    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("default", configmap("a"))

    body = assert_status(caught.value, 409, "AlreadyExists")
    assert body["details"]["name"] == "a"
    assert body["details"]["kind"] == "configmaps"
    assert body["message"] == 'configmaps "a" already exists'


async def test_the_same_name_in_another_namespace_is_a_different_object(core: client.CoreV1Api) -> None:
    first = await core.create_namespaced_config_map("default", configmap("a"))
    second = await core.create_namespaced_config_map("kube-system", configmap("a"))

    assert first.metadata.uid != second.metadata.uid


async def test_generate_name_gives_a_unique_name_that_starts_with_the_prefix(core: client.CoreV1Api) -> None:
    body = {"metadata": {"generateName": "job-"}}
    names = {(await core.create_namespaced_config_map("default", body)).metadata.name for _ in range(5)}

    assert len(names) == 5
    for name in names:
        assert name.startswith("job-")
        assert len(name) > len("job-")


async def test_create_without_name_or_generate_name_gets_422_invalid(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("default", {"metadata": {}})

    body = assert_status(caught.value, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"


async def test_create_in_a_missing_namespace_gets_404_not_found(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("no-such-namespace", configmap("a"))

    body = assert_status(caught.value, 404, "NotFound")
    assert body["details"] == {"kind": "namespaces", "name": "no-such-namespace"}


@pytest.mark.parametrize("name", ["Upper", "under_score", "-leading-dash", "x" * 254])
async def test_create_with_an_invalid_name_gets_422_invalid(core: client.CoreV1Api, name: str) -> None:
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("default", configmap(name))

    body = assert_status(caught.value, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["name"] == name


async def test_create_with_a_body_of_the_wrong_kind_gets_400_bad_request(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("default", {"kind": "Secret", "metadata": {"name": "a"}})

    assert_status(caught.value, 400, "BadRequest")


async def test_create_with_a_namespace_in_the_body_that_differs_from_the_url_gets_400(
    core: client.CoreV1Api,
) -> None:
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("default", configmap("a", namespace="kube-system"))

    assert_status(caught.value, 400, "BadRequest")


# -- get -----------------------------------------------------------------------------------


async def test_get_returns_what_create_returned(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a", labels={"tier": "x"}))

    got = await core.read_namespaced_config_map("a", "default")

    assert got.to_dict() == created.to_dict()


async def test_get_of_a_missing_object_gets_a_404_not_found_status(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_config_map("missing", "default")

    body = assert_status(caught.value, 404, "NotFound")
    assert body["message"] == 'configmaps "missing" not found'
    assert body["details"] == {"kind": "configmaps", "name": "missing"}


async def test_get_of_a_missing_object_of_a_grouped_type_names_the_group(apps: client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await apps.read_namespaced_deployment("missing", "default")

    body = assert_status(caught.value, 404, "NotFound")
    assert body["message"] == 'deployments.apps "missing" not found'
    assert body["details"] == {"kind": "deployments", "name": "missing", "group": "apps"}


async def test_get_of_an_unknown_resource_type_gets_404(custom: client.CustomObjectsApi) -> None:
    with pytest.raises(ApiException) as caught:
        await custom.get_namespaced_custom_object("nothing.example", "v1", "default", "gadgets", "a")

    assert_status(caught.value, 404, "NotFound")


# -- update ----------------------------------------------------------------------------------


async def test_update_with_the_current_resource_version_succeeds_and_moves_it_forward(
    core: client.CoreV1Api,
) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a"))
    created.data = {"k": "changed"}

    updated = await core.replace_namespaced_config_map("a", "default", created)

    assert updated.data == {"k": "changed"}
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    assert updated.metadata.uid == created.metadata.uid
    assert updated.metadata.creation_timestamp == created.metadata.creation_timestamp


async def test_update_with_stale_resource_version_gets_409_conflict(core: client.CoreV1Api) -> None:
    stale = await core.create_namespaced_config_map("default", configmap("a"))
    fresh = await core.read_namespaced_config_map("a", "default")
    fresh.data = {"k": "first writer"}
    await core.replace_namespaced_config_map("a", "default", fresh)
    stale.data = {"k": "second writer"}

    with pytest.raises(ApiException) as caught:
        await core.replace_namespaced_config_map("a", "default", stale)

    body = assert_status(caught.value, 409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert body["details"]["name"] == "a"
    assert (await core.read_namespaced_config_map("a", "default")).data == {"k": "first writer"}


async def test_update_without_a_resource_version_overwrites_unconditionally(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))

    updated = await core.replace_namespaced_config_map("a", "default", {"metadata": {"name": "a"}, "data": {"n": "1"}})

    assert updated.data == {"n": "1"}


async def test_update_of_a_missing_object_gets_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.replace_namespaced_config_map("missing", "default", configmap("missing"))

    assert_status(caught.value, 404, "NotFound")


async def test_update_with_a_name_that_differs_from_the_url_gets_400(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))

    with pytest.raises(ApiException) as caught:
        await core.replace_namespaced_config_map("a", "default", configmap("b"))

    assert_status(caught.value, 400, "BadRequest")


async def test_update_that_changes_nothing_keeps_the_resource_version(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a"))

    same = await core.replace_namespaced_config_map("a", "default", created)

    assert same.metadata.resource_version == created.metadata.resource_version


async def test_a_label_change_does_not_bump_generation(apps: client.AppsV1Api) -> None:
    created = await apps.create_namespaced_deployment("default", deployment("web"))
    created.metadata.labels["extra"] = "yes"

    updated = await apps.replace_namespaced_deployment("web", "default", created)

    assert updated.metadata.labels["extra"] == "yes"
    assert updated.metadata.generation == 1


async def test_a_spec_change_bumps_generation(apps: client.AppsV1Api) -> None:
    created = await apps.create_namespaced_deployment("default", deployment("web"))
    created.spec.replicas = 3

    updated = await apps.replace_namespaced_deployment("web", "default", created)
    again = await apps.patch_namespaced_deployment("web", "default", {"spec": {"paused": True}})

    assert updated.metadata.generation == 2
    assert again.metadata.generation == 3


# -- custom resources and the status subresource -----------------------------------------


async def test_a_custom_resource_is_created_and_read_as_a_plain_dict(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    created = await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))
    got = await custom.get_namespaced_custom_object(G, V, "default", P, "w")

    assert got == created
    assert got["kind"] == "Widget"
    assert got["apiVersion"] == "example.io/v1"
    assert got["metadata"]["generation"] == 1
    assert got["metadata"]["uid"]
    assert got["spec"] == {"size": 1}


async def test_status_in_a_create_body_of_a_type_with_a_status_subresource_is_dropped(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    created = await custom.create_namespaced_custom_object(
        G, V, "default", P, {**widget("w"), "status": {"ready": True}})

    assert "status" not in created


async def test_writing_status_through_the_main_resource_is_ignored(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    created = await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))

    replaced = await custom.replace_namespaced_custom_object(
        G, V, "default", P, "w", {**created, "spec": {"size": 2}, "status": {"ready": True}})
    patched = await custom.patch_namespaced_custom_object(
        G, V, "default", P, "w", {"status": {"ready": True}}, _content_type="application/merge-patch+json")

    assert replaced["spec"] == {"size": 2}
    assert "status" not in replaced
    assert "status" not in patched
    assert patched["metadata"]["resourceVersion"] == replaced["metadata"]["resourceVersion"]


async def test_patching_status_changes_status_without_bumping_generation(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    created = await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))

    patched = await custom.patch_namespaced_custom_object_status(
        G, V, "default", P, "w", {"status": {"ready": True}}, _content_type="application/merge-patch+json")

    assert patched["status"] == {"ready": True}
    assert patched["metadata"]["generation"] == 1
    assert int(patched["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert (await custom.get_namespaced_custom_object_status(G, V, "default", P, "w"))["status"] == {"ready": True}


async def test_writing_spec_through_the_status_subresource_is_ignored(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    created = await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))

    patched = await custom.patch_namespaced_custom_object_status(
        G, V, "default", P, "w", {"spec": {"size": 9}, "metadata": {"labels": {"x": "y"}}, "status": {"n": 1}},
        _content_type="application/merge-patch+json")
    replaced = await custom.replace_namespaced_custom_object_status(
        G, V, "default", P, "w", {**patched, "spec": {"size": 10}, "status": {"n": 2}})

    for answer in (patched, replaced):
        assert answer["spec"] == {"size": 1}
        assert "labels" not in answer["metadata"]
        assert answer["metadata"]["generation"] == created["metadata"]["generation"]
    assert replaced["status"] == {"n": 2}


async def test_a_spec_change_to_a_custom_resource_bumps_generation_and_keeps_status(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))
    await custom.patch_namespaced_custom_object_status(
        G, V, "default", P, "w", {"status": {"ready": True}}, _content_type="application/merge-patch+json")

    patched = await custom.patch_namespaced_custom_object(
        G, V, "default", P, "w", {"spec": {"size": 2}}, _content_type="application/merge-patch+json")

    assert patched["metadata"]["generation"] == 2
    assert patched["status"] == {"ready": True}


async def test_the_status_subresource_of_a_type_without_one_gets_404(
    hub: ApiServer, custom: client.CustomObjectsApi
) -> None:
    hub.store.register(ResourceType(group="example.io", version="v1", plural="gadgets", kind="Gadget"))
    await custom.create_namespaced_custom_object(
        G, V, "default", "gadgets", {"apiVersion": "example.io/v1", "kind": "Gadget", "metadata": {"name": "g"}})

    with pytest.raises(ApiException) as caught:
        await custom.get_namespaced_custom_object_status(G, V, "default", "gadgets", "g")

    assert_status(caught.value, 404, "NotFound")


async def test_the_crd_of_a_registered_type_is_listed_and_established(
    widgets: ResourceType, api: client.ApiClient
) -> None:
    crds = await client.ApiextensionsV1Api(api).list_custom_resource_definition()

    crd = next(c for c in crds.items if c.metadata.name == "widgets.example.io")
    assert crd.spec.group == "example.io"
    assert crd.spec.names.kind == "Widget"
    assert crd.spec.names.plural == "widgets"
    assert crd.spec.scope == "Namespaced"
    assert [v.name for v in crd.spec.versions] == ["v1"]
    assert crd.spec.versions[0].subresources.status == {}
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"


# -- delete --------------------------------------------------------------------------------


async def test_delete_removes_an_object_without_finalizers_and_a_watch_sees_deleted(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    listed = await core.list_namespaced_config_map("default")

    status = await core.delete_namespaced_config_map("a", "default")

    assert status.status == "Success"
    assert status.details.name == "a"
    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_config_map("a", "default")
    assert caught.value.status == 404
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default",
                          resource_version=listed.metadata.resource_version, timeout_seconds=5)
        event = await next_event(stream)
    assert event["type"] == "DELETED"
    assert event["object"].metadata.name == "a"
    assert int(event["object"].metadata.resource_version) > int(listed.metadata.resource_version)


async def test_delete_of_a_custom_resource_answers_with_the_deleted_object(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))

    answer = await custom.delete_namespaced_custom_object(G, V, "default", P, "w")

    assert answer["kind"] == "Widget"
    assert answer["metadata"]["name"] == "w"


async def test_delete_of_a_missing_object_gets_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.delete_namespaced_config_map("missing", "default")

    body = assert_status(caught.value, 404, "NotFound")
    assert body["details"]["name"] == "missing"


async def test_delete_with_a_wrong_uid_precondition_gets_409_conflict(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid"))

    with pytest.raises(ApiException) as caught:
        await core.delete_namespaced_config_map("a", "default", body=options)

    body = assert_status(caught.value, 409, "Conflict")
    assert "Precondition failed" in body["message"]
    assert await core.read_namespaced_config_map("a", "default")


async def test_delete_with_a_stale_resource_version_precondition_gets_409_conflict(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a"))
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "changed"}})
    options = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(resource_version=created.metadata.resource_version))

    with pytest.raises(ApiException) as caught:
        await core.delete_namespaced_config_map("a", "default", body=options)

    assert_status(caught.value, 409, "Conflict")


async def test_delete_with_matching_preconditions_succeeds(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a"))
    options = client.V1DeleteOptions(preconditions=client.V1Preconditions(
        uid=created.metadata.uid, resource_version=created.metadata.resource_version))

    await core.delete_namespaced_config_map("a", "default", body=options)

    assert (await core.list_namespaced_config_map("default")).items == []


async def test_delete_of_an_object_with_finalizers_marks_it_and_keeps_it_readable(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a", finalizers=["example.io/keep"]))

    await core.delete_namespaced_config_map("a", "default")
    marked = await core.read_namespaced_config_map("a", "default")
    await core.delete_namespaced_config_map("a", "default")  # deleting again changes nothing
    again = await core.read_namespaced_config_map("a", "default")

    assert marked.metadata.deletion_timestamp is not None
    assert marked.metadata.finalizers == ["example.io/keep"]
    assert again.metadata.resource_version == marked.metadata.resource_version


async def test_emptying_the_finalizers_of_a_deleting_object_removes_it_with_a_deleted_event(
    core: client.CoreV1Api,
) -> None:
    await core.create_namespaced_config_map("default", configmap("a", finalizers=["example.io/keep"]))
    await core.delete_namespaced_config_map("a", "default")
    marked = await core.read_namespaced_config_map("a", "default")

    await core.patch_namespaced_config_map("a", "default", {"metadata": {"finalizers": None}},
                                           _content_type="application/merge-patch+json")

    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_config_map("a", "default")
    assert caught.value.status == 404
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default",
                          resource_version=marked.metadata.resource_version, timeout_seconds=5)
        event = await next_event(stream)
    assert event["type"] == "DELETED"
    assert event["object"].metadata.name == "a"


async def test_removing_one_of_two_finalizers_keeps_a_deleting_object(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.io/a", "example.io/b"]
    await custom.create_namespaced_custom_object(G, V, "default", P, body)
    await custom.delete_namespaced_custom_object(G, V, "default", P, "w")

    patched = await custom.patch_namespaced_custom_object(
        G, V, "default", P, "w", [{"op": "remove", "path": "/metadata/finalizers/0"}])
    await custom.patch_namespaced_custom_object(
        G, V, "default", P, "w", [{"op": "remove", "path": "/metadata/finalizers/0"}])

    assert patched["metadata"]["finalizers"] == ["example.io/b"]
    assert patched["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as caught:
        await custom.get_namespaced_custom_object(G, V, "default", P, "w")
    assert caught.value.status == 404


async def test_adding_a_finalizer_to_an_object_being_deleted_gets_422(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a", finalizers=["example.io/keep"]))
    await core.delete_namespaced_config_map("a", "default")

    with pytest.raises(ApiException) as caught:
        await core.patch_namespaced_config_map("a", "default", {"metadata": {"finalizers": ["example.io/new"]}})

    body = assert_status(caught.value, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.finalizers"
    assert (await core.read_namespaced_config_map("a", "default")).metadata.finalizers == ["example.io/keep"]


async def test_namespace_deletion_removes_the_namespace_and_its_objects(
    widgets: ResourceType, core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    await core.create_namespace({"metadata": {"name": "team"}})
    await core.create_namespaced_config_map("team", configmap("a"))
    await custom.create_namespaced_custom_object(G, V, "team", P, widget("w"))
    await core.create_namespaced_config_map("default", configmap("elsewhere"))

    await core.delete_namespace("team")

    assert (await core.list_namespaced_config_map("team")).items == []
    assert (await custom.list_namespaced_custom_object(G, V, "team", P))["items"] == []
    with pytest.raises(ApiException) as caught:
        await core.read_namespace("team")
    assert caught.value.status == 404
    assert await core.read_namespaced_config_map("elsewhere", "default")


async def test_a_namespace_stays_terminating_while_an_object_in_it_has_finalizers(core: client.CoreV1Api) -> None:
    await core.create_namespace({"metadata": {"name": "team"}})
    await core.create_namespaced_config_map("team", configmap("a", finalizers=["example.io/keep"]))

    await core.delete_namespace("team")
    terminating = await core.read_namespace("team")
    with pytest.raises(ApiException) as refused:
        await core.create_namespaced_config_map("team", configmap("b"))
    await core.patch_namespaced_config_map("a", "team", {"metadata": {"finalizers": None}},
                                           _content_type="application/merge-patch+json")

    assert terminating.status.phase == "Terminating"
    assert terminating.metadata.deletion_timestamp is not None
    assert_status(refused.value, 403, "Forbidden")
    with pytest.raises(ApiException) as caught:
        await core.read_namespace("team")
    assert caught.value.status == 404
