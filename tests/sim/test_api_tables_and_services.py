"""Table output for built-in types (the columns ``kubectl get`` prints) and core Services."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client

from asyncswitch.sim import ApiServer

from .support import deployment, http

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


async def table(hub: ApiServer, path: str) -> dict[str, Any]:
    async with http(hub, hub.token) as session, session.get(path, headers={"Accept": TABLE}) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    assert body["kind"] == "Table"
    return body


def columns(body: dict[str, Any], priority: int = 0) -> list[str]:
    return [c["name"] for c in body["columnDefinitions"] if c["priority"] <= priority]


def rows(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {row["cells"][0]: row["cells"] for row in body["rows"]}


async def test_pods_print_ready_status_restarts_and_age_with_wide_columns_at_priority_one(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    await core.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "registry.example/a:1"}, {"name": "b", "image": "registry.example/b:1"}]}})
    body = await table(hub, "/api/v1/namespaces/default/pods")
    assert columns(body) == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert columns(body, 1)[5:] == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    assert rows(body)["p"][:4] == ["p", "0/2", "Pending", "0"]

    await core.patch_namespaced_pod_status("p", "default", {"status": {"phase": "Running", "containerStatuses": [
        {"name": "a", "ready": True, "restartCount": 2, "image": "a", "imageID": "a", "state": {"running": {}}},
        {"name": "b", "ready": False, "restartCount": 1, "image": "b", "imageID": "b",
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}})
    assert rows(await table(hub, "/api/v1/namespaces/default/pods/p"))["p"][:4] == ["p", "1/2", "CrashLoopBackOff", "3"]


async def test_deployments_print_ready_up_to_date_and_available(hub: ApiServer, apps: client.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", replicas=3))
    await apps.patch_namespaced_deployment_status("web", "default", {"status": {
        "replicas": 3, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}})
    body = await table(hub, "/apis/apps/v1/namespaces/default/deployments")
    assert columns(body) == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert columns(body, 1)[5:] == ["Containers", "Images", "Selector"]
    assert rows(body)["web"][:4] == ["web", "1/3", 2, 1]
    assert rows(body)["web"][5:] == ["main", "registry.example/main:1", "app=web"]


async def test_the_kubernetes_service_is_served_in_default(core: client.CoreV1Api) -> None:
    service = await core.read_namespaced_service("kubernetes", "default")
    assert service.spec.type == "ClusterIP"
    assert service.spec.cluster_ip == "10.96.0.1"
    assert [(p.name, p.port, p.protocol) for p in service.spec.ports] == [("https", 443, "TCP")]


async def test_a_new_service_gets_a_cluster_ip_and_port_defaults_and_prints_as_kubectl_shows_it(
    hub: ApiServer, core: client.CoreV1Api
) -> None:
    created = await core.create_namespaced_service("default", {
        "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    other = await core.create_namespaced_service("default", {"metadata": {"name": "api"},
                                                             "spec": {"ports": [{"port": 8443}]}})
    assert created.spec.type == "ClusterIP"
    assert created.spec.cluster_ip not in ("", None, "10.96.0.1", other.spec.cluster_ip)
    assert (created.spec.ports[0].protocol, created.spec.ports[0].target_port) == ("TCP", 80)

    body = await table(hub, "/api/v1/namespaces/default/services")
    assert columns(body) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"]
    assert rows(body)["web"][:5] == ["web", "ClusterIP", created.spec.cluster_ip, "<none>", "80/TCP"]
    assert rows(body)["web"][6] == "app=web"


async def test_services_are_found_by_label_selector_as_kubectl_cluster_info_lists_them(
    core: client.CoreV1Api,
) -> None:
    await core.create_namespaced_service("kube-system", {
        "metadata": {"name": "kube-dns", "labels": {"kubernetes.io/cluster-service": "true"}},
        "spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}})
    await core.create_namespaced_service("kube-system", {"metadata": {"name": "other"},
                                                         "spec": {"ports": [{"port": 80}]}})
    listed = await core.list_namespaced_service("kube-system", label_selector="kubernetes.io/cluster-service=true")
    assert [s.metadata.name for s in listed.items] == ["kube-dns"]
