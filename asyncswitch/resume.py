"""``run --resume RUN_DIR``: the run's recorded inputs (manifest.json) are the defaults.

A flag given on the command line that contradicts a recorded input is refused in one line, except
the soak controls and how the run reports, which a resume may change (CHANGEABLE_ON_RESUME).
A run made against a kubeconfig resumes against its contexts; an embedded run on a new embedded pair.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError
from .switchover.options import Timeouts

__all__ = ["CHANGEABLE_ON_RESUME", "resumed_config"]

CHANGEABLE_ON_RESUME: dict[str, str] = {
    "cycles": "--cycles", "run_hours": "--run-hours", "max_failures": "--max-failures",
    "stop_on_failure": "--stop-on-failure", "cooldown": "--cooldown", "log_format": "--log-format",
    "progress": "--no-progress", "output_dir": "--output-dir", "hub_answer_timeout": "--hub-answer-timeout",
    "kubeconfig": "--kubeconfig", "timeouts": "--compactor-watch", "fault_hold": "--fault-duration",
    "metrics_port": "--metrics-port", "metrics_host": "--metrics-host",
}
"""RunConfig fields a resume may change, with their flags: how long and how the run goes on, not what a cycle
does. --kubeconfig may change (rotated credentials) while the contexts stay; --compactor-watch only bounds
how long each cycle watches for a second compactor; --fault-duration only how long each fault is held (a run
killed holding an hour-long fault may go on with short ones); --metrics-port and --metrics-host where live
metrics are served."""

_FLAGS = {"primary_context": "--primary-context", "secondary_context": "--secondary-context",
          "sim_clusters": "--sim-clusters", "sim_profile": "--sim-profile", "sim_acm_version": "--sim-acm-version",
          "min_cluster_share": "--min-cluster-share", "manage_auto_import_strategy": "--manage-auto-import-strategy"}


def _flag(name: str) -> str:
    return CHANGEABLE_ON_RESUME.get(name) or _FLAGS.get(name) or f"--{name.replace('_', '-')}"


def _manifest(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise ConfigError(f"cannot resume: {run_dir} is not a directory")
    if not (run_dir / "run_state.json").exists():
        raise ConfigError(f"cannot resume: {run_dir} holds no run_state.json")
    path = run_dir / "manifest.json"
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"cannot resume {run_dir}: it holds no manifest.json (its inputs are unknown)") from None
    except OSError as exc:
        raise ConfigError(f"cannot resume {run_dir}: cannot read manifest.json: {exc.strerror or exc}") from None
    except ValueError:
        raise ConfigError(f"cannot resume {run_dir}: manifest.json is damaged (not JSON)") from None
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), dict):
        raise ConfigError(f"cannot resume {run_dir}: manifest.json is damaged (no inputs)")
    return document


def resumed_config(run_dir: Path, given: RunConfig, explicit: Collection[str]) -> RunConfig:
    """The configuration to resume ``run_dir`` with: its recorded inputs, with the ``explicit`` fields of
    ``given`` (those the user typed) where a resume may change them. ConfigError names a contradiction."""
    manifest = _manifest(run_dir)
    recorded: dict[str, Any] = manifest["inputs"]
    embedded = manifest.get("embedded_simulator") is not None
    names = {f.name for f in fields(RunConfig)}
    values = {k: v for k, v in recorded.items() if k in names}
    given_json = given.to_json()
    for name in sorted(set(explicit) - set(CHANGEABLE_ON_RESUME) - {"resume"}):
        if embedded and name in ("kubeconfig", "primary_context", "secondary_context"):
            raise ConfigError(f"{_flag(name)}: run {manifest.get('run_id')} ran on the embedded simulator; it resumes "
                              "on a new one, not against a kubeconfig")
        if given_json.get(name) != recorded.get(name):
            changeable = ", ".join(sorted(set(CHANGEABLE_ON_RESUME.values())))
            raise ConfigError(f"{_flag(name)} {given_json.get(name)} contradicts the run's recorded "
                              f"{recorded.get(name)}: a resumed run keeps its inputs "
                              f"(a resume may change {changeable})")
    if embedded:  # a new embedded pair, whose kubeconfig the engine writes
        values.update(kubeconfig=None, primary_context=None, secondary_context=None)
    timeouts = values.pop("timeouts", None)
    try:
        values["timeouts"] = (Timeouts() if embedded or not isinstance(timeouts, dict) else Timeouts(**timeouts))
    except TypeError:
        raise ConfigError(f"cannot resume {run_dir}: manifest.json is damaged (timeouts)") from None
    for name in CHANGEABLE_ON_RESUME:
        if name in explicit:
            values[name] = getattr(given, name)
    values["resume"] = run_dir
    try:
        config = RunConfig(**values)
    except TypeError:
        raise ConfigError(f"cannot resume {run_dir}: manifest.json is damaged (inputs)") from None
    return replace(config, resume=run_dir)
