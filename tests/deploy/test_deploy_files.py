"""deploy/ as a user applies it: the generated RBAC is current, `rbac` narrows and refuses as documented,
and the real kubectl applies the kustomization to `python -m asyncswitch sim`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asyncswitch.rbac import RbacRequest, every_option, rbac_documents, rbac_header, render

from ..sim.test_kubectl import KUBECTL, Sim, get_json, kubectl, sim  # noqa: F401 (sim is a fixture)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def rbac_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asyncswitch", "rbac", *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT)


@pytest.mark.parametrize(("path", "read_only"), [("rbac/rbac.yaml", False),
                                                 ("rbac-read-only/rbac-read-only.yaml", True)])
def test_the_checked_in_rbac_is_what_the_tables_generate_today(path: str, read_only: bool) -> None:
    request = RbacRequest(every_option(), read_only=read_only,
                          name="asyncswitch-read-only" if read_only else "asyncswitch")
    current = render(rbac_documents(request), header=rbac_header(read_only))
    assert (DEPLOY / path).read_text() == current, f"deploy/{path} is stale: run scripts/generate-rbac"


def test_the_rbac_command_prints_the_checked_in_role() -> None:
    printed = rbac_cli()
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == (DEPLOY / "rbac/rbac.yaml").read_text()


def test_the_read_only_role_only_reads_and_a_narrower_run_asks_for_less() -> None:
    read_only = list(yaml.safe_load_all(rbac_cli("--read-only").stdout))
    verbs = {v for doc in read_only for rule in doc.get("rules", ()) for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}

    def grants(docs: list[dict[str, object]]) -> set[tuple[str, str, str]]:
        return {(str(doc["metadata"].get("namespace")), r, v)  # type: ignore[union-attr]
                for doc in docs for rule in doc.get("rules", ()) for r in rule["resources"]  # type: ignore[attr-defined]
                for v in rule["verbs"]}

    everything = grants(list(yaml.safe_load_all(rbac_cli().stdout)))
    kept = grants(list(yaml.safe_load_all(rbac_cli("--old-hub-action", "secondary").stdout)))
    assert kept < everything
    assert ("open-cluster-management", "multiclusterhubs", "delete") in everything - kept  # decommission only


@pytest.mark.parametrize("args", [("--service-account", "nobody"), ("--service-account", "a/b/c"),
                                  ("--method", "full", "--activation-method", "restore"), ("--method", "sideways"),
                                  ("--fault-injection", "--read-only")])
def test_a_wrong_rbac_request_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    refused = rbac_cli(*args)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1 or "usage:" in refused.stderr, refused.stderr


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_kubectl_apply_k_deploy_creates_the_jobs_and_the_rbac_whose_token_is_held_to_it(sim: Sim) -> None:  # noqa: F811
    applied = kubectl(sim, "apply", "-k", str(DEPLOY)).stdout
    for created in ("namespace/asyncswitch", "serviceaccount/asyncswitch", "serviceaccount/asyncswitch-runner",
                    "clusterrole.rbac.authorization.k8s.io/asyncswitch",
                    "clusterrolebinding.rbac.authorization.k8s.io/asyncswitch",
                    "role.rbac.authorization.k8s.io/asyncswitch", "rolebinding.rbac.authorization.k8s.io/asyncswitch",
                    "persistentvolumeclaim/asyncswitch-results", "job.batch/asyncswitch-run",
                    "cronjob.batch/asyncswitch-nightly"):
        assert f"{created} created" in applied or f"{created} unchanged" in applied, applied
    generated = {doc["kind"]: doc for doc in yaml.safe_load_all((DEPLOY / "rbac/rbac.yaml").read_text())}
    assert get_json(sim, "clusterrole", "asyncswitch")["rules"] == generated["ClusterRole"]["rules"]
    assert len(get_json(sim, "roles", "-A")["items"]) == sum(
        1 for doc in yaml.safe_load_all((DEPLOY / "rbac/rbac.yaml").read_text()) if doc["kind"] == "Role")
    job = get_json(sim, "job", "asyncswitch-run", "-n", "asyncswitch")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"][0] == "run"

    # docs/operations.md: a token for the ServiceAccount, then everything it does is held to the role.
    token = kubectl(sim, "-n", "asyncswitch", "create", "token", "asyncswitch").stdout.strip()
    assert kubectl(sim, "--token", token, "auth", "can-i", "patch", "managedclusters").stdout.strip() == "yes"
    assert kubectl(sim, "--token", token, "auth", "can-i", "delete", "secrets", "-n", "default",
                   check=False).stdout.strip() == "no"
    refused = kubectl(sim, "--token", token, "get", "secrets", "-A", check=False)
    assert refused.returncode != 0
    assert ('User "system:serviceaccount:asyncswitch:asyncswitch" cannot list resource "secrets" in API group "" '
            'at the cluster scope') in refused.stderr
    assert kubectl(sim, "--token", token, "get", "managedclusters", "-o", "name").stdout.strip()


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_a_run_drives_both_hubs_with_the_kubeconfig_operations_md_builds(sim: Sim, tmp_path: Path) -> None:  # noqa: F811
    """docs/operations.md, steps 3 and 4: deploy/hub on each hub, scripts/hub-kubeconfig, then a run."""
    for context in ("hub-a", "hub-b"):
        kubectl(sim, "apply", "-k", str(DEPLOY / "hub"), context=context)
    out = tmp_path / "asyncswitch.kubeconfig"
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig)}
    built = subprocess.run([str(ROOT / "scripts/hub-kubeconfig"), str(out), "hub-a", "hub-b"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert built.returncode == 0, built.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    users = yaml.safe_load(out.read_text())["users"]
    assert len(users) == 2
    assert all(user["user"]["token"] for user in users)

    run = subprocess.run([sys.executable, "-m", "asyncswitch", "run", "--kubeconfig", str(out), "--primary-context",
                          "hub-a", "--secondary-context", "hub-b", "--cycles", "1", "--no-progress",
                          "--compactor-watch", "1", "--output-dir", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1/1" in run.stdout or "cycle-0001" in run.stdout, run.stdout[-2000:]
