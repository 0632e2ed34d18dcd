"""The switchover pipeline: five phases in order, each resumable, each reporting a PhaseResult."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from ..errors import AsyncswitchError
from ..kube import Hub, HubApiError, WaitTimeout
from .activation import run_activation
from .context import SwitchoverContext
from .errors import PhaseError
from .events import PhaseResult, SwitchoverEvent
from .finalization import run_finalization
from .options import SwitchoverOptions
from .post_activation import run_post_activation
from .preflight import run_preflight
from .primary_prep import run_primary_prep
from .state import PHASE_ORDER, Phase, StateStore

__all__ = ["SwitchoverReport", "run_switchover"]


@dataclass
class SwitchoverReport:
    """How a switchover ended: success only when every phase ran to its end."""

    success: bool
    phase: str
    """completed, failed, or the phase a validate-only or dry run stopped after."""
    results: list[PhaseResult] = field(default_factory=list)
    error: str | None = None
    already_completed: bool = False


async def _preflight(ctx: SwitchoverContext) -> None:
    await run_preflight(ctx)


_PHASES: dict[Phase, Callable[[SwitchoverContext], Awaitable[None]]] = {
    Phase.PREFLIGHT: _preflight,
    Phase.PRIMARY_PREP: run_primary_prep,
    Phase.ACTIVATION: run_activation,
    Phase.POST_ACTIVATION: run_post_activation,
    Phase.FINALIZATION: run_finalization,
}


async def run_switchover(
    *,
    primary: Hub,
    secondary: Hub,
    options: SwitchoverOptions,
    state_path: Path | None = None,
    resume: bool = False,
    events: asyncio.Queue[SwitchoverEvent] | None = None,
) -> SwitchoverReport:
    """Run (or resume) one switchover from ``primary`` to ``secondary``.

    Dry-run and validate-only never touch the state file: dry-run keeps its state in memory,
    validate-only runs preflight alone.
    """
    in_memory = options.dry_run or options.validate_only
    store = StateStore.open(None if in_memory else state_path, primary=primary.context,
                            secondary=secondary.context, options=_options_record(options),
                            resume=resume and not in_memory)
    state = store.state
    if state.phase is Phase.COMPLETED and resume:
        return SwitchoverReport(success=True, phase=Phase.COMPLETED.value, already_completed=True)
    ctx = SwitchoverContext(primary=primary, secondary=secondary, options=options, store=store, events=events)
    start = state.resume_phase()
    phases = PHASE_ORDER[PHASE_ORDER.index(start):]
    if options.validate_only:
        phases = (Phase.PREFLIGHT,)
    elif start is not Phase.PREFLIGHT:
        # A resumed run checks the hubs again before going on; preflight's facts are kept.
        phases = (Phase.PREFLIGHT, *phases) if "primary_version" not in state.facts else phases
    results: list[PhaseResult] = []
    for phase in phases:
        ctx.phase = phase.value
        state.phase = phase
        if not in_memory:
            await store.save()
        started_m, started_w = time.monotonic(), time.time()
        result = ctx.result = PhaseResult(phase.value, started_m, started_w)
        ctx.emit("phase_started", phase.value)
        error: str | None = None
        with structlog.contextvars.bound_contextvars(phase=phase.value):
            ctx.log.info("phase started")
            try:
                await _PHASES[phase](ctx)
            except (AsyncswitchError, TimeoutError) as exc:
                error = _describe(exc, phase)
            took = round(time.monotonic() - started_m, 3)
            if error is None:
                ctx.log.info("phase succeeded", duration_s=took)
            else:
                ctx.log.error("phase failed", error=error, duration_s=took)
        if error is not None:
            result.outcome, result.error = "failed", error
            _finish(result)
            results.append(result)
            state.phase, state.failed_phase = Phase.FAILED, phase
            state.errors.append({"phase": phase.value, "error": error,
                                 "at": datetime.now(UTC).isoformat(timespec="milliseconds")})
            state.phase_results.append(result.to_json())
            if not in_memory:
                await store.save()
            ctx.emit("phase_finished", phase.value, outcome="failed", error=error)
            return SwitchoverReport(success=False, phase=Phase.FAILED.value, results=results, error=error)
        result.outcome = "succeeded"
        _finish(result)
        results.append(result)
        state.phase_results.append(result.to_json())
        ctx.emit("phase_finished", phase.value, outcome="succeeded", duration=result.duration)
    if options.validate_only or options.dry_run:
        return SwitchoverReport(success=True, phase=phases[-1].value, results=results)
    state.phase = Phase.COMPLETED
    await store.save()
    return SwitchoverReport(success=True, phase=Phase.COMPLETED.value, results=results)


def _finish(result: PhaseResult) -> None:
    result.ended_monotonic, result.ended_wall = time.monotonic(), time.time()


def _describe(exc: BaseException, phase: Phase) -> str:
    if isinstance(exc, PhaseError | HubApiError | WaitTimeout):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"{phase.value}: a wait timed out"
    return f"{type(exc).__name__}: {exc}"


def _options_record(options: SwitchoverOptions) -> dict[str, object]:
    return {"method": options.method.value, "old_hub_action": options.old_hub_action.value,
            "activation_method": options.activation_method.value,
            "min_managed_clusters": options.min_managed_clusters, "min_cluster_share": options.min_cluster_share,
            "manage_auto_import_strategy": options.manage_auto_import_strategy, "argocd": options.argocd.value}


