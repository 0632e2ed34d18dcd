"""Connecting to hubs from kubeconfig contexts, and the one-line errors when that cannot work."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asyncswitch.errors import ConfigError
from asyncswitch.kube import NAMESPACES, ClientSettings, Hub, HubUnreachableError, list_contexts
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


async def _proxy_that_counts(connections: list[bytes]) -> asyncio.Server:
    """A 'proxy' on loopback that records what each client sent first, then hangs up."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(await reader.readline())
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("no_proxy", ["", "127.0.0.1"])
async def test_the_proxy_environment_is_honoured_and_no_proxy_bypasses_it(
        kubeconfig: Path, monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    connections: list[bytes] = []
    async with await _proxy_that_counts(connections) as proxy:
        port = proxy.sockets[0].getsockname()[1]
        for name in ("HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, no_proxy)
        async with Hub.connect(kubeconfig, "hub", settings=ClientSettings(attempts=1)) as hub:
            if no_proxy:
                assert await hub.get(NAMESPACES, "default") is not None
            else:
                with pytest.raises(HubUnreachableError):
                    await hub.get(NAMESPACES, "default")

    methods = {line.split()[0] for line in connections}
    assert methods == (set() if no_proxy else {b"CONNECT"})


async def test_a_netrc_entry_for_the_hub_does_not_replace_the_kubeconfig_credentials(
        kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    async with Hub.connect(kubeconfig, "hub") as hub:
        assert await hub.get(NAMESPACES, "default") is not None
