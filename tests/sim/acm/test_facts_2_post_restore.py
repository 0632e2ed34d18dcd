"""acm-operator-facts §2 (post-restore activation) and §6 items 17 and 18, observed through the API."""

from __future__ import annotations

import base64

import pytest
from kubernetes_asyncio import client

from asyncswitch.sim.acm import SimulatedHubPair

from .resources import (
    BACKUPS,
    IMMEDIATE_IMPORT,
    MANAGED_CLUSTERS,
    MC_SCHEDULE,
    PASSIVE_RESTORE,
    RESTORES,
    VELERO_SCHEDULE_LABEL,
    Hub,
    connected,
    create,
    delete,
    fleet,
    merge_patch,
    restore_body,
    snap,
    until,
)
from .restore_support import (
    CLUSTERS,
    HIVE,
    MSA,
    activate,
    newest,
    put_backup,
    restore_ends,
    synced,
)
from .watching import Obj, PhaseLog, annotations_of, by_name, labels, name_of, phase

ADDON_NS = "open-cluster-management-addon-observability"
SIGNER = "observability-controller-open-cluster-management.io-observability-signer-client-cert"
OPTION_B = "restore-acm-passive-activate"


def messages(restore: Obj) -> list[str]:
    return list(restore["status"].get("messages") or [])


def decoded(secret: client.V1Secret) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


@pytest.mark.sim(acm_version="2.15")
async def test_activation_deletes_the_signer_cert_and_creates_the_marker_backup(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    await hub_b.core.create_namespaced_secret(ADDON_NS, client.V1Secret(
        metadata=client.V1ObjectMeta(name=SIGNER, namespace=ADDON_NS), data={"tls.crt": "eA=="}))
    mc_backup = newest(pair, "managedClusters").name
    before = await snap(hub_b, BACKUPS)
    restore = await activate(hub_b)
    assert phase(restore) == "Finished"
    secrets = await hub_b.core.list_namespaced_secret(ADDON_NS)
    assert SIGNER not in {s.metadata.name for s in secrets.items}
    backups = await until(hub_b, BACKUPS, lambda objs: any(name_of(o).startswith("acm-restore-clusters-")
                                                           for o in objs), after=before)
    (marker,) = [o for o in backups if name_of(o).startswith("acm-restore-clusters-")]
    assert len(name_of(marker)) == len("acm-restore-clusters-") + 14
    assert labels(marker) == {
        "cluster.open-cluster-management.io/restore-cluster": pair.hubs["hub-b"].cluster_id,
        "cluster.open-cluster-management.io/backup-cluster": pair.hubs["hub-a"].cluster_id,
        "cluster.open-cluster-management.io/acm-hub-dr": "true",
        "cluster.open-cluster-management.io/acm-restore-name": PASSIVE_RESTORE,
        "acm-managed-clusters-schedule": mc_backup,
    }
    assert "status" not in marker or not marker["status"]  # Velero's backup half runs it


@pytest.mark.sim(acm_version="2.15")
async def test_each_cluster_gets_an_auto_import_secret_or_a_message_saying_why_not(hub_b: Hub) -> None:
    restore = await activate(hub_b)
    assert phase(restore) == "Finished"
    assert messages(restore) == [
        f"No suitable MSA secret found for cluster ({c})" if c in HIVE else f"Created auto-import-secret for ({c})"
        for c in CLUSTERS]
    for cluster in MSA:
        secret = await hub_b.core.read_namespaced_secret("auto-import-secret", cluster)
        assert secret.type == "Opaque"
        assert secret.metadata.labels == {"cluster.open-cluster-management.io/restore-auto-import-secret": "true"}
        assert secret.metadata.annotations == {
            "managedcluster-import-controller.open-cluster-management.io/keeping-auto-import-secret": ""}
        data = decoded(secret)
        assert data["autoImportRetry"] == "5"
        assert data["server"] == f"https://api.{cluster}.sim.example.com:6443"
        msa = await hub_b.core.read_namespaced_secret("auto-import-account", cluster)
        assert data["token"] == decoded(msa)["token"]
        # The MSA secret came with the passive credentials restore.
        assert msa.metadata.labels["cluster.open-cluster-management.io/backup"] == "msa"
        assert msa.metadata.labels["velero.io/backup-name"].startswith("acm-credentials-schedule-")
    for cluster in HIVE:
        assert cluster not in {s.metadata.namespace for s in (
            await hub_b.core.list_secret_for_all_namespaces(field_selector="metadata.name=auto-import-secret")).items}


@pytest.mark.sim(acm_version="2.15")
async def test_6_17_already_available_clusters_are_skipped_and_never_make_the_restore_finish_with_errors(
    hub_b: Hub,
) -> None:
    assert phase(await activate(hub_b)) == "Finished"
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6 and all(map(connected, fleet(objs))))
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)
    await create(hub_b, RESTORES, restore_body(OPTION_B, credentials="skip", resources="skip"))
    again = await restore_ends(hub_b, OPTION_B)
    assert phase(again) == "Finished"
    assert again["status"]["lastMessage"] == "All Velero restores have run successfully"
    assert messages(again) == [f"managed cluster {c} already available" for c in CLUSTERS]


async def test_6_17_a_partially_failed_velero_restore_is_what_finishes_with_errors(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    empty = put_backup(pair, "managedClusters", 60, items=0)  # Velero restores an empty backup PartiallyFailed
    await synced(hub_b, empty)
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)
    await create(hub_b, RESTORES, restore_body(OPTION_B, credentials="skip", resources="skip"))
    ended = await restore_ends(hub_b, OPTION_B)
    assert (phase(ended), ended["status"]["lastMessage"]) == (
        "FinishedWithErrors", "Velero restores have run to completion but encountered 1+ errors")
    assert ended["status"]["veleroManagedClustersRestoreName"] == f"{OPTION_B}-{empty}"


@pytest.mark.sim(acm_version="2.15")
async def test_6_18_immediate_import_is_set_only_on_clusters_given_an_auto_import_secret(hub_b: Hub) -> None:
    before = await snap(hub_b, MANAGED_CLUSTERS)
    log = PhaseLog(lambda obj: annotations_of(obj).get(IMMEDIATE_IMPORT))
    restore = await activate(hub_b)
    assert phase(restore) == "Finished"
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: log.record(objs) and all(
        connected(o) for o in fleet(objs) if name_of(o) in MSA) and len(fleet(objs)) == 6, after=before)
    for cluster in MSA:  # set to "" by the operator, rewritten Completed by the import controller
        assert log.seen[cluster][-2:] == ["", "Completed"], cluster
    for cluster in HIVE:
        assert set(log.seen[cluster]) == {None}, cluster


@pytest.mark.sim(acm_version="2.15")
async def test_a_cluster_without_a_server_url_cannot_be_reimported(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub
) -> None:
    mc = f"{VELERO_SCHEDULE_LABEL}={MC_SCHEDULE}"
    before = await snap(hub_a, BACKUPS, label_selector=mc)
    await merge_patch(hub_a, MANAGED_CLUSTERS, "cluster-0003", {"spec": {"managedClusterClientConfigs": []}})
    await until(hub_a, BACKUPS, lambda objs: any(name_of(o) not in before.names() and phase(o) == "Completed"
                                                 for o in objs), after=before, label_selector=mc)
    restore = await activate(hub_b)
    assert "Cannot reimport cluster cluster-0003, no serverUrl property" in messages(restore)
    assert "Created auto-import-secret for (cluster-0003)" not in messages(restore)


@pytest.mark.sim(acm_version="2.14.2")
async def test_up_to_2_14_only_namespaces_holding_an_msa_secret_are_walked(hub_b: Hub) -> None:
    restore = await activate(hub_b)
    assert messages(restore) == [f"Created auto-import-secret for ({c})" for c in MSA]  # Hive clusters: silent
    by = by_name(await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6))
    assert all(IMMEDIATE_IMPORT not in annotations_of(by[c]) for c in HIVE)
