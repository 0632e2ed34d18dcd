"""Lists through kubernetes_asyncio: label and field selectors, pages, and the list's resourceVersion."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim import ApiServer, ResourceType

from .support import assert_status, widget

LABELS: dict[str, dict[str, str]] = {
    "a": {"app": "web", "tier": "front"},
    "b": {"app": "web", "tier": "back"},
    "c": {"app": "db"},
    "d": {},
}


@pytest.fixture
async def labelled(core: client.CoreV1Api) -> None:
    """ConfigMaps a, b, c, d in default (labels as in LABELS) and one named a in kube-system."""
    for name, labels in LABELS.items():
        await core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})
    await core.create_namespaced_config_map("kube-system", {"metadata": {"name": "a", "labels": {"app": "web"}}})


async def names(core: client.CoreV1Api, **kwargs: str) -> list[str]:
    return [cm.metadata.name for cm in (await core.list_namespaced_config_map("default", **kwargs)).items]


# -- label selectors -----------------------------------------------------------------------


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", ["a", "b"]),
    ("app==web", ["a", "b"]),
    ("app!=web", ["c", "d"]),
    ("tier in (front,back)", ["a", "b"]),
    ("tier in (front, back)", ["a", "b"]),
    ("tier notin (front)", ["b", "c", "d"]),
    ("tier", ["a", "b"]),
    ("!tier", ["c", "d"]),
    ("app=web,tier=back", ["b"]),
    ("app in (web,db),!tier", ["c"]),
    ("app=nothing", []),
    ("", ["a", "b", "c", "d"]),
])
async def test_a_label_selector_lists_exactly_the_matching_objects(
    core: client.CoreV1Api, selector: str, expected: list[str]
) -> None:
    assert await names(core, label_selector=selector) == expected


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize("selector", ["app in web", "app=(web)", "!tier in (front)", "a b", "tier in ()"])
async def test_an_unparseable_label_selector_gets_400_bad_request(core: client.CoreV1Api, selector: str) -> None:
    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default", label_selector=selector)

    assert_status(caught.value, 400, "BadRequest")


async def test_a_label_selector_filters_custom_resources_too(
    widgets: ResourceType, custom: client.CustomObjectsApi
) -> None:
    for name, labels in LABELS.items():
        body = widget(name)
        body["metadata"]["labels"] = labels
        await custom.create_namespaced_custom_object("example.io", "v1", "default", "widgets", body)

    listed = await custom.list_namespaced_custom_object("example.io", "v1", "default", "widgets",
                                                        label_selector="tier notin (back),app")

    assert [w["metadata"]["name"] for w in listed["items"]] == ["a", "c"]
    assert listed["kind"] == "WidgetList"
    assert listed["apiVersion"] == "example.io/v1"


# -- field selectors -----------------------------------------------------------------------


@pytest.mark.usefixtures("labelled")
async def test_a_field_selector_on_metadata_name_lists_that_object_in_every_namespace(core: client.CoreV1Api) -> None:
    everywhere = await core.list_config_map_for_all_namespaces(field_selector="metadata.name=a")

    assert [(cm.metadata.namespace, cm.metadata.name) for cm in everywhere.items] == [
        ("default", "a"), ("kube-system", "a")]


@pytest.mark.usefixtures("labelled")
async def test_a_field_selector_on_metadata_namespace_lists_only_that_namespace(core: client.CoreV1Api) -> None:
    listed = await core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=kube-system")

    assert [(cm.metadata.namespace, cm.metadata.name) for cm in listed.items] == [("kube-system", "a")]


@pytest.mark.usefixtures("labelled")
async def test_field_selectors_negate_and_combine_with_label_selectors(core: client.CoreV1Api) -> None:
    assert await names(core, field_selector="metadata.name!=a") == ["b", "c", "d"]
    assert await names(core, field_selector="metadata.name!=a,metadata.name!=b") == ["c", "d"]
    assert await names(core, field_selector="metadata.name!=a", label_selector="app=web") == ["b"]


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize("selector", ["data.k=v", "spec.nodeName=n1", "metadata.labels=x"])
async def test_a_field_selector_on_an_unsupported_field_gets_400_bad_request(
    core: client.CoreV1Api, selector: str
) -> None:
    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default", field_selector=selector)

    body = assert_status(caught.value, 400, "BadRequest")
    assert "field label not supported" in body["message"]


async def test_a_type_specific_field_selector_works_where_the_type_supports_it(core: client.CoreV1Api) -> None:
    container = {"name": "main", "image": "registry.example/main:1"}
    await core.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": {"containers": [container]}})

    pending = await core.list_namespaced_pod("default", field_selector="status.phase=Pending")
    running = await core.list_namespaced_pod("default", field_selector="status.phase=Running")

    assert [p.metadata.name for p in pending.items] == ["p"]
    assert running.items == []


# -- namespaces and order ------------------------------------------------------------------


@pytest.mark.usefixtures("labelled")
async def test_a_cluster_wide_list_spans_namespaces_in_namespace_then_name_order(core: client.CoreV1Api) -> None:
    listed = await core.list_config_map_for_all_namespaces()

    assert [(cm.metadata.namespace, cm.metadata.name) for cm in listed.items] == [
        ("default", "a"), ("default", "b"), ("default", "c"), ("default", "d"), ("kube-system", "a")]


async def test_the_default_namespaces_exist_from_the_start(core: client.CoreV1Api) -> None:
    listed = await core.list_namespace()

    assert {ns.metadata.name for ns in listed.items} >= {"default", "kube-system", "kube-public", "kube-node-lease"}
    assert {ns.status.phase for ns in listed.items} == {"Active"}


# -- pages -----------------------------------------------------------------------------------


async def test_limit_and_continue_pages_cover_every_object_exactly_once(core: client.CoreV1Api) -> None:
    expected = [f"cm-{i:02d}" for i in range(7)]
    for name in reversed(expected):
        await core.create_namespaced_config_map("default", {"metadata": {"name": name}})

    pages: list[list[str]] = []
    remaining: list[int | None] = []
    token: str | None = None
    while True:
        page = await core.list_namespaced_config_map("default", limit=3, _continue=token)
        pages.append([cm.metadata.name for cm in page.items])
        remaining.append(page.metadata.remaining_item_count)
        token = page.metadata._continue
        if not token:
            break

    assert pages == [expected[:3], expected[3:6], expected[6:]]
    assert remaining == [4, 1, None]


async def test_every_page_carries_the_resource_version_of_the_first(core: client.CoreV1Api) -> None:
    for name in ("a", "b", "c"):
        await core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    first = await core.list_namespaced_config_map("default", limit=2)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "z"}})

    second = await core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)

    assert second.metadata.resource_version == first.metadata.resource_version


async def test_a_limit_above_the_count_gives_one_page_without_continue(core: client.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})

    page = await core.list_namespaced_config_map("default", limit=10)

    assert [cm.metadata.name for cm in page.items] == ["a"]
    assert not page.metadata._continue
    assert page.metadata.remaining_item_count is None


async def test_continue_with_a_resource_version_gets_400(core: client.CoreV1Api) -> None:
    for name in ("a", "b"):
        await core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    first = await core.list_namespaced_config_map("default", limit=1)

    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default", limit=1, _continue=first.metadata._continue,
                                              resource_version=first.metadata.resource_version)

    assert_status(caught.value, 400, "BadRequest")


async def test_a_garbled_continue_token_gets_400(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default", limit=1, _continue="not-a-token")

    assert_status(caught.value, 400, "BadRequest")


async def test_a_continue_token_from_before_a_compaction_gets_410_expired(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    for name in ("a", "b"):
        await core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    first = await core.list_namespaced_config_map("default", limit=1)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    hub.store.compact()

    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default", limit=1, _continue=first.metadata._continue)

    assert_status(caught.value, 410, "Expired")


# -- the list's resourceVersion --------------------------------------------------------------


async def test_a_list_carries_the_resource_version_of_the_latest_write(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    created = await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    before = await core.list_namespaced_config_map("default")
    await core.create_namespace({"metadata": {"name": "elsewhere"}})  # any write moves the server's version
    after = await core.list_namespaced_config_map("default")

    assert before.metadata.resource_version == created.metadata.resource_version
    assert int(after.metadata.resource_version) == hub.store.resource_version
    assert int(after.metadata.resource_version) > int(before.metadata.resource_version)


async def test_a_list_with_resource_version_match_exact_serves_the_current_version(core: client.CoreV1Api) -> None:
    current = await core.list_namespaced_config_map("default")

    exact = await core.list_namespaced_config_map("default", resource_version=current.metadata.resource_version,
                                                  resource_version_match="Exact")

    assert exact.metadata.resource_version == current.metadata.resource_version


# -- delete collection -----------------------------------------------------------------------


@pytest.mark.usefixtures("labelled")
async def test_delete_collection_removes_only_the_selected_objects_in_that_namespace(core: client.CoreV1Api) -> None:
    await core.delete_collection_namespaced_config_map("default", label_selector="app=web")

    assert await names(core) == ["c", "d"]
    assert [cm.metadata.name for cm in (await core.list_namespaced_config_map("kube-system")).items] == ["a"]
