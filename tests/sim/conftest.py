"""Fixtures for the emulator's API tests: typed API groups and a registered custom resource type."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client

from asyncswitch.sim import ApiServer, ResourceType

from .support import WIDGETS


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


@pytest.fixture
def widgets(hub: ApiServer) -> ResourceType:
    """The Widget custom resource type (example.io/v1, namespaced, with a status subresource), registered."""
    return hub.store.register(WIDGETS)
