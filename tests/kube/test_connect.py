"""Connecting to hubs from kubeconfig contexts, and the one-line errors when that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncswitch.errors import ConfigError
from asyncswitch.kube import NAMESPACES, ClientSettings, Hub, list_contexts
from asyncswitch.sim import ApiServer, kubeconfig_for, write_kubeconfig


async def test_each_context_of_a_kubeconfig_connects_to_its_own_hub(tmp_path: Path) -> None:
    async with ApiServer("hub-a") as a, ApiServer("hub-b") as b:
        path = write_kubeconfig(tmp_path / "kc", kubeconfig_for([a, b]))
        a.store.create(a.store.type_of("namespaces"), None, {"metadata": {"name": "only-on-a"}})

        assert list_contexts(path) == ["hub-a", "hub-b"]
        async with Hub.connect(path, "hub-a") as hub_a, Hub.connect(path, "hub-b", name="secondary") as hub_b:
            assert await hub_a.get(NAMESPACES, "only-on-a") is not None
            assert await hub_b.get(NAMESPACES, "only-on-a") is None
            assert (hub_b.name, hub_b.context) == ("secondary", "hub-b")


async def test_an_unknown_context_is_a_config_error_listing_the_known_ones(kubeconfig: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        async with Hub.connect(kubeconfig, "hub-z"):
            pass

    assert str(caught.value) == f"context 'hub-z' is not in kubeconfig {kubeconfig} (contexts: hub)"


@pytest.mark.parametrize(("content", "complaint"), [
    (None, "cannot read kubeconfig"),
    ("clusters: [unclosed", "is not valid YAML (line 1)"),
    ("", "has no contexts list"),
    ("just a string", "has no contexts list"),
])
async def test_a_kubeconfig_that_cannot_be_used_is_a_one_line_config_error(
        tmp_path: Path, content: str | None, complaint: str) -> None:
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)

    with pytest.raises(ConfigError) as caught:
        async with Hub.connect(path, "hub"):
            pass

    message = str(caught.value)
    assert complaint in message
    assert str(path) in message
    assert "\n" not in message


@pytest.mark.parametrize(("clusters", "users", "missing"), [
    ([{"name": "c", "cluster": {"server": "https://x"}}], [], "user 'ghost'"),
    ([], [{"name": "ghost", "user": {"token": "t0k3n"}}], "cluster 'c'"),
])
async def test_a_context_naming_an_undefined_cluster_or_user_is_a_config_error(
        tmp_path: Path, clusters: list[object], users: list[object], missing: str) -> None:
    document = {"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users,
                "contexts": [{"name": "hub", "context": {"cluster": "c", "user": "ghost"}}]}
    path = write_kubeconfig(tmp_path / "kc", document)

    with pytest.raises(ConfigError) as caught:
        async with Hub.connect(path, "hub"):
            pass

    assert str(caught.value) == f"context 'hub' in kubeconfig {path} names {missing}, which the file does not define"


@pytest.mark.parametrize("bad", [
    {"request_timeout": 0},
    {"attempts": 0},
    {"attempts": 2.5},
    {"backoff_base": 20.0},
    {"connect_timeout": 60.0},
    {"watch_inactivity": -1.0},
    {"list_page_size": True},
])
def test_client_settings_refuse_values_that_cannot_work(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        ClientSettings(**bad)  # type: ignore[arg-type]
