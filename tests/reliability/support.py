"""What the reliability tests share: a simulated hub pair served by ``python -m asyncswitch sim`` in a
child process (so a run can be killed and resumed against the same hubs), and its request logs."""

from __future__ import annotations

import hashlib
import json
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..subprocesses import stop_child

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection", "post", "put"})


@dataclass
class ServedPair:
    """A ``sim`` child process: its kubeconfig (contexts hub-a, hub-b) and its admin endpoints."""

    kubeconfig: Path
    process: subprocess.Popen[str]

    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.kubeconfig.read_text())
        return loaded

    def _admin(self, hub: str, path: str, method: str = "GET", body: Any = None) -> Any:
        document = self.document()
        server = next(c["cluster"]["server"] for c in document["clusters"] if c["name"] == hub)
        token = next(u["user"]["token"] for u in document["users"] if u["name"] == f"{hub}-admin")
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{server}/_emulator/{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.loads(answer.read())

    def requests(self, hub: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._admin(hub, "requests?limit=100000")["items"]
        return items

    def mutations(self, hub: str) -> list[dict[str, Any]]:
        """Every request that could change something (whatever its answer)."""
        return [r for r in self.requests(hub) if r["verb"] in MUTATING]

    def request_count(self, hub: str) -> int:
        total: int = self._admin(hub, "requests?limit=0")["total"]
        return total

    def admin(self, hub: str, path: str, body: Any = None) -> Any:
        return self._admin(hub, path, "POST", body)


@contextmanager
def served_pair(directory: Path, *args: str) -> Iterator[ServedPair]:
    """``python -m asyncswitch sim *args`` until the block ends; yields once it serves."""
    kubeconfig = directory / "hubs.kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncswitch", "sim", "--kubeconfig-out", str(kubeconfig), *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=directory)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("serving"):
                break
        else:
            raise AssertionError("the sim process ended before it served")
        yield ServedPair(kubeconfig, process)
    finally:
        stop_child(process, timeout=20)
        if process.stdout is not None:
            process.stdout.close()


def tree_digest(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (relative path) and a hash of its content."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}
