"""The client layer's public surface: what the pipeline and engine import is there, once."""

from __future__ import annotations

import asyncswitch.kube
from asyncswitch.errors import AsyncswitchError
from asyncswitch.kube import ALL_RESOURCES, HubApiError, HubUnreachableError, Resource, WaitTimeout


def test_every_exported_name_exists_and_none_is_listed_twice() -> None:
    exported = asyncswitch.kube.__all__
    assert [name for name in exported if not hasattr(asyncswitch.kube, name)] == []
    assert len(exported) == len(set(exported))


def test_hub_errors_and_wait_timeouts_belong_to_the_one_error_tree() -> None:
    assert issubclass(HubApiError, AsyncswitchError)
    assert issubclass(HubUnreachableError, HubApiError)
    assert issubclass(WaitTimeout, AsyncswitchError)


def test_every_resource_of_the_domain_table_has_a_distinct_api_path() -> None:
    paths = [r.path() for r in ALL_RESOURCES]
    assert len(set(paths)) == len(ALL_RESOURCES) == 24
    assert Resource("", "v1", "configmaps", "ConfigMap").path(namespace="ns", name="cm") == \
        "/api/v1/namespaces/ns/configmaps/cm"
    assert asyncswitch.kube.MANAGED_CLUSTERS.path(name="spoke-1", subresource="status") == \
        "/apis/cluster.open-cluster-management.io/v1/managedclusters/spoke-1/status"
