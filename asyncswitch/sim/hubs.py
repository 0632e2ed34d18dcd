"""Two emulated API servers side by side: the hub pair the simulator serves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .kubeconfig import kubeconfig_for, write_kubeconfig
from .server import ApiServer

__all__ = ["EmulatedHubPair"]


class EmulatedHubPair:
    """hub-a and hub-b, each its own API server on a loopback port, started and stopped together."""

    def __init__(
        self,
        *,
        seed: int = 0,
        tls: bool = True,
        port_a: int = 0,
        port_b: int = 0,
        bookmark_interval: float = 60.0,
        request_log_size: int = 20_000,
    ) -> None:
        # Distinct seeds per hub that no other pair seed repeats (hub-a 2n, hub-b 2n+1).
        self.hub_a = ApiServer("hub-a", port=port_a, tls=tls, seed=2 * seed, bookmark_interval=bookmark_interval,
                               request_log_size=request_log_size)
        self.hub_b = ApiServer("hub-b", port=port_b, tls=tls, seed=2 * seed + 1, bookmark_interval=bookmark_interval,
                               request_log_size=request_log_size)

    @property
    def servers(self) -> tuple[ApiServer, ApiServer]:
        return (self.hub_a, self.hub_b)

    def kubeconfig(self, *, read_only: bool = False) -> dict[str, Any]:
        return kubeconfig_for(self.servers, read_only=read_only)

    def write_kubeconfig(self, path: str | os.PathLike[str], *, read_only: bool = False) -> Path:
        return write_kubeconfig(path, self.kubeconfig(read_only=read_only))

    async def start(self) -> None:
        await self.hub_a.start()
        try:
            await self.hub_b.start()
        except BaseException:
            await self.hub_a.stop()
            raise

    async def stop(self) -> None:
        try:
            await self.hub_b.stop()
        finally:
            await self.hub_a.stop()

    async def __aenter__(self) -> EmulatedHubPair:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
