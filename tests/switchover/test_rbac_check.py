"""Preflight's RBAC check asks each hub exactly what the chosen method and old-hub action will do there:
every verb on every resource, in the namespace it will be done in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import Hub
from asyncswitch.sim import server as sim_server
from asyncswitch.sim.acm import SimulatedHubPair

from .support import ACM_NS, BACKUP_NS, options, pipeline_mutations, switch

pytestmark = pytest.mark.pair(clusters=2, profile="fast", speed=400)

Question = tuple[str, str, str, str | None]
"""(hub, verb, resource.group, namespace)"""

CLUSTER_WIDE = {"managedclusters", "multiclusterobservabilities", "namespaces", "clusterversions",
                "customresourcedefinitions", "clusterdeployments", "applications"}
"""Cluster-scoped resources, and ClusterDeployments and Argo CD Applications (listed across all namespaces)."""


class Policy:
    """The hubs' RBAC as the test sets it: everything allowed but ``denied``; every question recorded."""

    def __init__(self, denied: set[Question]) -> None:
        self.denied = denied
        self.asked: list[Question] = []

    def review(self, body: dict[str, Any], principal: Any) -> dict[str, Any]:
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        hub = str(principal.user).rsplit(":", 1)[-1]
        resource = f"{attrs.get('resource')}.{attrs.get('group')}" if attrs.get("group") else attrs.get("resource")
        question = (hub, str(attrs.get("verb")), str(resource), attrs.get("namespace"))
        self.asked.append(question)
        allowed = question not in self.denied
        return {**body, "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "status": {"allowed": allowed, **({} if allowed else {"reason": "denied by the test's policy"})}}


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> Policy:
    denied: set[Question] = set()
    found = Policy(denied)
    monkeypatch.setattr(sim_server, "_access_review", found.review)
    return found


async def test_a_decommission_the_old_hubs_rbac_would_refuse_is_refused_in_preflight(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path, policy: Policy,
) -> None:
    policy.denied.add(("hub-a", "delete", "multiclusterhubs.operator.open-cluster-management.io", ACM_NS))

    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(action="decommission"))

    assert [(r.phase, r.outcome) for r in report.results] == [("preflight", "failed")]
    assert report.error is not None
    assert "RBAC (primary)" in report.error
    assert f"delete multiclusterhubs.operator.open-cluster-management.io in {ACM_NS}" in report.error
    assert pipeline_mutations(pair.hub_a) == pipeline_mutations(pair.hub_b) == []


async def test_each_question_names_its_namespace_and_only_what_the_run_will_do_is_asked(
    hubs: dict[str, Hub], tmp_path: Path, policy: Policy,
) -> None:
    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(validate_only=True))

    assert report.success, report.error
    asked = set(policy.asked)
    assert [q for q in asked if q[3] is None and q[2].split(".")[0] not in CLUSTER_WIDE] == []
    assert ("hub-a", "patch", "backupschedules.cluster.open-cluster-management.io", BACKUP_NS) in asked
    assert ("hub-b", "patch", "restores.cluster.open-cluster-management.io", BACKUP_NS) in asked
    assert ("hub-b", "create", "backupschedules.cluster.open-cluster-management.io", BACKUP_NS) in asked
    assert ("hub-a", "create", "restores.cluster.open-cluster-management.io", BACKUP_NS) in asked  # old hub passive
    # ACM 2.14 pauses the schedule, so it is not deleted; not decommissioning: no MultiClusterHub deletion.
    assert ("hub-a", "delete", "backupschedules.cluster.open-cluster-management.io", BACKUP_NS) not in asked
    assert not any(q[1] == "delete" and q[2].startswith("multiclusterhubs.") for q in asked)


@pytest.mark.pair(clusters=2, profile="fast", speed=400, acm_version="2.11.3")
async def test_on_2_11_the_old_hub_is_asked_to_delete_its_schedule_not_to_patch_it(
    hubs: dict[str, Hub], tmp_path: Path, policy: Policy,
) -> None:
    policy.denied.add(("hub-a", "delete", "backupschedules.cluster.open-cluster-management.io", BACKUP_NS))

    # A real switchover: under --validate-only a refused write is a warning, not a failure.
    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options())

    assert report.error is not None
    assert f"delete backupschedules.cluster.open-cluster-management.io in {BACKUP_NS}" in report.error
    assert ("hub-a", "patch", "backupschedules.cluster.open-cluster-management.io", BACKUP_NS) not in policy.asked
