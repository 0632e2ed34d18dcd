"""The plugin's options: the seed's names (``--primary-context``, ``--e2e-*``), each with an environment
variable, resolved once per session into an :class:`E2EOptions`.

Precedence: the command line, then the environment variable, then the ini key (sim options only),
then the default. A bad value is a ``pytest.UsageError`` of one line that names where it came from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..config import FAULT_SCENARIOS, PHASE_NAMES, RunConfig
from ..errors import ConfigError
from ..switchover.options import ActivationMethod, Method, OldHubAction, Timeouts

__all__ = ["OPTIONS", "E2EOptions", "Option", "add_options", "resolve_options"]

PROFILES = ("instant", "fast", "realistic")
PHASE_ALIASES = {"primary_prep": "primary_preparation", "post_activation": "post_activation_verification"}
"""The prior tool's short phase names, taken as they were typed there."""


class _Bad(ValueError):
    """A value an option cannot take; the message says what it must be."""


def _text(value: str) -> str:
    if not value.strip():
        raise _Bad("must not be empty")
    return value


def _whole(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise _Bad("must be a whole number") from None
        if number < minimum:
            raise _Bad(f"must be at least {minimum}")
        return number
    return parse


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _Bad("must be a number") from None
    if not math.isfinite(number) or number < 0:
        raise _Bad("must be a number of seconds, zero or more")
    return number


def _hours(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _Bad("must be a number") from None
    if not math.isfinite(number) or number <= 0:
        raise _Bad("must be a positive number of hours")
    return number


def _one_of(*choices: str, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = (aliases or {}).get(value, value)
        if value not in choices:
            raise _Bad(f"must be one of {', '.join(choices)}")
        return value
    return parse


def _faults(value: str) -> str:
    """``--e2e-inject-failure``: what ``run --inject-failure`` takes (names or random, comma-separated, =SECONDS)."""
    for part in value.split(","):
        if part.partition("=")[0].strip() not in FAULT_SCENARIOS:
            raise _Bad(f"must be one of {', '.join(FAULT_SCENARIOS)} (comma-separated, each optionally =SECONDS)")
    return value


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise _Bad("must be 1/true/yes or 0/false/no")


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    field: str
    """The E2EOptions field it sets."""
    parse: Callable[[str], Any]
    default: Any
    help: str
    aliases: tuple[str, ...] = ()
    """Earlier names (``--asyncswitch-*``), still accepted."""
    switch: bool = False
    """A flag without a value (store_true); its variable takes 1/true/yes."""
    ini: bool = False
    """Also read from an ini key named like the field (for a project's own defaults)."""

    @property
    def dest(self) -> str:
        return "asyncswitch_" + self.field


_METHODS = tuple(m.value for m in Method)
_ACTIONS = tuple(a.value for a in OldHubAction)
_ACTIVATIONS = tuple(a.value for a in ActivationMethod)

OPTIONS = (
    Option("--primary-context", "E2E_PRIMARY_CONTEXT", "primary_context", _text, None,
           "context of the active hub (with --secondary-context; without both: the simulated pair)",
           aliases=("--asyncswitch-primary-context",)),
    Option("--secondary-context", "E2E_SECONDARY_CONTEXT", "secondary_context", _text, None,
           "context of the passive hub", aliases=("--asyncswitch-secondary-context",)),
    Option("--e2e-kubeconfig", "E2E_KUBECONFIG", "kubeconfig", _text, None,
           "kubeconfig holding both contexts (default: $KUBECONFIG, else ~/.kube/config)",
           aliases=("--asyncswitch-kubeconfig",)),
    Option("--e2e-cycles", "E2E_CYCLES", "cycles", _whole(1), 1, "switchover cycles per run (default 1)",
           aliases=("--asyncswitch-cycles",)),
    Option("--e2e-dry-run", "E2E_DRY_RUN", "dry_run", _boolean, False,
           "read the hubs, change nothing (mutations are logged, not sent)", switch=True),
    Option("--e2e-method", "E2E_METHOD", "method", _one_of(*_METHODS), "passive", "passive (default) or full",
           aliases=("--asyncswitch-method",)),
    Option("--e2e-activation-method", "E2E_ACTIVATION_METHOD", "activation_method", _one_of(*_ACTIVATIONS), "patch",
           "passive method: patch (default) or restore", aliases=("--asyncswitch-activation-method",)),
    Option("--e2e-old-hub-action", "E2E_OLD_HUB_ACTION", "old_hub_action", _one_of(*_ACTIONS), "secondary",
           "secondary (default), decommission or none", aliases=("--asyncswitch-old-hub-action",)),
    Option("--e2e-cooldown", "E2E_COOLDOWN", "cooldown", _seconds, 0.0, "seconds between cycles (default 0)"),
    Option("--e2e-output-dir", "E2E_OUTPUT_DIR", "output_dir", _text, None,
           "where run directories go (default: e2e-runs in pytest's temporary directory)",
           aliases=("--asyncswitch-output-dir",)),
    Option("--e2e-stop-on-failure", "E2E_STOP_ON_FAILURE", "stop_on_failure", _boolean, False,
           "end a run at its first failed cycle", switch=True),
    Option("--e2e-run-hours", "E2E_RUN_HOURS", "run_hours", _hours, None, "start no cycle after this many hours"),
    Option("--e2e-max-failures", "E2E_MAX_FAILURES", "max_failures", _whole(1), None,
           "end a run after this many failed cycles"),
    Option("--e2e-resume", "E2E_RESUME", "resume", _boolean, False,
           "the session's first run continues the newest run in the output dir (default: in the last "
           "sessions' temp dirs)", switch=True),
    Option("--e2e-inject-failure", "E2E_INJECT_FAILURE", "inject_failure", _faults, None,
           f"faults in every cycle (docs/faults.md): {', '.join(FAULT_SCENARIOS)}, comma-separated, each "
           "optionally =SECONDS"),
    Option("--e2e-inject-at-phase", "E2E_INJECT_AT_PHASE", "inject_at_phase",
           _one_of(*PHASE_NAMES, aliases=PHASE_ALIASES), None,
           "fire every fault at the start of this phase (default: each at its scenario's own moment)"),
    Option("--e2e-sim-clusters", "E2E_SIM_CLUSTERS", "sim_clusters", _whole(0), 20,
           "simulated pair: managed clusters (default 20)", aliases=("--asyncswitch-sim-clusters",), ini=True),
    Option("--e2e-sim-profile", "E2E_SIM_PROFILE", "sim_profile", _one_of(*PROFILES), "fast",
           "simulated pair: timing profile instant, fast (default) or realistic",
           aliases=("--asyncswitch-sim-profile",), ini=True),
    Option("--e2e-compactor-watch", "E2E_COMPACTOR_WATCH", "compactor_watch", _seconds, None,
           "seconds both hubs are watched for a second Thanos compactor after each switchover (default 300; "
           "simulated seconds on the simulated pair)"),
    Option("--e2e-allow-one-way", "E2E_ALLOW_ONE_WAY", "allow_one_way", _boolean, False,
           "real hubs: let tests run old-hub actions that leave no way back (decommission, none)", switch=True),
)


@dataclass(frozen=True)
class E2EOptions:
    """What the options say, resolved and checked."""

    primary_context: str | None = None
    secondary_context: str | None = None
    kubeconfig: str | None = None
    cycles: int = 1
    dry_run: bool = False
    method: str = "passive"
    activation_method: str = "patch"
    old_hub_action: str = "secondary"
    cooldown: float = 0.0
    output_dir: str | None = None
    stop_on_failure: bool = False
    run_hours: float | None = None
    max_failures: int | None = None
    resume: bool = False
    inject_failure: str | None = None
    inject_at_phase: str | None = None
    sim_clusters: int = 20
    sim_profile: str = "fast"
    compactor_watch: float | None = None
    allow_one_way: bool = False

    @property
    def real_hubs(self) -> bool:
        return self.primary_context is not None

    def kubeconfig_path(self) -> Path | None:
        """The kubeconfig of the real hubs: the option, else $KUBECONFIG's first file, else ~/.kube/config."""
        if not self.real_hubs:
            return None
        if self.kubeconfig:
            return Path(self.kubeconfig).expanduser()
        env = os.environ.get("KUBECONFIG", "")
        return Path(env.split(os.pathsep)[0]) if env else Path.home() / ".kube" / "config"

    def run_config(self, output_dir: Path) -> RunConfig:
        return RunConfig(
            kubeconfig=self.kubeconfig_path(), primary_context=self.primary_context,
            secondary_context=self.secondary_context, method=Method(self.method),
            activation_method=ActivationMethod(self.activation_method),
            old_hub_action=OldHubAction(self.old_hub_action), cycles=self.cycles, run_hours=self.run_hours,
            max_failures=self.max_failures, stop_on_failure=self.stop_on_failure, cooldown=self.cooldown,
            inject_failure=self.inject_failure, inject_at_phase=self.inject_at_phase, dry_run=self.dry_run,
            output_dir=output_dir, progress=False, sim_clusters=self.sim_clusters, sim_profile=self.sim_profile,
            timeouts=Timeouts() if self.compactor_watch is None else Timeouts(compactor_watch=self.compactor_watch))


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncswitch", "asyncswitch switchover cycles (pytest -m e2e)")
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env}]"
        if option.switch:
            group.addoption(option.flag, *option.aliases, dest=option.dest, action="store_true", default=None,
                            help=help_text)
        else:
            group.addoption(option.flag, *option.aliases, dest=option.dest, default=None, help=help_text)
        if option.ini:
            parser.addini(f"e2e_{option.field}", f"default for {option.flag} (below the command line and "
                                                 f"{option.env})", default=None)


def resolve_options(config: pytest.Config) -> E2EOptions:
    """The session's options, from the command line, the environment and the ini file; UsageError if bad."""
    values: dict[str, Any] = {}
    for option in OPTIONS:
        given = config.getoption(option.dest)
        if given is not None:
            if option.switch:
                values[option.field] = bool(given)
            else:
                values[option.field] = _parse(option, str(given), f"{option.flag}={given!r}:")
            continue
        env = os.environ.get(option.env)
        if env is not None:
            values[option.field] = _parse(option, env, f"{option.env}={env!r}:")
            continue
        ini = config.getini(f"e2e_{option.field}") if option.ini else None
        if ini:
            values[option.field] = _parse(option, str(ini), f"ini e2e_{option.field}={ini!r}:")
            continue
        values[option.field] = option.default
    options = E2EOptions(**values)
    try:
        options.run_config(Path("e2e-runs"))
    except ConfigError as exc:
        raise pytest.UsageError(f"asyncswitch: {_plugin_names(str(exc))}") from None
    return options


def _parse(option: Option, text: str, where: str) -> Any:
    try:
        return option.parse(text)
    except _Bad as exc:
        raise pytest.UsageError(f"asyncswitch: {where} {exc}") from None


def _plugin_names(message: str) -> str:
    """RunConfig speaks the command line's flags; say the plugin's instead."""
    for option in OPTIONS:
        bare = option.flag.removeprefix("--e2e-")
        if bare != option.flag:
            message = message.replace(f"--{bare} ", f"{option.flag} ").replace(f"--{bare}:", f"{option.flag}:")
    return message
