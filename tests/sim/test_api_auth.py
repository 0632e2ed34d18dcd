"""Bearer-token authentication and the read-only token's rights, as kubernetes_asyncio clients see them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, ResourceType

from .support import assert_status, client_with_token, deployment, next_event, widget

G, V, P = "example.io", "v1", "widgets"


@pytest.fixture
async def seeded(core: client.CoreV1Api, apps: client.AppsV1Api, custom: client.CustomObjectsApi,
                 widgets: ResourceType) -> None:
    """One ConfigMap, one Deployment and one Widget, written with the full-access token."""
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "v"}})
    await apps.create_namespaced_deployment("default", deployment("web"))
    await custom.create_namespaced_custom_object(G, V, "default", P, widget("w", size=1))


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "not-a-token-this-server-issued"])
async def test_a_request_without_a_valid_token_gets_401_unauthorized(
    hub: ApiServer, tmp_path: Path, token: str | None
) -> None:
    async with client_with_token(hub, token, tmp_path) as anonymous:
        with pytest.raises(ApiException) as caught:
            await client.CoreV1Api(anonymous).list_namespace()

    assert_status(caught.value, 401, "Unauthorized")


async def test_an_unknown_token_cannot_write_either(hub: ApiServer, tmp_path: Path) -> None:
    async with client_with_token(hub, "forged", tmp_path) as forged:
        with pytest.raises(ApiException) as caught:
            await client.CoreV1Api(forged).create_namespaced_config_map("default", {"metadata": {"name": "a"}})

    assert caught.value.status == 401
    assert hub.store.find(hub.store.type_of("configmaps"), "default", "a") is None


async def test_a_token_added_at_run_time_is_accepted(hub: ApiServer, tmp_path: Path) -> None:
    hub.add_token("ci-token", user="ci", writable=True)

    async with client_with_token(hub, "ci-token", tmp_path) as ci:
        created = await client.CoreV1Api(ci).create_namespaced_config_map("default", {"metadata": {"name": "a"}})

    assert created.metadata.name == "a"
    assert hub.requests.records(verb="create", resource="configmaps")[-1].user == "ci"


# -- the read-only token ---------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
async def test_the_read_only_token_can_get_list_and_watch(read_only_api: client.ApiClient) -> None:
    core = client.CoreV1Api(read_only_api)
    custom = client.CustomObjectsApi(read_only_api)

    got = await core.read_namespaced_config_map("a", "default")
    listed = await client.AppsV1Api(read_only_api).list_namespaced_deployment("default")
    widget_got = await custom.get_namespaced_custom_object(G, V, "default", P, "w")
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
        event = await next_event(stream)

    assert got.data == {"k": "v"}
    assert [d.metadata.name for d in listed.items] == ["web"]
    assert widget_got["spec"] == {"size": 1}
    assert (event["type"], event["object"].metadata.name) == ("ADDED", "a")


MERGE = "application/merge-patch+json"
Write = Callable[[client.ApiClient], Awaitable[Any]]

WRITES: dict[str, Write] = {
    "create": lambda api: client.CoreV1Api(api).create_namespaced_config_map(
        "default", {"metadata": {"name": "b"}}),
    "update": lambda api: client.CoreV1Api(api).replace_namespaced_config_map(
        "a", "default", {"metadata": {"name": "a"}, "data": {"k": "changed"}}),
    "patch": lambda api: client.CoreV1Api(api).patch_namespaced_config_map("a", "default", {"data": {"k": "x"}}),
    "delete": lambda api: client.CoreV1Api(api).delete_namespaced_config_map("a", "default"),
    "deletecollection": lambda api: client.CoreV1Api(api).delete_collection_namespaced_config_map("default"),
    "create namespace": lambda api: client.CoreV1Api(api).create_namespace({"metadata": {"name": "mine"}}),
    "delete namespace": lambda api: client.CoreV1Api(api).delete_namespace("default"),
    "patch scale": lambda api: client.AppsV1Api(api).patch_namespaced_deployment_scale(
        "web", "default", {"spec": {"replicas": 3}}),
    "patch custom object": lambda api: client.CustomObjectsApi(api).patch_namespaced_custom_object(
        G, V, "default", P, "w", {"spec": {"size": 2}}, _content_type=MERGE),
    "patch custom object status": lambda api: client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        G, V, "default", P, "w", {"status": {"ready": True}}, _content_type=MERGE),
    "delete custom object": lambda api: client.CustomObjectsApi(api).delete_namespaced_custom_object(
        G, V, "default", P, "w"),
}


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("write", list(WRITES))
async def test_every_mutating_verb_with_the_read_only_token_gets_403_forbidden(
    hub: ApiServer, read_only_api: client.ApiClient, write: str
) -> None:
    before = hub.store.resource_version

    with pytest.raises(ApiException) as caught:
        await WRITES[write](read_only_api)

    body = assert_status(caught.value, 403, "Forbidden")
    assert 'User "viewer:hub" cannot' in body["message"]
    assert hub.store.resource_version == before  # nothing was written


@pytest.mark.usefixtures("seeded")
async def test_a_forbidden_status_names_the_verb_resource_and_namespace(read_only_api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as caught:
        await client.AppsV1Api(read_only_api).patch_namespaced_deployment_scale(
            "web", "default", {"spec": {"replicas": 3}})

    body = assert_status(caught.value, 403, "Forbidden")
    assert body["message"] == ('deployments is forbidden: User "viewer:hub" cannot patch resource '
                               '"deployments/scale" in API group "apps" in the namespace "default"')
    assert body["details"] == {"kind": "deployments", "group": "apps", "name": "web"}


# -- SelfSubjectAccessReview -----------------------------------------------------------------


async def can_i(api: client.ApiClient, verb: str, resource: str = "configmaps") -> client.V1SelfSubjectAccessReview:
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource, namespace="default")))
    return await client.AuthorizationV1Api(api).create_self_subject_access_review(review)


@pytest.mark.parametrize("verb", ["get", "list", "watch", "create", "update", "patch", "delete"])
async def test_self_subject_access_review_allows_every_verb_to_the_full_access_token(
    api: client.ApiClient, verb: str
) -> None:
    answer = await can_i(api, verb)

    assert answer.status.allowed is True
    assert answer.spec.resource_attributes.verb == verb


@pytest.mark.parametrize(("verb", "allowed"), [
    ("get", True), ("list", True), ("watch", True),
    ("create", False), ("update", False), ("patch", False), ("delete", False), ("deletecollection", False),
])
async def test_self_subject_access_review_answers_the_read_only_token_by_its_rights(
    read_only_api: client.ApiClient, verb: str, allowed: bool
) -> None:
    answer = await can_i(read_only_api, verb, "deployments")

    assert answer.status.allowed is allowed
    assert answer.status.reason
    assert answer.kind == "SelfSubjectAccessReview"
