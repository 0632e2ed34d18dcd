"""The state of one switchover, kept in a JSON file that is written atomically.

Every completed step, every fact a later step needs and every error is recorded, so a run
that is killed at any line can be resumed: the pipeline continues from the phase that failed
or was interrupted and re-checks live state before skipping a step. A run that did not finish
never reads as completed.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import write_atomic

__all__ = ["PHASE_ORDER", "Phase", "StateStore", "SwitchoverState", "default_state_path"]

STATE_VERSION = 1


class Phase(StrEnum):
    INIT = "init"
    PREFLIGHT = "preflight"
    PRIMARY_PREP = "primary_preparation"
    ACTIVATION = "activation"
    POST_ACTIVATION = "post_activation_verification"
    FINALIZATION = "finalization"
    COMPLETED = "completed"
    FAILED = "failed"


PHASE_ORDER = (Phase.PREFLIGHT, Phase.PRIMARY_PREP, Phase.ACTIVATION, Phase.POST_ACTIVATION, Phase.FINALIZATION)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class SwitchoverState:
    """What the state file holds."""

    primary: str
    secondary: str
    options: dict[str, Any]
    phase: Phase = Phase.INIT
    failed_phase: Phase | None = None
    completed_steps: dict[str, str] = field(default_factory=dict)
    """Step name → when it completed."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What earlier steps learned and later ones need (saved schedule, versions, restore names...)."""
    errors: list[dict[str, str]] = field(default_factory=list)
    phase_results: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    def resume_phase(self) -> Phase:
        """Where a run of this state starts: the failed or interrupted phase, or the first."""
        if self.phase is Phase.FAILED:
            return self.failed_phase or Phase.PREFLIGHT
        if self.phase in (Phase.INIT, Phase.COMPLETED):
            return Phase.PREFLIGHT
        return self.phase

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION, "contexts": {"primary": self.primary, "secondary": self.secondary},
            "options": self.options, "phase": self.phase.value,
            "failed_phase": self.failed_phase.value if self.failed_phase else None,
            "completed_steps": self.completed_steps, "facts": self.facts, "errors": self.errors,
            "phase_results": self.phase_results, "created_at": self.created_at, "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SwitchoverState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown state version {data.get('version')!r}")
        return cls(
            primary=data["contexts"]["primary"], secondary=data["contexts"]["secondary"],
            options=dict(data.get("options") or {}), phase=Phase(data["phase"]),
            failed_phase=Phase(data["failed_phase"]) if data.get("failed_phase") else None,
            completed_steps=dict(data.get("completed_steps") or {}), facts=dict(data.get("facts") or {}),
            errors=list(data.get("errors") or []), phase_results=list(data.get("phase_results") or []),
            created_at=data.get("created_at", _now()), updated_at=data.get("updated_at", _now()),
        )


def default_state_path(primary: str, secondary: str, directory: Path = Path(".state")) -> Path:
    clean = [re.sub(r"[^A-Za-z0-9._-]", "_", c) for c in (primary, secondary)]
    return directory / f"switchover-{clean[0]}__{clean[1]}.json"


class StateStore:
    """Loads and saves one state; with ``path=None`` (dry-run) it keeps the state in memory only."""

    def __init__(self, state: SwitchoverState, path: Path | None) -> None:
        self.state = state
        self.path = path

    @classmethod
    def open(cls, path: Path | None, *, primary: str, secondary: str, options: dict[str, Any],
             resume: bool) -> StateStore:
        """A fresh state, or with ``resume`` the one at ``path`` (which must be for the same contexts)."""
        if path is not None and resume and path.exists():
            try:
                data = json.loads(path.read_text())
                state = SwitchoverState.from_json(data)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"cannot resume from {path}: the state file is unreadable ({exc})") from None
            if (state.primary, state.secondary) != (primary, secondary):
                raise ConfigError(
                    f"cannot resume from {path}: it is for {state.primary} -> {state.secondary}, "
                    f"not {primary} -> {secondary}")
            return cls(state, path)
        if path is not None and resume:
            raise ConfigError(f"cannot resume: no state file at {path}")
        return cls(SwitchoverState(primary=primary, secondary=secondary, options=options), path)

    async def save(self) -> None:
        self.state.updated_at = _now()
        if self.path is None:
            return
        payload = json.dumps(self.state.to_json(), indent=2, sort_keys=True).encode()
        await asyncio.to_thread(write_atomic, self.path, payload, mode=0o600)
