"""What the switchover tests share: running the pipeline (in process or as ``python -m asyncswitch``),
reading the hubs' end state through the API, and reading the emulated servers' request logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncswitch.kube import (
    ACM_RESTORES,
    BACKUP_SCHEDULES,
    MANAGED_CLUSTERS,
    MULTICLUSTER_HUBS,
    VELERO_BACKUPS,
    Hub,
    Resource,
    ResourceCache,
    watch,
)
from asyncswitch.sim import ApiServer
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.faults import RequestRecord
from asyncswitch.switchover import (
    ActivationMethod,
    Method,
    OldHubAction,
    SwitchoverEvent,
    SwitchoverOptions,
    SwitchoverReport,
    Timeouts,
    check_invariants,
    run_switchover,
)

from ..subprocesses import Finished, run_asyncswitch

# Names from the domain facts, not imported from the pipeline: a wrong name there fails here.
ACM_NS = "open-cluster-management"
BACKUP_NS = "open-cluster-management-backup"
MCE_NS = "multicluster-engine"
LOCAL_CLUSTER = "local-cluster"
PASSIVE_RESTORE = "restore-acm-passive-sync"
ACTIVATION_RESTORE = "restore-acm-activate"
SCHEDULE = "acm-hub-backup"
AVAILABLE = "ManagedClusterConditionAvailable"
JOINED = "ManagedClusterJoined"
DISABLE_AUTO_IMPORT = "import.open-cluster-management.io/disable-auto-import"
IMMEDIATE_IMPORT = "import.open-cluster-management.io/immediate-import"
SCHEDULE_TYPE_LABEL = "cluster.open-cluster-management.io/backup-schedule-type"
BACKUP_CLUSTER_LABEL = "cluster.open-cluster-management.io/backup-cluster"

DEADLINE = 20.0
"""Real seconds for anything the fast profile does within one switchover's time (about 2-3 s)."""

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})
PIPELINE_USER = "system:admin"
"""The emulator names the full-access token's user ``system:admin:<hub>``: the pipeline's requests."""

Obj = Mapping[str, Any]


def other(hub: str) -> str:
    return "hub-b" if hub == "hub-a" else "hub-a"


QUICK = Timeouts(compactor_watch=0.5)
"""The pipeline's default deadlines, but a short watch for a second compactor after the switchover."""


def options(method: str = "passive", action: str = "secondary", activation: str = "patch",
            **more: Any) -> SwitchoverOptions:
    more.setdefault("timeouts", QUICK)
    return SwitchoverOptions(method=Method(method), old_hub_action=OldHubAction(action),
                             activation_method=ActivationMethod(activation), **more)


async def switch(hubs: Mapping[str, Hub], old: str, new: str, state_path: Path, opts: SwitchoverOptions, *,
                 resume: bool = False, events: asyncio.Queue[SwitchoverEvent] | None = None) -> SwitchoverReport:
    async with asyncio.timeout(60):
        return await run_switchover(primary=hubs[old], secondary=hubs[new], options=opts, state_path=state_path,
                                    resume=resume, events=events)


def read_state(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# -- reading objects ---------------------------------------------------------------------------

def name_of(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def phase(obj: Obj | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "")


def conditions(obj: Obj) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def annotations(obj: Obj) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def connected(obj: Obj) -> bool:
    found = conditions(obj)
    return found.get(AVAILABLE) == "True" and found.get(JOINED) == "True"


def fleet_of(objects: Mapping[str, Obj]) -> dict[str, Obj]:
    return {name: obj for name, obj in objects.items() if name != LOCAL_CLUSTER}


def fleet_names(pair: SimulatedHubPair) -> set[str]:
    assert pair.world is not None
    return set(pair.world.fleet.clusters)


async def clusters_on(hub: Hub) -> dict[str, dict[str, Any]]:
    """The non-local ManagedClusters of a hub, by name."""
    return fleet_of({name_of(c): c for c in (await hub.list(MANAGED_CLUSTERS)).items})


async def backup_names(hub: Hub) -> set[str]:
    return {name_of(b) for b in (await hub.list(VELERO_BACKUPS, BACKUP_NS)).items}


async def wait_until(hub: Hub, resource: Resource, predicate: Callable[[Mapping[str, Obj]], bool], *,
                     description: str, namespace: str | None = None,
                     timeout: float = DEADLINE) -> dict[str, dict[str, Any]]:  # noqa: ASYNC109
    """A watch with a deadline over every object of one type; returns the objects the predicate held for."""
    async with ResourceCache(hub, resource, namespace=namespace) as cache:
        return await cache.wait_for(predicate, timeout=timeout, description=description)


@dataclass
class PhaseLog:
    """Every status.phase one watched resource showed, per object name, in order."""

    seen: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last state of each object seen (kept after its deletion)."""


@asynccontextmanager
async def phases_of(hub: Hub, resource: Resource, namespace: str | None = None) -> AsyncIterator[PhaseLog]:
    """Record the phases of ``resource`` on ``hub`` while the block runs (the watch is current on entry)."""
    log = PhaseLog()
    current = asyncio.Event()

    async def follow() -> None:
        async with aclosing(watch(hub, resource, namespace=namespace)) as events:
            async for event in events:
                if event.type == "SYNC":
                    current.set()
                    continue
                name = name_of(event.object)
                log.objects[name] = event.object
                history = log.seen.setdefault(name, [])
                if phase(event.object) and (not history or history[-1] != phase(event.object)):
                    history.append(phase(event.object))

    task = asyncio.create_task(follow(), name=f"test:phases:{resource.plural}@{hub.name}")
    try:
        async with asyncio.timeout(DEADLINE):
            await current.wait()
        yield log
    finally:
        task.cancel()
        await asyncio.wait({task})


# -- the end state of a switchover, as a user checks it --------------------------------------------

async def assert_switched_over(pair: SimulatedHubPair, hubs: Mapping[str, Hub], *, old: str, new: str,
                               action: str, backups_before: set[str]) -> None:
    """The fleet is on ``new`` and has left ``old``; ``new`` alone takes backups, and its first one holds
    the fleet; ``old`` has the role ``action`` gives it."""
    fleet = fleet_names(pair)
    new_hub, old_hub = hubs[new], hubs[old]

    on_new = await clusters_on(new_hub)
    assert set(on_new) == fleet
    assert [n for n, c in sorted(on_new.items()) if not connected(c)] == [], f"not Available and Joined on {new}"
    assert [n for n, c in sorted(on_new.items()) if DISABLE_AUTO_IMPORT in annotations(c)] == []

    if action == "decommission":
        assert await clusters_on(old_hub) == {}
        assert (await old_hub.list(MULTICLUSTER_HUBS, ACM_NS)).items == []
    else:
        # The old hub marks a cluster Unknown once its lease grace has passed since the cluster left.
        await wait_until(old_hub, MANAGED_CLUSTERS,
                         lambda objs: set(fleet_of(objs)) == fleet
                         and all(conditions(c).get(AVAILABLE) == "Unknown" for c in fleet_of(objs).values()),
                         description=f"every cluster Unknown on {old}")
        # ...and cannot take them back: its clusters keep disable-auto-import.
        assert all(DISABLE_AUTO_IMPORT in annotations(c) for c in (await clusters_on(old_hub)).values())

    unpaused = [(hub, name_of(s), phase(s)) for hub in sorted(hubs)
                for s in (await hubs[hub].list(BACKUP_SCHEDULES, BACKUP_NS)).items
                if not (s.get("spec") or {}).get("paused")]
    assert unpaused == [(new, SCHEDULE, "Enabled")]
    assert (await new_hub.list(ACM_RESTORES, BACKUP_NS)).items == []

    assert pair.world is not None
    own = (await new_hub.list(VELERO_BACKUPS, BACKUP_NS, label_selector={
        SCHEDULE_TYPE_LABEL: "managedClusters", BACKUP_CLUSTER_LABEL: pair.hubs[new].cluster_id})).items
    fresh = [b for b in own if name_of(b) not in backups_before and phase(b) == "Completed"]
    assert fresh, f"no new Completed managed-clusters backup from {new}"
    record = pair.world.storage.get(name_of(max(fresh, key=name_of)))
    assert record is not None
    assert {c.name for c in record.clusters} == fleet

    report = await check_invariants(hubs)
    assert report.ok, report.findings()

    if action == "secondary":
        restores = await wait_until(old_hub, ACM_RESTORES, lambda objs: phase(objs.get(PASSIVE_RESTORE)) == "Enabled",
                                    namespace=BACKUP_NS, description=f"{PASSIVE_RESTORE} Enabled on {old}")
        spec = restores[PASSIVE_RESTORE]["spec"]
        assert spec["syncRestoreWithNewBackups"] is True
        assert spec["veleroManagedClustersBackupName"] == "skip"


# -- what the pipeline sent ----------------------------------------------------------------------

def pipeline_mutations(server: ApiServer, *, since: float = 0.0) -> list[RequestRecord]:
    """Mutations the pipeline's user had applied (2xx/3xx) on one hub; access reviews are questions, not changes."""
    return [r for r in server.requests.records(since=since)
            if r.verb in MUTATING and r.status < 400 and (r.user or "").startswith(PIPELINE_USER)
            and not (r.resource or "").startswith("selfsubjectaccessreviews")]


def mutation_counts(records: Iterable[RequestRecord]) -> Counter[tuple[str, str, str | None, str | None]]:
    """(verb, resource key or resource/subresource, namespace, name) → how many times it was applied."""
    return Counter((r.verb, f"{r.resource}/{r.subresource}" if r.subresource else str(r.resource),
                    r.namespace, r.name) for r in records)


# -- python -m asyncswitch as a real process ----------------------------------------------------------

def switchover_args(kubeconfig: Path, old: str, new: str, state_file: Path, *extra: str,
                    method: str = "passive", action: str = "secondary", activation: str = "patch") -> list[str]:
    return ["switchover", "--kubeconfig", str(kubeconfig), "--primary-context", old, "--secondary-context", new,
            "--method", method, "--old-hub-action", action, "--activation-method", activation,
            "--state-file", str(state_file), "--compactor-watch", "0.5", *extra]


class Cli:
    """``python -m asyncswitch`` in a child process of the test; killed if the test leaves it running."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None

    async def run(self, *args: str, timeout: float = 60.0,  # noqa: ASYNC109
                  while_running: Callable[[asyncio.subprocess.Process], Any] | None = None) -> Finished:
        def started(process: asyncio.subprocess.Process) -> None:
            self.process = process

        try:
            return await run_asyncswitch(self.cwd, *args, timeout=timeout, while_running=while_running,
                                         on_start=started)
        finally:
            self.process = None

    def kill(self) -> None:
        """SIGKILL the running process, at once (synchronously, from whatever callback sees the moment)."""
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class AfterMutation:
    """The moment a hub has applied the ``nth`` matching mutation, before its answer leaves the server."""

    hub: str
    verb: str
    resource: Resource
    nth: int = 1
    name: str | None = None

    def __str__(self) -> str:
        return f"after {self.hub} applied {self.verb} {self.resource.plural}" + (
            f"/{self.name}" if self.name else "") + (f" #{self.nth}" if self.nth > 1 else "")


class KillSwitch:
    """Kills the CLI process at an exact point: hooked into the emulated servers' request logs, which
    record each request after the store has applied it and before the answer is sent."""

    def __init__(self, pair: SimulatedHubPair, cli: Cli) -> None:
        self.cli = cli
        self.point: AfterMutation | None = None
        self.fired = False
        self._seen = 0
        self._restore: list[Callable[[], None]] = []
        for server in (pair.hub_a, pair.hub_b):
            self._hook(server)

    def _hook(self, server: ApiServer) -> None:
        log = server.requests
        original = log.add

        def add(record: RequestRecord) -> None:
            original(record)
            self._check(server.name, record)

        log.add = add  # type: ignore[method-assign]
        self._restore.append(lambda: delattr(log, "add"))

    def arm(self, point: AfterMutation | None) -> None:
        self.point, self.fired, self._seen = point, False, 0

    def _check(self, hub: str, record: RequestRecord) -> None:
        point = self.point
        if point is None or self.fired or hub != point.hub or record.verb != point.verb or record.status >= 400:
            return
        if record.resource != point.resource.key or record.subresource is not None:
            return
        if point.name is not None and record.name != point.name:
            return
        self._seen += 1
        if self._seen == point.nth:
            self.fired = True
            self.cli.kill()

    def close(self) -> None:
        for undo in self._restore:
            undo()
        self._restore.clear()
