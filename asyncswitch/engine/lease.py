"""One run drives a hub pair at a time: a coordination.k8s.io/v1 Lease on each hub.

The lease ``asyncswitch-run`` in the ACM namespace names its holder (host, pid, run id) and is renewed
by a task every third of its duration. A second run, from this machine or another, is refused with
the holder's name and when its lease runs out. A run killed with SIGKILL cannot release its lease:
it lapses ``duration`` seconds after its last renewal and is then taken over; the same run resumed
(same run id) takes it over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from ..errors import ConfigError
from ..kube import LEASES, ConflictError, Hub, HubApiError
from ..switchover.names import ACM_NAMESPACE

__all__ = ["LEASE_DURATION", "LEASE_NAME", "holder_identity", "hub_pair_lease"]

LEASE_NAME = "asyncswitch-run"
LEASE_DURATION = 60
"""Seconds a lease stays valid after its last renewal."""
RELEASE_TIMEOUT = 10.0
"""Seconds the release of a lease may take at the end of a run."""


def holder_identity(run_id: str) -> str:
    return f"{socket.gethostname()}/pid-{os.getpid()}/{run_id}"


def _now() -> datetime:
    return datetime.now(UTC)


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _expiry(lease: dict[str, Any]) -> datetime | None:
    spec = lease.get("spec") or {}
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds")
    if renewed is None or not isinstance(duration, int):
        return None
    return renewed + timedelta(seconds=duration)


class _Lease:
    def __init__(self, hub: Hub, *, run_id: str, duration: int) -> None:
        self.hub = hub
        self.run_id = run_id
        self.identity = holder_identity(run_id)
        self.duration = duration

    def _spec(self, *, acquired: datetime | None = None) -> dict[str, Any]:
        now = _now()
        spec: dict[str, Any] = {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration,
                                "renewTime": _micro(now)}
        if acquired is not None:
            spec["acquireTime"] = _micro(acquired)
        return spec

    async def acquire(self) -> None:
        try:
            await self._acquire()
        except HubApiError as exc:
            if exc.status != 403:
                raise
            # A missing grant: one line naming it (deploy/hub grants it), as preflight's RBAC check would.
            raise ConfigError(f"{self.hub.name} denies {exc.verb} {exc.resource} in {ACM_NAMESPACE}: the run's lease "
                              f"on the hub pair needs it ({exc.message})") from None

    async def _acquire(self) -> None:
        for _ in range(3):  # a lost race (409) is read again
            current = await self.hub.get(LEASES, LEASE_NAME, ACM_NAMESPACE)
            try:
                if current is None:
                    await self.hub.create(LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                                   "metadata": {"name": LEASE_NAME, "namespace": ACM_NAMESPACE},
                                                   "spec": self._spec(acquired=_now())}, ACM_NAMESPACE)
                    return
                self._refuse_if_held(current)
                version = (current.get("metadata") or {}).get("resourceVersion")
                # resourceVersion in the patch: the server refuses it (409) if someone renewed meanwhile.
                await self.hub.patch(LEASES, LEASE_NAME, {"metadata": {"resourceVersion": version},
                                                          "spec": self._spec(acquired=_now())}, ACM_NAMESPACE)
                return
            except ConflictError:
                continue
        raise ConfigError(f"{self.hub.name}: could not take lease {ACM_NAMESPACE}/{LEASE_NAME}: another run keeps "
                          "changing it")

    def _refuse_if_held(self, lease: dict[str, Any]) -> None:
        holder = str((lease.get("spec") or {}).get("holderIdentity") or "")
        expiry = _expiry(lease)
        if not holder or holder.endswith(f"/{self.run_id}") or expiry is None or expiry <= _now():
            return  # free, ours (this run resumed), or lapsed
        left = (expiry - _now()).total_seconds()
        raise ConfigError(f"{self.hub.name} is driven by another run: lease {ACM_NAMESPACE}/{LEASE_NAME} is held by "
                          f"{holder} until {expiry.isoformat(timespec='seconds')} ({left:.0f} s; it is renewed "
                          "while that run lives)")

    async def renew(self) -> None:
        await self.hub.patch(LEASES, LEASE_NAME, {"spec": self._spec()}, ACM_NAMESPACE)

    async def release(self) -> None:
        current = await self.hub.get(LEASES, LEASE_NAME, ACM_NAMESPACE)
        if current is not None and (current.get("spec") or {}).get("holderIdentity") == self.identity:
            version = str((current.get("metadata") or {}).get("resourceVersion") or "")
            await self.hub.delete(LEASES, LEASE_NAME, ACM_NAMESPACE, preconditions={"resourceVersion": version})


@contextlib.asynccontextmanager
async def hub_pair_lease(hubs: Sequence[Hub], *, run_id: str,
                         duration: int = LEASE_DURATION) -> AsyncIterator[None]:
    """Hold the lease on every hub while the block runs (renewed by a task), released on exit.

    ConfigError (one line, naming the holder) if another live run holds one of them."""
    leases = [_Lease(hub, run_id=run_id, duration=duration) for hub in hubs]
    taken: list[_Lease] = []
    log = structlog.get_logger("asyncswitch.engine")
    try:
        for lease in leases:
            await lease.acquire()
            taken.append(lease)
        async with asyncio.TaskGroup() as tg:
            renewer = tg.create_task(_renew(taken, duration, log), name="lease:renew")
            try:
                yield
            finally:
                renewer.cancel()
    finally:
        for lease in taken:
            # A hub gone meanwhile must not hold the run's end up: its lease lapses by itself.
            with contextlib.suppress(HubApiError, TimeoutError):
                async with asyncio.timeout(RELEASE_TIMEOUT):
                    await lease.release()  # the engine shields its whole finish from Ctrl-C


async def _renew(leases: Sequence[_Lease], duration: int, log: Any) -> None:
    while True:
        await asyncio.sleep(duration / 3)
        for lease in leases:
            try:
                await lease.renew()
            except Exception as exc:  # the hub may be down for a while: the lease lapses, the run goes on
                log.warning("could not renew the run's lease", hub=lease.hub.name,
                            error=f"{type(exc).__name__}: {exc}".splitlines()[0])
