"""The command line: ``python -m asyncswitch <command>``.

Exit codes: 0 success; 1 the run or a check failed; 2 bad input (one line, no traceback);
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import ConfigError
from .sim import EmulatedHubPair
from .sim.acm import PROFILES, SimConfig, SimulatedHubPair, profile_named

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range 0-65535")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m asyncswitch", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"asyncswitch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run switchover cycles (the cycle engine is not built yet)")
    run.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

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
    sim.add_argument("--empty", action="store_true",
                     help="serve bare Kubernetes API servers without the simulated ACM hubs")
    sim.add_argument("--seed", type=int, default=0, help="seed for every random choice the hubs make")
    sim.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    sim.add_argument("--bookmark-interval", type=float, default=60.0,
                     help="seconds between BOOKMARK events on idle watches that ask for them")
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
                              bookmark_interval=args.bookmark_interval)
    pair: EmulatedHubPair | SimulatedHubPair = servers
    if not args.empty:
        config = SimConfig(clusters=args.clusters, profile=profile_named(args.profile, speed=args.speed),
                           seed=args.seed, tls=not args.plain_http, bookmark_interval=args.bookmark_interval)
        pair = SimulatedHubPair(config, servers=servers)
    try:
        await pair.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen: {exc.strerror or exc}") from None
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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run":
            print("asyncswitch run: the cycle engine is not built yet; `python -m asyncswitch sim` serves the "
                  "emulated hubs meanwhile", file=sys.stderr)
            return EXIT_FAILED
        if args.command == "sim":
            return asyncio.run(_serve_sim(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_FAILED
