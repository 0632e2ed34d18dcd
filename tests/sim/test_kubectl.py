"""The real kubectl against a real ``python -m asyncswitch sim`` subprocess.

One simulator serves the whole module; every test names its objects uniquely, so the tests
do not depend on each other or on their order. Each kubectl call has a timeout, and the
long-running ones (``get -w``, ``wait``) are read on a thread with a deadline.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

KUBECTL = shutil.which("kubectl")
START_DEADLINE = 20.0
CALL_TIMEOUT = 30.0

pytestmark = [
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH; these tests drive the real kubectl binary"),
    pytest.mark.kubectl,
]


class _Lines:
    """The lines of a child's stdout, read on a thread so a test can wait for one with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: Callable[[str], bool], what: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the output ended before {what}; lines so far: {self.seen}")
            self.seen.append(line)
            if wanted(line):
                return line
        raise AssertionError(f"no {what} within {timeout}s; lines so far: {self.seen}")

    def join(self) -> None:
        """Wait for the end of the stream (call after the child has exited)."""
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the output reader did not see the end of the stream"


@dataclass(frozen=True)
class Sim:
    kubeconfig: Path
    cache_dir: Path
    urls: dict[str, str]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """``python -m asyncswitch sim`` on free ports, up until the module's tests are done."""
    tmp = tmp_path_factory.mktemp("kubectl-sim")
    kubeconfig = tmp / "kc"
    stderr_path = tmp / "sim.stderr"
    with stderr_path.open("w") as stderr, subprocess.Popen(
        [sys.executable, "-m", "asyncswitch", "sim", "--kubeconfig-out", str(kubeconfig), "--seed", "1"],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True,
    ) as proc:
        assert proc.stdout is not None
        lines = _Lines(proc.stdout)
        try:
            try:
                lines.wait_for(lambda line: line.startswith("serving"), '"serving"', START_DEADLINE)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nsim stderr:\n{stderr_path.read_text()}") from None
            urls = dict(line.split(": ", 1) for line in lines.seen if line.startswith("hub-"))
            assert set(urls) == {"hub-a", "hub-b"}, lines.seen
            assert kubeconfig.stat().st_mode & 0o777 == 0o600
            yield Sim(kubeconfig, tmp / "kube-cache", urls)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("the simulator did not stop within 15 s of SIGTERM") from None
            lines.join()
        assert code == 0, f"the simulator exited {code}; stderr:\n{stderr_path.read_text()}"


def _argv(sim: Sim, args: tuple[str, ...], context: str) -> list[str]:
    assert KUBECTL is not None
    return [KUBECTL, "--kubeconfig", str(sim.kubeconfig), "--context", context, "--cache-dir", str(sim.cache_dir),
            *args]


def kubectl(
    sim: Sim, *args: str, context: str = "hub-a", check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run kubectl to completion; with ``check``, a non-zero exit fails the test with its output."""
    argv = _argv(sim, args, context)
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=CALL_TIMEOUT, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(argv[1:])} exited {result.returncode}\n"
                    f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def get_json(sim: Sim, *args: str, context: str = "hub-a") -> Any:
    return json.loads(kubectl(sim, "get", *args, "-o", "json", context=context).stdout)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def deployment(name: str, *, image: str = "nginx:1.27", replicas: int = 1) -> str:
    return json.dumps({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    })


def test_kubectl_api_resources_lists_builtin_types(sim: Sim) -> None:
    names = kubectl(sim, "api-resources", "-o", "name").stdout.split()
    for wanted in ("configmaps", "namespaces", "pods", "secrets", "deployments.apps", "statefulsets.apps",
                   "customresourcedefinitions.apiextensions.k8s.io",
                   "selfsubjectaccessreviews.authorization.k8s.io"):
        assert wanted in names
    rows = {line.split()[0]: line.split() for line in kubectl(sim, "api-resources").stdout.splitlines()[1:]}
    assert rows["configmaps"][1:] == ["cm", "v1", "true", "ConfigMap"]
    assert rows["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]


def test_kubectl_get_json_returns_the_stored_object_with_server_fields(sim: Sim) -> None:
    name = unique("get-json")
    kubectl(sim, "create", "configmap", name, "--from-literal=colour=blue")
    obj = get_json(sim, "configmap", name)
    assert obj["apiVersion"] == "v1"
    assert obj["kind"] == "ConfigMap"
    assert obj["data"] == {"colour": "blue"}
    meta = obj["metadata"]
    assert meta["name"] == name
    assert meta["namespace"] == "default"
    assert meta["uid"]
    assert int(meta["resourceVersion"]) > 0
    assert meta["creationTimestamp"].endswith("Z")


def test_kubectl_apply_creates_then_configures_a_changed_manifest(sim: Sim) -> None:
    name = unique("apply")
    created = kubectl(sim, "apply", "-f", "-", stdin=deployment(name, image="nginx:1.26"))
    assert created.stdout.strip() == f"deployment.apps/{name} created"
    assert get_json(sim, "deployment", name)["metadata"]["generation"] == 1

    configured = kubectl(sim, "apply", "-f", "-", stdin=deployment(name, image="nginx:1.27"))
    assert configured.stdout.strip() == f"deployment.apps/{name} configured"
    obj = get_json(sim, "deployment", name)
    assert obj["spec"]["template"]["spec"]["containers"] == [{"name": "main", "image": "nginx:1.27"}]
    assert obj["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]

    unchanged = kubectl(sim, "apply", "-f", "-", stdin=deployment(name, image="nginx:1.27"))
    assert unchanged.stdout.strip() == f"deployment.apps/{name} unchanged"


def test_kubectl_patch_type_merge_changes_only_the_named_keys(sim: Sim) -> None:
    name = unique("merge")
    kubectl(sim, "create", "configmap", name, "--from-literal=keep=1", "--from-literal=drop=2")
    kubectl(sim, "patch", "configmap", name, "--type", "merge", "-p", '{"data": {"drop": null, "new": "3"}}')
    assert get_json(sim, "configmap", name)["data"] == {"keep": "1", "new": "3"}


def test_kubectl_patch_type_json_applies_rfc6902_operations(sim: Sim) -> None:
    name = unique("jsonpatch")
    kubectl(sim, "create", "configmap", name, "--from-literal=a=1", "--from-literal=b=2")
    ops = [{"op": "replace", "path": "/data/a", "value": "10"}, {"op": "remove", "path": "/data/b"},
           {"op": "add", "path": "/data/c", "value": "3"}]
    kubectl(sim, "patch", "configmap", name, "--type", "json", "-p", json.dumps(ops))
    assert get_json(sim, "configmap", name)["data"] == {"a": "10", "c": "3"}

    failed = kubectl(sim, "patch", "configmap", name, "--type", "json", "-p",
                     '[{"op": "test", "path": "/data/a", "value": "nope"}]', check=False)
    assert failed.returncode != 0
    assert get_json(sim, "configmap", name)["data"] == {"a": "10", "c": "3"}


def test_kubectl_strategic_patch_adds_a_container_by_name_and_keeps_the_existing_one(sim: Sim) -> None:
    name = unique("strategic")
    kubectl(sim, "apply", "-f", "-", stdin=deployment(name))
    kubectl(sim, "patch", "deployment", name, "-p",
            '{"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}}}')
    containers = get_json(sim, "deployment", name)["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "main", "image": "nginx:1.27"}, {"name": "sidecar", "image": "busybox:1.36"}]

    kubectl(sim, "set", "image", f"deployment/{name}", "main=nginx:1.28")
    containers = get_json(sim, "deployment", name)["spec"]["template"]["spec"]["containers"]
    images = {c["name"]: c["image"] for c in containers}
    assert images == {"main": "nginx:1.28", "sidecar": "busybox:1.36"}


def test_kubectl_scale_changes_replicas_and_bumps_generation(sim: Sim) -> None:
    name = unique("scale")
    kubectl(sim, "apply", "-f", "-", stdin=deployment(name, replicas=2))
    before = get_json(sim, "deployment", name)
    out = kubectl(sim, "scale", "deployment", name, "--replicas=4").stdout
    assert out.strip() == f"deployment.apps/{name} scaled"
    after = get_json(sim, "deployment", name)
    assert after["spec"]["replicas"] == 4
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1

    stale = kubectl(sim, "scale", "deployment", name, "--current-replicas=2", "--replicas=6", check=False)
    assert stale.returncode != 0
    assert get_json(sim, "deployment", name)["spec"]["replicas"] == 4


def test_kubectl_delete_removes_the_object_and_get_then_fails_with_not_found(sim: Sim) -> None:
    name = unique("delete")
    kubectl(sim, "create", "configmap", name)
    out = kubectl(sim, "delete", "configmap", name).stdout
    assert out.strip() == f'configmap "{name}" deleted'
    gone = kubectl(sim, "get", "configmap", name, check=False)
    assert gone.returncode == 1
    assert f'Error from server (NotFound): configmaps "{name}" not found' in gone.stderr
    assert name not in kubectl(sim, "get", "configmaps", "-o", "name").stdout


def test_kubectl_wait_for_jsonpath_succeeds_once_replicas_reach_the_value(sim: Sim) -> None:
    name = unique("wait")
    kubectl(sim, "apply", "-f", "-", stdin=deployment(name, replicas=1))
    argv = _argv(sim, ("wait", f"deployment/{name}", "--for=jsonpath={.spec.replicas}=5", "--timeout=20s"), "hub-a")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as waiter:
        try:
            kubectl(sim, "scale", "deployment", name, "--replicas=5")
            out, err = waiter.communicate(timeout=CALL_TIMEOUT)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.communicate()
    assert waiter.returncode == 0, err
    assert out.strip() == f"deployment.apps/{name} condition met"

    never = kubectl(sim, "wait", f"deployment/{name}", "--for=jsonpath={.spec.replicas}=7", "--timeout=1s",
                    check=False)
    assert never.returncode == 1
    assert "timed out" in never.stderr


def test_kubectl_get_watch_receives_events_for_a_new_configmap(sim: Sim) -> None:
    label = unique("watch")
    sentinel, target = unique("sentinel"), unique("target")

    def labelled(name: str) -> str:
        return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name, "namespace": "default", "labels": {"watch": label}}})

    kubectl(sim, "apply", "-f", "-", stdin=labelled(sentinel))
    argv = _argv(sim, ("get", "configmaps", "-n", "default", "-l", f"watch={label}", "--watch",
                       "--output-watch-events", "-o", 'jsonpath={.type} {.object.metadata.name}{"\\n"}'), "hub-a")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watcher:
        assert watcher.stdout is not None
        lines = _Lines(watcher.stdout)
        try:
            # The initial list shows the sentinel: from then on kubectl watches from the list's resourceVersion.
            lines.wait_for(lambda line: line == f"ADDED {sentinel}", "the sentinel in the initial list", 20)
            kubectl(sim, "apply", "-f", "-", stdin=labelled(target))
            lines.wait_for(lambda line: line == f"ADDED {target}", "an ADDED event for the new configmap", 20)
            kubectl(sim, "label", "configmap", target, "colour=green")
            lines.wait_for(lambda line: line == f"MODIFIED {target}", "a MODIFIED event", 20)
            kubectl(sim, "delete", "configmap", target)
            lines.wait_for(lambda line: line == f"DELETED {target}", "a DELETED event", 20)
            assert watcher.poll() is None, "kubectl get -w ended on its own"
        finally:
            watcher.kill()
            watcher.wait(timeout=10)
            lines.join()
    assert lines.seen == [f"ADDED {sentinel}", f"ADDED {target}", f"MODIFIED {target}", f"DELETED {target}"]


def test_kubectl_with_a_wrong_token_is_refused_as_unauthorized(sim: Sim) -> None:
    refused = kubectl(sim, "--token=wrong", "get", "configmaps", check=False)
    assert refused.returncode != 0
    assert "Unauthorized" in refused.stderr or "provide credentials" in refused.stderr, refused.stderr


def test_kubectl_auth_can_i_create_configmaps_answers_yes_for_the_admin_context(sim: Sim) -> None:
    for context in ("hub-a", "hub-b"):
        answer = kubectl(sim, "auth", "can-i", "create", "configmaps", context=context)
        assert answer.stdout.strip() == "yes"


def test_an_object_created_on_hub_a_is_not_on_hub_b(sim: Sim) -> None:
    name = unique("isolated")
    kubectl(sim, "create", "configmap", name, "--from-literal=hub=a", context="hub-a")
    missing = kubectl(sim, "get", "configmap", name, context="hub-b", check=False)
    assert missing.returncode == 1
    assert "NotFound" in missing.stderr
    assert name not in kubectl(sim, "get", "configmaps", "-A", "-o", "name", context="hub-b").stdout

    kubectl(sim, "create", "configmap", name, "--from-literal=hub=b", context="hub-b")
    on_a, on_b = get_json(sim, "configmap", name, context="hub-a"), get_json(sim, "configmap", name, context="hub-b")
    assert (on_a["data"], on_b["data"]) == ({"hub": "a"}, {"hub": "b"})
    assert on_a["metadata"]["uid"] != on_b["metadata"]["uid"]


def test_kubectl_server_side_apply_is_refused_because_the_emulator_does_not_implement_it(sim: Sim) -> None:
    """A documented limitation (docs/emulator.md): application/apply-patch+yaml answers 415."""
    name = unique("ssa")
    kubectl(sim, "apply", "-f", "-", stdin=deployment(name, image="nginx:1.26"))
    refused = kubectl(sim, "apply", "--server-side", "-f", "-", stdin=deployment(name, image="nginx:1.27"),
                      check=False)
    assert refused.returncode != 0
    assert "Server-side apply not available on the server" in refused.stderr
    assert get_json(sim, "deployment", name)["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


def test_kubectl_delete_with_server_dry_run_keeps_the_object(sim: Sim) -> None:
    name = unique("dry-delete")
    kubectl(sim, "create", "configmap", name)
    out = kubectl(sim, "delete", "configmap", name, "--dry-run=server").stdout
    assert out.strip() == f'configmap "{name}" deleted (server dry run)'
    assert kubectl(sim, "get", "configmap", name, check=False).returncode == 0


def test_kubectl_wait_for_established_succeeds_for_a_crd_created_with_kubectl(sim: Sim) -> None:
    group = f"{unique('g')}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}],
        },
    }
    kubectl(sim, "apply", "-f", "-", stdin=json.dumps(crd))
    try:
        kubectl(sim, "wait", f"crd/gadgets.{group}", "--for=condition=Established", "--timeout=3s")
    finally:
        kubectl(sim, "delete", "crd", f"gadgets.{group}", check=False)


# -- what everyday tools read: cluster-info, logs, pod and deployment columns, rollouts ---------

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BACKUP_NS = "open-cluster-management-backup"


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of a ``kubectl get`` table, keyed by its header (columns split on runs of 2+ spaces)."""
    header, *rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_kubectl_cluster_info_names_the_control_plane_and_the_cluster_services(sim: Sim) -> None:
    name = unique("dns")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": name, "namespace": "kube-system",
        "labels": {"kubernetes.io/cluster-service": "true", "kubernetes.io/name": name.upper()}},
        "spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}}
    kubectl(sim, "apply", "-f", "-", stdin=json.dumps(service))
    out = ANSI.sub("", kubectl(sim, "cluster-info").stdout)
    url = sim.urls["hub-a"]
    assert f"Kubernetes control plane is running at {url}\n" in out
    assert f"{name.upper()} is running at {url}/api/v1/namespaces/kube-system/services/{name}:dns/proxy" in out
    assert ANSI.sub("", kubectl(sim, "cluster-info", context="hub-b").stdout).startswith(
        f"Kubernetes control plane is running at {sim.urls['hub-b']}\n")


def test_kubectl_get_pods_shows_the_acm_operators_ready_and_running(sim: Sim) -> None:
    out = kubectl(sim, "get", "pods", "-n", "open-cluster-management").stdout
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = table_rows(out)
    assert {r["NAME"].rsplit("-", 2)[0] for r in rows} >= {"multiclusterhub-operator", "cluster-backup-operator"}
    assert {(r["READY"], r["STATUS"], r["RESTARTS"]) for r in rows} == {("1/1", "Running", "0")}


def test_kubectl_logs_of_deploy_velero_holds_its_backups_and_an_error_for_a_failed_restore(sim: Sim) -> None:
    name = unique("restore-missing")
    restore = {"apiVersion": "velero.io/v1", "kind": "Restore", "metadata": {"name": name, "namespace": BACKUP_NS},
               "spec": {"backupName": "no-such-backup"}}
    kubectl(sim, "apply", "-f", "-", stdin=json.dumps(restore))
    kubectl(sim, "wait", "-n", BACKUP_NS, f"restores.velero.io/{name}",
            "--for=jsonpath={.status.phase}=FailedValidation", "--timeout=20s")
    lines = kubectl(sim, "logs", "-n", BACKUP_NS, "deploy/velero").stdout.splitlines()
    assert all(line.startswith('time="') and " level=" in line and " msg=" in line for line in lines)
    assert any('msg="Server started successfully"' in line for line in lines)
    assert any('level=info msg="Backup completed"' in line and f"backup={BACKUP_NS}/acm-" in line for line in lines)
    errors = [line for line in lines if "level=error" in line and f"restore={BACKUP_NS}/{name} " in line + " "]
    assert len(errors) == 1
    assert "not found in the backup storage location" in errors[0]

    last = kubectl(sim, "logs", "-n", BACKUP_NS, "deploy/velero", "--tail=1").stdout.splitlines()
    assert last == lines[-1:]


def test_kubectl_rollout_restart_replaces_the_pods_and_rollout_status_waits_for_it(sim: Sim) -> None:
    name = unique("rollout")
    kubectl(sim, "apply", "-f", "-", stdin=deployment(name, replicas=2))
    first = kubectl(sim, "rollout", "status", f"deployment/{name}", "--timeout=30s").stdout
    assert first.splitlines()[-1] == f'deployment "{name}" successfully rolled out'
    before = set(kubectl(sim, "get", "pods", "-l", f"app={name}", "-o", "name").stdout.split())
    assert len(before) == 2

    restarted = kubectl(sim, "rollout", "restart", f"deployment/{name}").stdout
    assert restarted.strip() == f"deployment.apps/{name} restarted"
    status = kubectl(sim, "rollout", "status", f"deployment/{name}", "--timeout=30s").stdout.splitlines()
    assert status[-1] == f'deployment "{name}" successfully rolled out'
    waiting = (f'Waiting for deployment "{name}" rollout to finish: ', "Waiting for deployment spec update")
    assert all(line.startswith(waiting) for line in status[:-1]), status

    after = table_rows(kubectl(sim, "get", "pods", "-l", f"app={name}").stdout)
    assert len(after) == 2
    assert not {f"pod/{r['NAME']}" for r in after} & before
    assert {(r["READY"], r["STATUS"]) for r in after} == {("1/1", "Running")}
    (row,) = table_rows(kubectl(sim, "get", "deployment", name).stdout)
    assert (row["READY"], row["UP-TO-DATE"], row["AVAILABLE"]) == ("2/2", "2", "2")
    template = get_json(sim, "deployment", name)["spec"]["template"]["metadata"]
    assert "kubectl.kubernetes.io/restartedAt" in template["annotations"]
