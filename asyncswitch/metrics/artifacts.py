"""The run directory and the documents in it: manifest.json, summary.json, run_state.json, cycles/.

    <output-dir>/<run_id>/
      manifest.json  summary.json  metrics.jsonl  run_state.json  histograms/  cycles/<cycle_id>/
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import socket
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..files import write_json_atomic
from ..kube import MULTICLUSTER_HUBS, Hub, HubApiError
from ..switchover.names import ACM_NAMESPACE

__all__ = ["new_run_id", "write_manifest", "write_summary"]


def new_run_id() -> str:
    return f"run-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"



_SOURCE_DIR = Path(__file__).resolve().parents[2]


async def _git_sha() -> str:
    try:
        process = await asyncio.create_subprocess_exec(
            "git", "rev-parse", "HEAD", cwd=_SOURCE_DIR,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        async with asyncio.timeout(5):
            out, _ = await process.communicate()
    except (OSError, TimeoutError):
        return "unknown"
    return out.decode().strip() or "unknown" if process.returncode == 0 else "unknown"


async def _hub_versions(kubeconfig: Path, contexts: list[str], *, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
    versions: dict[str, Any] = {}
    for context in contexts:
        try:
            async with asyncio.timeout(timeout), Hub.connect(kubeconfig, context) as hub:
                hubs = (await hub.list(MULTICLUSTER_HUBS, ACM_NAMESPACE, limit=1)).items
                versions[context] = {"acm": (hubs[0].get("status") or {}).get("currentVersion") if hubs else None}
        except HubApiError as exc:
            versions[context] = {"error": str(exc)}
        except TimeoutError:  # a hub that does not answer must not hold the run's start up
            versions[context] = {"error": f"no answer within {timeout:g} s"}
    return versions


async def write_manifest(run_dir: Path, *, run_id: str, config: RunConfig, embedded: dict[str, Any] | None) -> None:
    assert config.kubeconfig is not None
    assert config.primary_context
    assert config.secondary_context
    try:
        version = metadata.version("asyncswitch")
    except metadata.PackageNotFoundError:
        version = "unknown"
    manifest = {
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "inputs": config.to_json(),
        "embedded_simulator": embedded,
        "git_sha": await _git_sha(),
        "versions": {"asyncswitch": version, "python": sys.version.split()[0],
                     "kubernetes_asyncio": _dist_version("kubernetes_asyncio"), "aiohttp": _dist_version("aiohttp")},
        "hubs": await _hub_versions(config.kubeconfig, [config.primary_context, config.secondary_context],
                                    timeout=config.hub_answer_timeout),
        "host": {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    await asyncio.to_thread(write_json_atomic, run_dir / "manifest.json", manifest)


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def write_summary(run_dir: Path, *, run_id: str, state: dict[str, Any], histograms: dict[str, dict[str, float]],
                  alerts: list[dict[str, Any]], cycles: list[dict[str, Any]], interrupted: bool,
                  faults: dict[str, Any] | None = None) -> dict[str, Any]:
    total = state["successes"] + state["failures"]
    phases = {name[len("phase."):]: stats for name, stats in histograms.items() if name.startswith("phase.")}
    summary = {
        "run_id": run_id,
        "written_at": time.time(),
        "cycles": total,
        "successes": state["successes"],
        "failures": state["failures"],
        "success_rate": (state["successes"] / total) if total else None,
        "phases_ms": phases,
        "cycle_ms": histograms.get("cycle", {"count": 0}),
        "cluster_reconnect_ms": histograms.get("cluster.reconnect", {"count": 0}),
        "reaction_ms": histograms.get("reaction", {"count": 0}),
        "alerts": alerts,
        **({"faults": faults} if faults is not None else {}),
        "cycle_results": cycles,
        "end_state": {"primary": state["primary"], "secondary": state["secondary"],
                      "stop_reason": state.get("stop_reason"), "interrupted": interrupted},
    }
    write_json_atomic(run_dir / "summary.json", summary)
    return summary
