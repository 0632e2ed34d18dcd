"""Discovery (/version, /api, /apis, resource lists), health endpoints, and plain-HTTP serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, ResourceType, kubeconfig_for, write_kubeconfig

from .support import assert_status, client_with_token

ALL_VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}


async def raw_get(api: client.ApiClient, path: str) -> Any:
    """GET a path with the client's credentials; the decoded JSON body."""
    return await api.call_api(path, "GET", auth_settings=["BearerToken"], response_types_map={200: "object"},
                              _return_http_data_only=True)


def resources_by_name(resource_list: client.V1APIResourceList) -> dict[str, client.V1APIResource]:
    return {r.name: r for r in resource_list.resources}


# -- /version --------------------------------------------------------------------------------


async def test_version_answers_every_field_kubectl_and_clients_read(api: client.ApiClient) -> None:
    info = await client.VersionApi(api).get_code()

    for field in ("major", "minor", "git_version", "git_commit", "git_tree_state", "build_date", "go_version",
                  "compiler", "platform"):
        assert getattr(info, field), field
    assert info.git_version.startswith(f"v{info.major}.{info.minor}.")
    assert info.git_tree_state == "clean"
    assert int(info.major) == 1


# -- /api and /apis ----------------------------------------------------------------------------


async def test_api_lists_the_core_version(api: client.ApiClient) -> None:
    versions = await client.CoreApi(api).get_api_versions()

    assert versions.versions == ["v1"]
    assert versions.server_address_by_client_cidrs[0].client_cidr == "0.0.0.0/0"


async def test_apis_lists_the_built_in_groups_with_a_preferred_version(api: client.ApiClient) -> None:
    groups = {g.name: g for g in (await client.ApisApi(api).get_api_versions()).groups}

    assert {"apps", "apiextensions.k8s.io", "authorization.k8s.io"} <= set(groups)
    assert "" not in groups  # the core group is served under /api, not /apis
    assert groups["apps"].preferred_version.group_version == "apps/v1"
    assert [v.group_version for v in groups["apps"].versions] == ["apps/v1"]


async def test_apis_lists_a_custom_group_once_its_type_is_registered(hub: ApiServer, api: client.ApiClient) -> None:
    before = {g.name for g in (await client.ApisApi(api).get_api_versions()).groups}
    hub.store.register(ResourceType(group="example.io", version="v1", plural="widgets", kind="Widget"))
    hub.store.register(ResourceType(group="example.io", version="v2", plural="widgets", kind="Widget"))

    after = {g.name: g for g in (await client.ApisApi(api).get_api_versions()).groups}
    group = await raw_get(api, "/apis/example.io")

    assert "example.io" not in before
    assert [v.group_version for v in after["example.io"].versions] == ["example.io/v1", "example.io/v2"]
    assert group["kind"] == "APIGroup"
    assert group["preferredVersion"] == {"groupVersion": "example.io/v1", "version": "v1"}


async def test_a_built_in_group_answers_its_api_group_document(api: client.ApiClient) -> None:
    group = await client.AppsApi(api).get_api_group()

    assert group.name == "apps"
    assert group.preferred_version.version == "v1"


# -- resource lists ----------------------------------------------------------------------------


async def test_api_v1_lists_core_resources_with_their_verbs_and_scope(api: client.ApiClient) -> None:
    listed = await client.CoreV1Api(api).get_api_resources()
    by_name = resources_by_name(listed)

    assert listed.group_version == "v1"
    assert set(by_name["configmaps"].verbs) == ALL_VERBS
    assert by_name["configmaps"].namespaced is True
    assert by_name["configmaps"].kind == "ConfigMap"
    assert by_name["configmaps"].singular_name == "configmap"
    assert by_name["configmaps"].short_names == ["cm"]
    assert by_name["namespaces"].namespaced is False
    assert set(by_name["pods/status"].verbs) == {"get", "patch", "update"}
    assert "configmaps/status" not in by_name


async def test_apps_v1_lists_the_scale_subresource_as_an_autoscaling_scale(api: client.ApiClient) -> None:
    by_name = resources_by_name(await client.AppsV1Api(api).get_api_resources())

    scale = by_name["deployments/scale"]
    assert (scale.group, scale.version, scale.kind) == ("autoscaling", "v1", "Scale")
    assert by_name["deployments"].short_names == ["deploy"]
    assert by_name["deployments"].categories == ["all"]


async def test_a_custom_group_version_lists_its_resources_and_status_subresource(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    listed = await custom.get_api_resources("example.io", "v1")
    by_name = resources_by_name(listed)

    assert listed.group_version == "example.io/v1"
    assert set(by_name) == {"widgets", "widgets/status"}
    assert set(by_name["widgets"].verbs) == ALL_VERBS
    assert by_name["widgets"].kind == "Widget"


async def test_the_access_review_type_offers_only_create(api: client.ApiClient) -> None:
    by_name = resources_by_name(await client.AuthorizationV1Api(api).get_api_resources())

    assert by_name["selfsubjectaccessreviews"].verbs == ["create"]


@pytest.mark.parametrize("path", ["/apis/nothing.example", "/apis/nothing.example/v1", "/api/v2"])
async def test_discovery_of_an_unknown_group_or_version_gets_404(api: client.ApiClient, path: str) -> None:
    with pytest.raises(ApiException) as caught:
        await raw_get(api, path)

    assert_status(caught.value, 404, "NotFound")


async def test_a_write_to_a_discovery_path_gets_405(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as caught:
        await api.call_api("/apis", "POST", auth_settings=["BearerToken"], body={})

    assert_status(caught.value, 405, "MethodNotAllowed")


async def test_discovery_needs_a_token(hub: ApiServer, tmp_path: Path) -> None:
    async with client_with_token(hub, None, tmp_path) as anonymous:
        with pytest.raises(ApiException) as caught:
            await client.ApisApi(anonymous).get_api_versions()

    assert caught.value.status == 401


# -- a CRD created through the API -----------------------------------------------------------


async def test_a_crd_created_through_the_api_serves_its_resource(api: client.ApiClient) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.org"},
        "spec": {
            "group": "example.org",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
            "scope": "Cluster",
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}],
        },
    }
    await client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    custom = client.CustomObjectsApi(api)

    created = await custom.create_cluster_custom_object(
        "example.org", "v1", "gizmos", {"apiVersion": "example.org/v1", "kind": "Gizmo", "metadata": {"name": "g"}})
    listed = await custom.list_cluster_custom_object("example.org", "v1", "gizmos")
    resources = resources_by_name(await custom.get_api_resources("example.org", "v1"))

    assert created["metadata"]["name"] == "g"
    assert "namespace" not in created["metadata"]
    assert [g["metadata"]["name"] for g in listed["items"]] == ["g"]
    assert resources["gizmos"].namespaced is False


# -- health, OpenAPI, plain HTTP ---------------------------------------------------------------


@pytest.fixture
async def plain_http_api(tmp_path: Path) -> AsyncIterator[tuple[ApiServer, client.ApiClient]]:
    async with ApiServer("plain", tls=False) as server:
        path = write_kubeconfig(tmp_path / "plain-kubeconfig", kubeconfig_for([server]))
        api_client = await config.new_client_from_config(config_file=str(path), context="plain",
                                                         persist_config=False)
        async with api_client:
            yield server, api_client


async def test_plain_http_mode_serves_the_same_api(plain_http_api: tuple[ApiServer, client.ApiClient]) -> None:
    server, api = plain_http_api
    core = client.CoreV1Api(api)

    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    listed = await core.list_namespaced_config_map("default")
    info = await client.VersionApi(api).get_code()

    assert server.url.startswith("http://")
    assert server.ca_pem is None
    assert created.metadata.uid
    assert [cm.metadata.name for cm in listed.items] == ["a"]
    assert info.git_version


def test_the_kubeconfig_of_a_plain_http_server_carries_no_certificate_authority() -> None:
    server = ApiServer("plain", tls=False)

    [cluster] = kubeconfig_for([server])["clusters"]

    assert "certificate-authority-data" not in cluster["cluster"]
    assert cluster["cluster"]["server"].startswith("http://")


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz"])
async def test_health_endpoints_answer_ok_without_a_token(hub: ApiServer, tmp_path: Path, path: str) -> None:
    async with client_with_token(hub, None, tmp_path) as anonymous:
        response = await anonymous.call_api(path, "GET", _preload_content=False, _return_http_data_only=True)
        try:
            body = await response.text()
        finally:
            response.release()

    assert response.status == 200
    assert body == "ok"


async def test_openapi_v2_answers_a_swagger_document(api: client.ApiClient) -> None:
    document = await raw_get(api, "/openapi/v2")

    assert document["swagger"] == "2.0"
