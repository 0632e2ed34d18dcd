"""``kubectl logs deploy/velero`` on a simulated hub: Velero's logrus lines for the backups and restores
the hub holds, with errors for the jobs that failed, so a scan of the log finds what a user would."""

from __future__ import annotations

import re

from asyncswitch.sim.acm import SimulatedHubPair

from .resources import BACKUP_NS, BACKUPS, VELERO_RESTORES, Hub, create, until
from .watching import Obj, name_of, phase

LINE = re.compile(r'^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=(info|error) msg="[^"]*"( [A-Za-z]+=\S+)*')


async def velero_log(hub: Hub) -> list[str]:
    pods = await hub.core.list_namespaced_pod(BACKUP_NS, label_selector="app.kubernetes.io/name=velero")
    (pod,) = [p for p in pods.items if p.status.phase == "Running"]
    text: str = await hub.core.read_namespaced_pod_log(pod.metadata.name, BACKUP_NS, container="velero")
    return text.splitlines()


def about(lines: list[str], key: str, name: str) -> list[str]:
    return [line for line in lines if f"{key}={BACKUP_NS}/{name} " in line + " "]


async def test_the_velero_log_is_logfmt_with_a_completed_line_for_each_backup_the_hub_took(hub_a: Hub) -> None:
    backups = await until(hub_a, BACKUPS, lambda objs: any(phase(o) == "Completed" for o in objs))
    lines = await velero_log(hub_a)
    assert all(LINE.match(line) for line in lines), [line for line in lines if not LINE.match(line)]
    assert 'msg="Server started successfully"' in lines[6]
    for backup in (b for b in backups if phase(b) == "Completed"):
        mine = about(lines, "backup", name_of(backup))
        assert any('level=info msg="Backup completed"' in line for line in mine), mine
        assert all('logSource="pkg/' in line for line in mine)
    assert not any("level=error" in line for line in lines)


async def test_hub_b_logs_the_backups_it_synced_from_storage_and_the_restores_it_ran(hub_b: Hub) -> None:
    restores = await until(hub_b, VELERO_RESTORES, lambda objs: any(phase(o) == "Completed" for o in objs))
    lines = await velero_log(hub_b)
    assert any('msg="Attempting to sync backup into cluster"' in line and "controller=backup-sync" in line
               for line in lines)
    done = next(r for r in restores if phase(r) == "Completed")
    mine = about(lines, "restore", name_of(done))
    messages = [line.split(' msg="', 1)[1].split('"', 1)[0] for line in mine]
    backup = f"{BACKUP_NS}/{done['spec']['backupName']}"
    assert messages == ["restore request received", f"Starting restore of backup {backup}", messages[2],
                        "restore completed"]
    assert messages[2].startswith("Restored ")


async def test_a_restore_of_a_missing_backup_logs_an_error_with_its_validation_error(hub_b: Hub) -> None:
    await create(hub_b, VELERO_RESTORES, {"apiVersion": "velero.io/v1", "kind": "Restore",
                                          "metadata": {"name": "from-nowhere", "namespace": BACKUP_NS},
                                          "spec": {"backupName": "no-such-backup"}})

    def failed(objs: list[Obj]) -> bool:
        return any(name_of(o) == "from-nowhere" and phase(o) == "FailedValidation" for o in objs)

    await until(hub_b, VELERO_RESTORES, failed)
    errors = [line for line in about(await velero_log(hub_b), "restore", "from-nowhere") if "level=error" in line]
    assert len(errors) == 1
    assert 'msg="Restore failed validation"' in errors[0]
    assert "error=\"backup 'no-such-backup' not found in the backup storage location\"" in errors[0]


async def test_a_backup_that_failed_on_unreachable_storage_logs_backup_failed_with_the_reason(
    pair: SimulatedHubPair, hub_a: Hub
) -> None:
    pair.set_storage_available(False)
    backups = await until(hub_a, BACKUPS, lambda objs: any(phase(o) == "Failed" for o in objs))
    victim = next(b for b in backups if phase(b) == "Failed")
    errors = [line for line in about(await velero_log(hub_a), "backup", name_of(victim)) if "level=error" in line]
    assert errors == [next(line for line in errors if 'msg="backup failed"' in line)]
    assert 'error="backup storage location default is unavailable"' in errors[0]
