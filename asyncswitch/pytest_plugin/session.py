"""What one pytest session keeps across its e2e runs (in ``config.stash``): the resolved options, the
run directories it made, and whether its one resume has been used. Also: which hub is active now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..acm_names import BACKUP_NAMESPACE
from ..kube import BACKUP_SCHEDULES, Hub, HubApiError
from .options import E2EOptions

__all__ = ["SESSION", "E2ESession", "RunRecord", "active_first", "newest_run"]


@dataclass(frozen=True)
class RunRecord:
    test: str
    run_dir: Path
    primary: str
    secondary: str


@dataclass
class E2ESession:
    options: E2EOptions
    runs: list[RunRecord] = field(default_factory=list)
    resume_used: bool = False


SESSION = pytest.StashKey[E2ESession]()


async def _takes_backups(hub: Hub) -> bool:
    """The hub has a BackupSchedule that runs: unpaused and not collided with the other hub's backups."""
    schedules = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE)).items
    return any(not (s.get("spec") or {}).get("paused")
               and (s.get("status") or {}).get("phase") != "BackupCollision" for s in schedules)


async def active_first(kubeconfig: Path, first: str, second: str) -> tuple[str, str]:
    """The two contexts, the active hub's first: cycles swap the hubs' roles, so the hub a user named
    primary may be the passive one now. Unclear roles (neither or both active, a hub that does not
    answer) keep the given order, and the run's preflight says what is wrong."""
    async with Hub.connect(kubeconfig, first) as hub_1, Hub.connect(kubeconfig, second) as hub_2:
        try:
            active = [hub.context for hub in (hub_1, hub_2) if await _takes_backups(hub)]
        except HubApiError:
            return first, second
    return (second, first) if active == [second] else (first, second)


def newest_run(*directories: Path) -> Path | None:
    """The newest run directory (by the time of its run state) in any of ``directories``. Interrupted
    or not: a run that did all its cycles goes on when asked for more (``--e2e-cycles``)."""
    found: list[tuple[float, Path]] = []
    for directory in directories:
        for state_file in directory.glob("run-*/run_state.json"):
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(state, dict):
                found.append((state_file.stat().st_mtime, state_file.parent))
    return max(found)[1] if found else None
