"""The command line: ``python -m asyncswitch <command>``.

Exit codes: 0 success; 1 the run or a check failed; 2 bad input (one line, no traceback);
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from . import __version__
from .analysis import (
    DEFAULT_MIN_DELTA_MS,
    DEFAULT_THRESHOLD,
    compare_reports,
    load_report,
    load_reports,
    print_comparison,
    print_report,
    write_comparison_html,
    write_html,
)
from .config import FAULT_SCENARIOS, PHASE_NAMES, STATE_MOMENTS, RunConfig
from .display import Display
from .errors import ConfigError
from .kube import Hub
from .rbac import RbacRequest, every_option, rbac_documents, rbac_header, render
from .resume import resumed_config
from .runner import Engine
from .sim import EmulatedHubPair
from .sim.acm import PROFILES, SimConfig, SimulatedHubPair, profile_named
from .sim.acm.versions import DEFAULT_ACM_VERSION, parse_acm_version
from .switchover import (
    ActivationMethod,
    ArgocdMode,
    Method,
    OldHubAction,
    SwitchoverOptions,
    Timeouts,
    default_state_path,
    run_switchover,
)

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


def _configure_logging(log_format: str, *, quiet: bool = False) -> None:
    """Logs on stderr (stdout stays for the command's own output); with the progress display on,
    only warnings, so the two do not interleave."""
    renderer: structlog.types.Processor = (structlog.processors.JSONRenderer() if log_format == "json"
                                           else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING if quiet else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range 0-65535")
    return value


def _acm_versions(text: str, flag: str = "--acm-version") -> str | tuple[str, str]:
    """``2.15`` for both simulated hubs, or ``2.15,2.17`` for hub-a and hub-b."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > 2:
        raise ConfigError(f"{flag} takes one version or two (hub-a's,hub-b's), not {text!r}")
    try:
        for part in parts:
            parse_acm_version(part)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from None
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not above 0 and at most 1")
    return value


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Options of the switchover pipeline that ``switchover`` and ``run`` share."""
    parser.add_argument("--min-cluster-share", type=_share, default=1.0, metavar="SHARE",
                        help="share of the managed clusters (0-1) that must be Available and Joined on the new hub "
                             "(default 1.0: all); the rest are reported")
    parser.add_argument("--argocd", choices=[m.value for m in ArgocdMode], default=ArgocdMode.WARN.value,
                        help="Argo CD Applications auto-syncing ACM resources: pause their auto-sync for the "
                             "switchover, warn (default), or refuse to start")
    parser.add_argument("--manage-auto-import-strategy", action="store_true",
                        help="ACM 2.14+: ImportAndSync on the new hub during the switchover, reset afterwards")
    parser.add_argument("--compactor-watch", type=float, default=None, metavar="SECONDS",
                        help="after the switchover, watch both hubs this long for a second Thanos compactor "
                             "(default 300; on the embedded hubs 300 simulated seconds)")


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", type=Path, default=None)
    parser.add_argument("--primary-context", default=None)
    parser.add_argument("--secondary-context", default=None)
    parser.add_argument("--method", choices=[m.value for m in Method], default=Method.PASSIVE.value)
    parser.add_argument("--activation-method", choices=[a.value for a in ActivationMethod],
                        default=ActivationMethod.PATCH.value)
    parser.add_argument("--old-hub-action", choices=[a.value for a in OldHubAction],
                        default=OldHubAction.SECONDARY.value)
    parser.add_argument("--cycles", type=int, default=3, help="switchover cycles (default 3)")
    parser.add_argument("--run-hours", type=float, default=None, help="start no cycle after this many hours")
    parser.add_argument("--max-failures", type=int, default=None, help="stop after this many failed cycles")
    parser.add_argument("--stop-on-failure", action="store_true")
    parser.add_argument("--cooldown", type=float, default=0.0, help="seconds between cycles")
    parser.add_argument("--hub-answer-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="seconds a hub has to answer at the start of each cycle (connect and first lists); "
                             "past it the cycle fails and the run goes on (default 30)")
    parser.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN_DIR",
                        help="continue an interrupted run (default: the newest in --output-dir) with its recorded "
                             "inputs; only the soak controls and reporting flags may change")
    parser.add_argument("--inject-failure", default=None, metavar="SCENARIO[=SECONDS][,...]",
                        help="faults to inject in every cycle, each at its moment and held --fault-duration seconds "
                             f"(or its own =SECONDS): {', '.join(FAULT_SCENARIOS)} (docs/faults.md)")
    parser.add_argument("--inject-at-phase", choices=list(PHASE_NAMES), default=None,
                        help="fire every fault at the start of this phase instead of at its scenario's moment")
    parser.add_argument("--inject-at", choices=[*STATE_MOMENTS, *PHASE_NAMES], default=None, metavar="MOMENT",
                        help=f"fire every fault when the switchover reaches this state: {', '.join(STATE_MOMENTS)} "
                             "(or a phase's start)")
    parser.add_argument("--fault-duration", type=float, default=5.0, metavar="SECONDS",
                        help="seconds a fault is held before its roll-back (default 5)")
    parser.add_argument("--require-injection", action="store_true",
                        help="fail a cycle whose fault found nothing to disturb or whose moment never came")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--output-dir", type=Path, default=Path("runs"))
    parser.add_argument("--log-format", choices=["json", "console"], default="console")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--record-events", action="store_true",
                        help="write every watch event and reaction to metrics.jsonl (default: one tally per cycle)")
    parser.add_argument("--sim-clusters", type=_non_negative, default=20)
    parser.add_argument("--sim-profile", choices=sorted(PROFILES), default="fast")
    parser.add_argument("--sim-acm-version", default=DEFAULT_ACM_VERSION, metavar="VERSION[,VERSION]",
                        help=f"ACM version of the simulated hubs, or hub-a's,hub-b's (2.11-2.17; default "
                             f"{DEFAULT_ACM_VERSION})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metrics-port", type=_port, default=None, metavar="PORT",
                        help="serve live OpenMetrics on http://HOST:PORT/metrics while the run goes on")
    parser.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                        help="address the metrics server listens on (default 127.0.0.1; 0.0.0.0 in a pod)")
    _add_pipeline_options(parser)


_RUN_FIELDS = {"no_progress": "progress", "compactor_watch": "timeouts", "fault_duration": "fault_hold"}
"""``run`` flags whose RunConfig field has another name."""


def _explicit_run_fields(argv: Sequence[str]) -> set[str]:
    """The RunConfig fields the user set on the ``run`` command line (not left to their defaults)."""
    parser = _Parser(prog="python -m asyncswitch run", add_help=False)
    _add_run_arguments(parser)
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    given = vars(parser.parse_args(list(argv)[list(argv).index("run") + 1:]))
    return {_RUN_FIELDS.get(name, name) for name in given}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m asyncswitch", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"asyncswitch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _add_run_arguments(sub.add_parser(
        "run", help="run switchover cycles (embedded simulated hubs unless contexts are given)"))

    sw = sub.add_parser("switchover", help="one switchover between two kubeconfig contexts")
    sw.add_argument("--kubeconfig", type=Path, default=None,
                    help="kubeconfig holding both contexts (default: $KUBECONFIG or ~/.kube/config)")
    sw.add_argument("--primary-context", required=True, help="context of the active hub")
    sw.add_argument("--secondary-context", required=True, help="context of the hub to promote")
    sw.add_argument("--method", choices=[m.value for m in Method], default=Method.PASSIVE.value)
    sw.add_argument("--old-hub-action", choices=[a.value for a in OldHubAction], required=True)
    sw.add_argument("--activation-method", choices=[a.value for a in ActivationMethod],
                    default=ActivationMethod.PATCH.value, help="passive method only: patch (default) or restore")
    sw.add_argument("--min-managed-clusters", type=_non_negative, default=0,
                    help="fail activation if fewer managed clusters arrive (default 0: report only)")
    _add_pipeline_options(sw)
    sw.add_argument("--validate-only", action="store_true", help="run preflight only")
    sw.add_argument("--dry-run", action="store_true", help="read both hubs, change nothing, write no state")
    sw.add_argument("--state-file", type=Path, default=None,
                    help="state file (default .state/switchover-<primary>__<secondary>.json)")
    sw.add_argument("--resume", action="store_true", help="continue from the state file's failed or interrupted phase")

    sim = sub.add_parser("sim", help="serve the emulated hub pair until Ctrl-C; writes a kubeconfig")
    sim.add_argument("--kubeconfig-out", type=Path, default=Path("asyncswitch-sim.kubeconfig"),
                     help="where to write the kubeconfig with contexts hub-a and hub-b (mode 0600)")
    sim.add_argument("--port-a", type=_port, default=0, help="port for hub-a (default: any free port)")
    sim.add_argument("--port-b", type=_port, default=0, help="port for hub-b (default: any free port)")
    sim.add_argument("--clusters", type=_non_negative, default=20,
                     help="managed clusters in the simulated fleet (default 20)")
    sim.add_argument("--profile", choices=sorted(PROFILES), default="fast",
                     help="controller timing: instant, fast (default) or realistic")
    sim.add_argument("--speed", type=float, default=None,
                     help="simulated seconds per real second (overrides the profile's; realistic is 1)")
    sim.add_argument("--acm-version", default=DEFAULT_ACM_VERSION, metavar="VERSION[,VERSION]",
                     help=f"ACM version of both hubs, or hub-a's,hub-b's, e.g. 2.15,2.17 (2.11-2.17; default "
                          f"{DEFAULT_ACM_VERSION}); sets the simulated operators' version-dependent behaviour")
    sim.add_argument("--empty", action="store_true",
                     help="serve bare Kubernetes API servers without the simulated ACM hubs")
    sim.add_argument("--seed", type=int, default=0, help="seed for every random choice the hubs make")
    sim.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    sim.add_argument("--bookmark-interval", type=float, default=60.0,
                     help="seconds between BOOKMARK events on idle watches that ask for them")
    sim.add_argument("--request-log", type=_non_negative, default=20_000, metavar="N",
                     help="requests each hub keeps for GET /_emulator/requests (default 20,000)")

    rbac = sub.add_parser("rbac", help="print the ClusterRole, Roles and bindings a hub needs, as YAML "
                                       "(generated from the permission tables)")
    rbac.add_argument("--read-only", action="store_true",
                      help="only get, list and watch: enough for --validate-only and --dry-run")
    rbac.add_argument("--method", choices=[m.value for m in Method], action="append",
                      help="only what this method needs (repeatable; default: every method)")
    rbac.add_argument("--activation-method", choices=[a.value for a in ActivationMethod], action="append",
                      help="only what this activation method needs (repeatable; default: both)")
    rbac.add_argument("--old-hub-action", choices=[a.value for a in OldHubAction], action="append",
                      help="only what this old-hub action needs (repeatable; default: every action)")
    rbac.add_argument("--fault-injection", action="store_true",
                      help="also what run --inject-failure does on real hubs (restart pods, scale velero, ...)")
    rbac.add_argument("--service-account", default="asyncswitch/asyncswitch", metavar="NAMESPACE/NAME",
                      help="the ServiceAccount the bindings name (default asyncswitch/asyncswitch)")
    rbac.add_argument("--name", default=None,
                      help="name of the roles and bindings (default asyncswitch, or asyncswitch-read-only)")

    analyze = sub.add_parser("analyze", help="report on run directories: counts, latencies, failures, alerts, "
                                             "faults (several run directories are merged into one report)")
    analyze.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    analyze.add_argument("--html", type=Path, default=None, metavar="PATH",
                         help="also write a self-contained HTML report with plots to PATH")
    analyze.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    analyze.add_argument("--junit", type=Path, default=None, metavar="PATH",
                         help="also write a JUnit XML file to PATH: a testcase per cycle and per phase")
    analyze.add_argument("--openmetrics", type=Path, default=None, metavar="PATH",
                         help="also write the summary as an OpenMetrics text file to PATH")

    compare = sub.add_parser("compare", help="compare two runs' latency percentiles and success rates")
    compare.add_argument("baseline", type=Path, metavar="BASELINE_RUN_DIR")
    compare.add_argument("candidate", type=Path, metavar="CANDIDATE_RUN_DIR")
    compare.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                         help=f"flag a percentile whose candidate/baseline ratio exceeds this "
                              f"(default {DEFAULT_THRESHOLD:g})")
    compare.add_argument("--min-delta-ms", type=float, default=DEFAULT_MIN_DELTA_MS,
                         help="... and that is more than this many ms slower, so 1 ms -> 2 ms is not flagged "
                              f"(default {DEFAULT_MIN_DELTA_MS:g})")
    compare.add_argument("--check-regressions", action="store_true",
                         help="exit 1 if a regression is flagged (for CI)")
    compare.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    compare.add_argument("--html", type=Path, default=None, metavar="PATH",
                         help="also write a self-contained HTML page with the two runs side by side to PATH")
    return parser


async def _serve_sim(args: argparse.Namespace) -> int:
    if args.port_a and args.port_a == args.port_b:
        raise ConfigError("--port-a and --port-b must differ")
    if args.bookmark_interval <= 0:
        raise ConfigError("--bookmark-interval must be positive")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.speed is not None and args.speed <= 0:
        raise ConfigError("--speed must be positive")
    servers = EmulatedHubPair(seed=args.seed, tls=not args.plain_http, port_a=args.port_a, port_b=args.port_b,
                              bookmark_interval=args.bookmark_interval, request_log_size=args.request_log)
    pair: EmulatedHubPair | SimulatedHubPair = servers
    if not args.empty:
        config = SimConfig(clusters=args.clusters, profile=profile_named(args.profile, speed=args.speed),
                           seed=args.seed, tls=not args.plain_http, bookmark_interval=args.bookmark_interval,
                           acm_version=_acm_versions(args.acm_version))
        pair = SimulatedHubPair(config, servers=servers)
    try:
        await pair.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen: {exc.strerror or exc}") from None
    # The seeded objects live as long as the server: keep them out of the cyclic collector's full
    # passes, which otherwise pause the loop for tens of milliseconds (docs/performance.md).
    gc.freeze()
    try:
        path = pair.write_kubeconfig(args.kubeconfig_out)
        if not args.empty:
            print(f"simulated ACM hubs: hub-a active with {args.clusters} managed clusters, hub-b passive "
                  f"(profile {args.profile})", flush=True)
        for server in servers.servers:
            print(f"{server.name}: {server.url}", flush=True)
        print(f"kubeconfig: {path} (contexts hub-a, hub-b)", flush=True)
        print("serving; Ctrl-C to stop", flush=True)
        await stop.wait()
    finally:
        await pair.stop()
    return EXIT_OK


def _pipeline_options(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"min_cluster_share": args.min_cluster_share,
                           "manage_auto_import_strategy": args.manage_auto_import_strategy,
                           "argocd": ArgocdMode(args.argocd)}
    if args.compactor_watch is not None:
        if args.compactor_watch < 0:
            raise ConfigError("--compactor-watch must not be negative")
        out["timeouts"] = Timeouts(compactor_watch=args.compactor_watch)
    return out


def _kubeconfig_path(given: Path | None) -> Path:
    if given is not None:
        return given
    env = os.environ.get("KUBECONFIG", "")
    return Path(env.split(os.pathsep)[0]) if env else Path.home() / ".kube" / "config"


async def _switchover(args: argparse.Namespace) -> int:
    if args.primary_context == args.secondary_context:
        raise ConfigError("--primary-context and --secondary-context must name two different hubs")
    options = SwitchoverOptions(
        method=Method(args.method), old_hub_action=OldHubAction(args.old_hub_action),
        activation_method=ActivationMethod(args.activation_method),
        min_managed_clusters=args.min_managed_clusters, dry_run=args.dry_run, validate_only=args.validate_only,
        **_pipeline_options(args))
    kubeconfig = _kubeconfig_path(args.kubeconfig)
    state_path = args.state_file or default_state_path(args.primary_context, args.secondary_context)
    async with Hub.connect(kubeconfig, args.primary_context) as primary, \
            Hub.connect(kubeconfig, args.secondary_context) as secondary:
        report = await run_switchover(primary=primary, secondary=secondary, options=options,
                                      state_path=state_path, resume=args.resume)
    if report.already_completed:
        print(f"switchover {args.primary_context} -> {args.secondary_context} already completed ({state_path})")
        return EXIT_OK
    for result in report.results:
        print(f"{result.phase:32} {result.outcome:10} {result.duration:8.2f} s"
              + (f"  {len(result.warnings)} warning(s)" if result.warnings else ""))
    if not report.success:
        print(f"error: {report.error}", file=sys.stderr)
        if not (args.dry_run or args.validate_only):
            print(f"state saved in {state_path}; fix the cause and rerun with --resume", file=sys.stderr)
        return EXIT_FAILED
    what = "validated" if args.validate_only else "dry run finished" if args.dry_run else "completed"
    print(f"switchover {args.primary_context} -> {args.secondary_context} {what}")
    return EXIT_OK


def _resume_dir(args: argparse.Namespace) -> Path | None:
    if args.resume is None:
        return None
    if args.resume:
        return Path(args.resume)
    runs = sorted(p for p in args.output_dir.glob("run-*") if (p / "run_state.json").exists())
    if not runs:
        raise ConfigError(f"--resume: no run to resume in {args.output_dir}")
    latest: Path = runs[-1]
    return latest


async def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    config = RunConfig(
        kubeconfig=args.kubeconfig if args.primary_context is None else _kubeconfig_path(args.kubeconfig),
        primary_context=args.primary_context, secondary_context=args.secondary_context,
        method=Method(args.method), activation_method=ActivationMethod(args.activation_method),
        old_hub_action=OldHubAction(args.old_hub_action), cycles=args.cycles, run_hours=args.run_hours,
        max_failures=args.max_failures, stop_on_failure=args.stop_on_failure, cooldown=args.cooldown,
        resume=_resume_dir(args), inject_failure=args.inject_failure, inject_at_phase=args.inject_at_phase,
        inject_at=args.inject_at,
        fault_hold=args.fault_duration, require_injection=args.require_injection,
        dry_run=args.dry_run, output_dir=args.output_dir, log_format=args.log_format,
        progress=not args.no_progress, sim_clusters=args.sim_clusters, sim_profile=args.sim_profile, seed=args.seed,
        sim_acm_version=args.sim_acm_version, hub_answer_timeout=args.hub_answer_timeout,
        metrics_port=args.metrics_port, metrics_host=args.metrics_host, record_events=args.record_events,
        gc_between_cycles=True, **_pipeline_options(args))
    if config.resume is not None:
        config = await asyncio.to_thread(resumed_config, config.resume, config, _explicit_run_fields(argv))
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, main_task.cancel)
    display = Display(total_cycles=config.cycles, enabled=config.progress)
    interrupted = False
    async with contextlib.AsyncExitStack() as stack:
        pair = None
        if config.embedded:
            pair = await stack.enter_async_context(SimulatedHubPair(SimConfig(
                clusters=config.sim_clusters, profile=profile_named(config.sim_profile), seed=config.seed,
                acm_version=_acm_versions(config.sim_acm_version, "--sim-acm-version"))))
        # What lives for the whole run (modules, the embedded hubs' seeded objects) is kept out of the
        # cyclic collector's full passes, which pause the loop (docs/performance.md, cycle engine).
        gc.freeze()
        engine = Engine(config, hub_pair=pair, display=display)
        try:
            async with engine:
                result = await engine.run()
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        print(f"interrupted: state saved in {engine.run_dir}; continue with --resume {engine.run_dir}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    display.closing(engine.collector, successes=result.successes, cycles=result.cycles, run_dir=str(result.run_dir))
    if result.damaged:
        print(f"DAMAGED: {result.damaged} cycle(s) broke an invariant after their injected faults; the findings are "
              f"in {result.run_dir}/metrics.jsonl (invariant_check, cycle_verdict)", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _analyze(args: argparse.Namespace) -> int:
    from .analysis.junit import write_junit  # their libraries load only for analyze
    from .analysis.openmetrics import write_openmetrics

    report = load_reports(args.run_dirs)
    written = []
    for kind, path, write in (("html report", args.html, write_html), ("junit", args.junit, write_junit),
                              ("openmetrics", args.openmetrics, write_openmetrics)):
        if path is not None:
            write(report, path)
            written.append(f"{kind}: {path}")
    if args.json:
        print(json.dumps(report.to_json(), indent=2), flush=True)
    else:
        print_report(report, sys.stdout)
        for line in written:
            print(line, flush=True)
    return EXIT_OK if report.all_succeeded and not report.damaged else EXIT_FAILED


def _compare(args: argparse.Namespace) -> int:
    comparison = compare_reports(load_report(args.baseline), load_report(args.candidate), threshold=args.threshold,
                                 min_delta_ms=args.min_delta_ms)
    if args.html is not None:
        write_comparison_html(comparison, args.html)
    if args.json:
        print(json.dumps(comparison.to_json(), indent=2), flush=True)
    else:
        print_comparison(comparison, sys.stdout)
        if args.html is not None:
            print(f"html report: {args.html}", flush=True)
    return EXIT_FAILED if args.check_regressions and comparison.regressed else EXIT_OK


def _rbac(args: argparse.Namespace) -> int:
    namespace, _, name = args.service_account.partition("/")
    if not namespace or not name or "/" in name:
        raise ConfigError(f"--service-account {args.service_account!r}: expected NAMESPACE/NAME")
    methods = set(args.method or [m.value for m in Method])
    activations = set(args.activation_method or [a.value for a in ActivationMethod])
    actions = set(args.old_hub_action or [a.value for a in OldHubAction])
    options = [o for o in every_option() if o.method.value in methods and o.activation_method.value in activations
               and o.old_hub_action.value in actions]
    if not options:
        raise ConfigError("--activation-method restore applies to --method passive only: no run matches")
    if args.fault_injection and args.read_only:
        raise ConfigError("--fault-injection changes the hubs: it does not go with --read-only")
    request = RbacRequest(options, read_only=args.read_only, service_account=(namespace, name),
                          fault_injection=args.fault_injection,
                          name=args.name or ("asyncswitch-read-only" if args.read_only else "asyncswitch"))
    print(render(rbac_documents(request), header=rbac_header(args.read_only)), end="", flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run":
            _configure_logging(args.log_format, quiet=not args.no_progress)
            return asyncio.run(_run(args, sys.argv[1:] if argv is None else argv))
        if args.command == "sim":
            return asyncio.run(_serve_sim(args))
        if args.command == "switchover":
            _configure_logging("console")
            return asyncio.run(_switchover(args))
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "rbac":
            return _rbac(args)
        if args.command == "compare":
            return _compare(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`analyze RUN_DIR | head`): stop quietly, as a filter does,
        # with stdout pointed at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return EXIT_FAILED
