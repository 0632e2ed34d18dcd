"""Bad input to ``python -m asyncswitch run``, case by case: exit code 2, exactly one line on stderr and
no traceback, no mutating request on either hub (their request logs), and nothing left behind (no run
directory; a run directory given to --resume unchanged).

In-process (``cli.main``) against two ``sim`` child processes served for the whole module: one with the
simulated ACM hubs, one bare (no ACM)."""

from __future__ import annotations

import base64
import copy
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from asyncswitch.cli import main

from .support import ServedPair, served_pair, tree_digest


@dataclass
class World:
    base: Path
    acm: ServedPair
    bare: ServedPair
    finished_run: Path
    """A finished 1-cycle embedded run, copied for each resume case."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("bad-input")
    (base / "acm").mkdir()
    (base / "bare").mkdir()
    with served_pair(base / "acm", "--profile", "instant", "--clusters", "2") as acm, \
            served_pair(base / "bare", "--empty") as bare:
        assert main(["run", "--cycles", "1", "--sim-profile", "instant", "--sim-clusters", "2", "--no-progress",
                     "--output-dir", str(base / "done")]) == 0
        finished = next((base / "done").iterdir())
        yield World(base, acm, bare, finished)


def _kubeconfig(world: World, case: Path, change: Callable[[dict[str, Any]], None],
                source: ServedPair | None = None) -> str:
    document = copy.deepcopy((source or world.acm).document())
    change(document)
    path = case / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def _set_cluster(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for cluster in document["clusters"]:
            cluster["cluster"][key] = value
    return change


def _wrong_token(document: dict[str, Any]) -> None:
    for user in document["users"]:
        user["user"]["token"] = "not-the-token-0123456789abcdef"


def _unknown_user(document: dict[str, Any]) -> None:
    document["contexts"][1]["context"]["user"] = "nobody"


def _resumable(world: World, case: Path, damage: Callable[[Path], None] | None = None) -> str:
    run_dir = case / "runs" / world.finished_run.name
    shutil.copytree(world.finished_run, run_dir)
    if damage is not None:
        damage(run_dir)
    return str(run_dir)


def _write(relative: str, content: bytes) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        (run_dir / relative).write_bytes(content)
    return damage


def _damage_committed_histogram(run_dir: Path) -> None:
    state = json.loads((run_dir / "run_state.json").read_text())
    state["committed"]["histograms"]["cycle"] = base64.b64encode(b"not a histogram").decode()
    (run_dir / "run_state.json").write_text(json.dumps(state))


Args = Callable[[World, Path], list[str]]


def _hubs(kubeconfig: Callable[[World, Path], str], *extra: str) -> Args:
    return lambda w, case: ["--kubeconfig", kubeconfig(w, case), "--primary-context", "hub-a",
                            "--secondary-context", "hub-b", "--hub-answer-timeout", "5", *extra]


def _plain(*args: str) -> Args:
    return lambda w, case: list(args)


def _resume(damage: Callable[[Path], None] | None = None, *extra: str) -> Args:
    return lambda w, case: ["--resume", _resumable(w, case, damage), *extra]


def _file(name: str, content: bytes) -> Callable[[World, Path], str]:
    def make(w: World, case: Path) -> str:
        (case / name).write_bytes(content)
        return str(case / name)
    return make


CASES: list[tuple[str, Args, str]] = [
    # numbers and choices
    ("cycles-zero", _plain("--cycles", "0"), "--cycles must be at least 1"),
    ("cycles-negative", _plain("--cycles", "-3"), "--cycles must be at least 1"),
    ("cycles-not-a-number", _plain("--cycles", "three"), "invalid int value"),
    ("cooldown-inf", _plain("--cooldown", "inf"), "--cooldown must be a finite number"),
    ("cooldown-huge", _plain("--cooldown", "1e400"), "--cooldown must be a finite number"),
    ("cooldown-nan", _plain("--cooldown", "nan"), "--cooldown must be a finite number"),
    ("cooldown-negative", _plain("--cooldown", "-1"), "--cooldown must be a finite number"),
    ("run-hours-zero", _plain("--run-hours", "0"), "--run-hours must be a positive number"),
    ("run-hours-nan", _plain("--run-hours", "nan"), "--run-hours must be a positive number"),
    ("run-hours-inf", _plain("--run-hours", "inf"), "--run-hours must be a positive number"),
    ("max-failures-zero", _plain("--max-failures", "0"), "--max-failures must be at least 1"),
    ("hub-answer-timeout-zero", _plain("--hub-answer-timeout", "0"), "--hub-answer-timeout must be a positive"),
    ("hub-answer-timeout-nan", _plain("--hub-answer-timeout", "nan"), "--hub-answer-timeout must be a positive"),
    ("dry-run-with-injection", _plain("--dry-run", "--inject-failure", "pause-backup"), "give one or the other"),
    ("unknown-fault", _plain("--inject-failure", "meteor"), "unknown scenario 'meteor'"),
    ("unknown-phase", _plain("--inject-at-phase", "lunch"), "invalid choice"),
    ("unknown-method", _plain("--method", "teleport"), "invalid choice"),
    ("restore-activation-with-full", _plain("--method", "full", "--activation-method", "restore"),
     "--activation-method restore applies to --method passive only"),
    ("decommission-many-cycles", _plain("--old-hub-action", "decommission", "--cycles", "2"), "give --cycles 1"),
    ("cluster-share-zero", _plain("--min-cluster-share", "0"), "is not above 0 and at most 1"),
    ("cluster-share-above-one", _plain("--min-cluster-share", "1.5"), "is not above 0 and at most 1"),
    ("cluster-share-nan", _plain("--min-cluster-share", "nan"), "nan is not above 0 and at most 1"),
    ("sim-clusters-negative", _plain("--sim-clusters", "-1"), "is negative"),
    ("sim-profile-unknown", _plain("--sim-profile", "warp"), "invalid choice"),
    ("sim-acm-version-unknown", _plain("--sim-acm-version", "1.0"), "--sim-acm-version"),
    ("compactor-watch-negative", _plain("--compactor-watch", "-5"), "--compactor-watch must not be negative"),
    ("one-context-only", _plain("--primary-context", "hub-a"), "give both --primary-context"),
    ("same-context-twice", _plain("--primary-context", "hub-a", "--secondary-context", "hub-a"),
     "must name two different hubs"),
    ("unknown-flag", _plain("--turbo"), "unrecognized arguments"),
    # output directory
    ("output-dir-is-a-file", lambda w, case: ["--output-dir", _file("taken", b"x")(w, case)], "is not a directory"),
    ("output-dir-under-a-file", lambda w, case: ["--output-dir", _file("taken", b"x")(w, case) + "/runs"],
     "cannot make the run directory: Not a directory"),
    # kubeconfig files
    ("kubeconfig-missing", _hubs(lambda w, case: str(case / "absent")), "cannot read kubeconfig"),
    ("kubeconfig-directory", _hubs(lambda w, case: str(case)), "cannot read kubeconfig"),
    ("kubeconfig-malformed", _hubs(_file("k", b"clusters: [\n  - {")), "is not valid YAML"),
    ("kubeconfig-empty", _hubs(_file("k", b"")), "has no contexts list"),
    ("kubeconfig-binary", _hubs(_file("k", bytes(range(256)) * 4)), "is not text"),
    ("kubeconfig-unknown-context", lambda w, case: ["--kubeconfig", str(w.acm.kubeconfig), "--primary-context",
                                                   "hub-a", "--secondary-context", "hub-z"], "'hub-z' is not in"),
    ("kubeconfig-unknown-user", _hubs(lambda w, case: _kubeconfig(w, case, _unknown_user)), "names user 'nobody'"),
    ("kubeconfig-server-not-a-url", _hubs(lambda w, case: _kubeconfig(w, case, _set_cluster("server", "hub b"))),
     "has no server URL"),
    ("kubeconfig-garbage-ca", _hubs(lambda w, case: _kubeconfig(
        w, case, _set_cluster("certificate-authority-data", base64.b64encode(b"not a certificate").decode()))),
     "hub-a"),
    ("kubeconfig-wrong-ca", _hubs(lambda w, case: _kubeconfig(w, case, _set_cluster(
        "certificate-authority-data", w.bare.document()["clusters"][0]["cluster"]["certificate-authority-data"]))),
     "TLS failed"),
    ("wrong-token", _hubs(lambda w, case: _kubeconfig(w, case, _wrong_token)), "refused our credentials (401"),
    ("hub-without-acm", _hubs(lambda w, case: str(w.bare.kubeconfig)), "ACM is not installed on hub-a"),
    # resume
    ("resume-missing-dir", lambda w, case: ["--resume", str(case / "nope")], "is not a directory"),
    ("resume-not-a-run", lambda w, case: ["--resume", str(case)], "holds no run_state.json"),
    ("resume-state-not-json", _resume(_write("run_state.json", b"{\"run_id\": ")), "run_state.json is damaged"),
    ("resume-state-wrong-shape", _resume(_write("run_state.json", b"[1, 2, 3]")), "run_state.json is damaged"),
    ("resume-state-wrong-types", _resume(_write("run_state.json", b'{"run_id": 7, "primary": "hub-a"}')),
     "run_state.json is damaged"),
    ("resume-histogram-damaged", _resume(_damage_committed_histogram), "histograms are damaged"),
    ("resume-manifest-damaged", _resume(_write("manifest.json", b"\x00\x01")), "manifest.json is damaged"),
    ("resume-contradicting-seed", _resume(None, "--seed", "5"), "--seed 5 contradicts the run's recorded 0"),
    ("resume-contradicting-method", _resume(None, "--method", "full"), "--method full contradicts"),
    ("resume-embedded-with-contexts", _resume(None, "--primary-context", "hub-a", "--secondary-context", "hub-b"),
     "resumes on a new one"),
]


@pytest.mark.parametrize(("args", "message"), [pytest.param(a, m, id=i) for i, a, m in CASES])
def test_bad_input_is_one_line_exit_2_changes_no_hub_and_leaves_nothing_behind(
        world: World, args: Args, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path
    argv = ["run", "--no-progress", "--sim-profile", "instant", "--sim-clusters", "2", "--output-dir",
            str(case / "runs"), *args(world, case)]
    before = {hub: len(world.acm.requests(hub)) for hub in ("hub-a", "hub-b")}
    resumed = argv[argv.index("--resume") + 1] if "--resume" in argv else None
    digest = tree_digest(Path(resumed)) if resumed and Path(resumed).is_dir() else None
    capsys.readouterr()

    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert message in err
    for served in (world.acm, world.bare):
        for hub in ("hub-a", "hub-b"):
            assert not [r for r in served.requests(hub)[before.get(hub, 0) if served is world.acm else 0:]
                        if r["verb"] in ("create", "update", "patch", "delete", "deletecollection")], hub
    runs = case / "runs"
    if resumed is None:
        assert not runs.exists() or not any(runs.iterdir()), "a run directory was left behind"
    elif digest is not None:
        assert tree_digest(Path(resumed)) == digest, "the resumed run directory was changed"


def test_the_table_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
