"""``python -m asyncswitch sim`` as a user runs it: serving the simulated pair until SIGTERM, reachable
with kubernetes_asyncio and kubectl, and refusing bad input with one line and exit code 2."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from .conftest import connect
from .resources import LOCAL_CLUSTER, MANAGED_CLUSTERS, PASSIVE_RESTORE, RESTORES, Hub, connected, fleet, until
from .watching import name_of, phase

START_DEADLINE = 20.0
STOP_DEADLINE = 15.0
KUBECTL = shutil.which("kubectl")


@asynccontextmanager
async def serving(kubeconfig: Path, *args: str) -> AsyncIterator[list[str]]:
    """The simulator as a child process until "serving"; on exit SIGTERM, and it must exit 0 cleanly."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncswitch", "sim", "--kubeconfig-out", str(kubeconfig), *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(START_DEADLINE):
            while not (lines and lines[-1].startswith("serving")):
                line = await proc.stdout.readline()
                assert line, f"the simulator ended before serving; output: {lines}"
                lines.append(line.decode().rstrip("\n"))
        yield lines
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_DEADLINE):
                _, stderr = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"the simulator did not stop within {STOP_DEADLINE}s of SIGTERM") from None
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


async def test_the_simulator_serves_a_passive_hub_b_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    async with serving(kubeconfig, "--clusters", "5", "--profile", "instant") as lines:
        assert any("5 managed clusters" in line for line in lines)
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        async with await connect(kubeconfig, "hub-b") as api:
            hub_b = Hub.of("hub-b", api)
            assert [name_of(o) for o in await until(hub_b, MANAGED_CLUSTERS, bool)] == [LOCAL_CLUSTER]
            (restore,) = await until(hub_b, RESTORES, lambda objs: [phase(o) for o in objs] == ["Enabled"])
            assert name_of(restore) == PASSIVE_RESTORE
        async with await connect(kubeconfig, "hub-a") as api:
            clusters = await until(Hub.of("hub-a", api), MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 5
                                   and all(map(connected, objs)))
            assert len(clusters) == 6


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
async def test_kubectl_lists_hub_bs_local_cluster_and_passive_restore(tmp_path: Path) -> None:
    assert KUBECTL is not None
    kubeconfig = tmp_path / "kubeconfig"
    async with serving(kubeconfig, "--clusters", "5", "--profile", "instant"):
        proc = await asyncio.create_subprocess_exec(
            KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kube-cache"),
            "--context", "hub-b", "get", "managedclusters,restores.cluster.open-cluster-management.io", "-A",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        async with asyncio.timeout(30):
            stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    rows = [line.split() for line in stdout.decode().splitlines() if line.strip()]
    clusters = [row for row in rows if row[0].startswith("managedcluster.")]
    assert [row[0] for row in clusters] == [f"managedcluster.cluster.open-cluster-management.io/{LOCAL_CLUSTER}"]
    assert clusters[0][1:4] == ["true", "True", "True"]  # hub accepted, joined, available
    restores = [row for row in rows if row[0] == "open-cluster-management-backup"]
    assert [row[1] for row in restores] == [f"restore.cluster.open-cluster-management.io/{PASSIVE_RESTORE}"]
    assert restores[0][2] == "Enabled"


@pytest.mark.parametrize("bad", [["--clusters", "-1"], ["--profile", "nope"]], ids=["negative-clusters", "profile"])
async def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path: Path, bad: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncswitch", "sim", "--kubeconfig-out", str(tmp_path / "kc"), *bad,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(START_DEADLINE):
        stdout, stderr = await proc.communicate()
    assert proc.returncode == 2
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:")
    assert bad[0] in lines[0]
    assert stdout == b""
    assert not (tmp_path / "kc").exists()
