"""The ``kubectl get`` columns a real API server prints for built-in types (pods, deployments, services).

Column names, types and priorities follow kube-apiserver's printers (pkg/printers/internalversion);
priority 1 columns are the ones ``kubectl get -o wide`` adds. Types without a printer here get
Name, their ``printer_columns`` and Age (see tables.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Printer", "age", "builtin_printer"]

_NONE = "<none>"


@dataclass(frozen=True)
class Printer:
    """Columns after Name as (name, type, priority, description), and the cells of one object after its name."""

    columns: tuple[tuple[str, str, int, str], ...]
    cells: Callable[[dict[str, Any], datetime], list[Any]]


def age(timestamp: str | None, now: datetime) -> str:
    """How long ago, as kubectl prints it (apimachinery's duration.HumanDuration)."""
    if not timestamp:
        return "<unknown>"
    created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((now - created).total_seconds())
    if seconds < -1:
        return "<invalid>"
    seconds = max(0, seconds)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // (24 * 365)}y{days}d" if days else f"{hours // (24 * 365)}y"
    return f"{hours // (24 * 365)}y"


# -- pods --------------------------------------------------------------------------------


def pod_status(pod: dict[str, Any]) -> str:
    """The STATUS column: the phase, refined by container states and deletion, as kubectl shows it."""
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    running = False
    for container in reversed(status.get("containerStatuses") or []):
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            terminated = state["terminated"] or {}
            reason = terminated.get("reason") or (
                f"Signal:{terminated['signal']}" if terminated.get("signal")
                else f"ExitCode:{terminated.get('exitCode', 0)}")
        elif "running" in state and container.get("ready"):
            running = True
    if reason == "Completed" and running:
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        reason = "Running" if ready else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_cells(pod: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    gates = spec.get("readinessGates") or []
    return [
        f"{ready}/{len(spec.get('containers') or [])}",
        pod_status(pod),
        str(restarts),
        age(pod["metadata"].get("creationTimestamp"), now),
        status.get("podIP") or _NONE,
        spec.get("nodeName") or _NONE,
        status.get("nominatedNodeName") or _NONE,
        _NONE if not gates else f"0/{len(gates)}",
    ]


# -- deployments -------------------------------------------------------------------------


def _template_cells(obj: dict[str, Any]) -> list[str]:
    containers = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    return [",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers)]


def _selector(obj: dict[str, Any]) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    terms = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    terms += [f"{e.get('key')} {str(e.get('operator', '')).lower()} ({','.join(e.get('values') or [])})"
              for e in selector.get("matchExpressions") or []]
    return ",".join(terms) or _NONE


def _deployment_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        age(obj["metadata"].get("creationTimestamp"), now),
        *_template_cells(obj),
        _selector(obj),
    ]


def _statefulset_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}",
            age(obj["metadata"].get("creationTimestamp"), now), *_template_cells(obj)]


# -- services ----------------------------------------------------------------------------


def _service_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        external += [i.get("ip") or i.get("hostname") for i in ingress]
        external_text = ",".join(external) if external else "<pending>"
    elif kind == "ExternalName":
        external_text = spec.get("externalName") or _NONE
    else:
        external_text = ",".join(external) if external else _NONE
    ports = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}/{port.get('protocol', 'TCP')}"
        if port.get("nodePort"):
            text = f"{port.get('port')}:{port['nodePort']}/{port.get('protocol', 'TCP')}"
        ports.append(text)
    selector = spec.get("selector") or {}
    return [kind, spec.get("clusterIP") or _NONE, external_text, ",".join(ports) or _NONE,
            age(obj["metadata"].get("creationTimestamp"), now),
            ",".join(f"{k}={v}" for k, v in selector.items()) or _NONE]


_AGE = ("Age", "string", 0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.")
_CONTAINERS = ("Containers", "string", 1, "Names of each container in the template.")
_IMAGES = ("Images", "string", 1, "Images referenced by each container in the template.")

_PRINTERS: dict[str, Printer] = {
    "pods": Printer((
        ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
        ("Status", "string", 0, "The aggregate status of the containers in this pod."),
        ("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when "
                                  "the last container in this pod has restarted."),
        _AGE,
        ("IP", "string", 1, "podIP address allocated to the pod."),
        ("Node", "string", 1, "NodeName is a request to schedule this pod onto a specific node."),
        ("Nominated Node", "string", 1, "nominatedNodeName is set only when this pod preempts other pods."),
        ("Readiness Gates", "string", 1, "If specified, all readiness gates will be evaluated for pod readiness."),
    ), _pod_cells),
    "deployments.apps": Printer((
        ("Ready", "string", 0, "Number of the pod with ready state"),
        ("Up-to-date", "string", 0, "Total number of non-terminating pods targeted by this deployment that have "
                                    "the desired template spec."),
        ("Available", "string", 0, "Total number of available non-terminating pods (ready for at least "
                                   "minReadySeconds) targeted by this deployment."),
        _AGE, _CONTAINERS, _IMAGES,
        ("Selector", "string", 1, "Label selector for pods."),
    ), _deployment_cells),
    "statefulsets.apps": Printer((
        ("Ready", "string", 0, "Number of the pod with ready state"), _AGE, _CONTAINERS, _IMAGES,
    ), _statefulset_cells),
    "services": Printer((
        ("Type", "string", 0, "type determines how the Service is exposed."),
        ("Cluster-IP", "string", 0, "clusterIP is the IP address of the service."),
        ("External-IP", "string", 0, "externalIPs is a list of IP addresses for which nodes in the cluster will "
                                     "also accept traffic for this service."),
        ("Port(s)", "string", 0, "The list of ports that are exposed by this service."),
        _AGE,
        ("Selector", "string", 1, "Route service traffic to pods with label keys and values matching this "
                                  "selector."),
    ), _service_cells),
}


def builtin_printer(key: str) -> Printer | None:
    """The printer for a built-in type's store key (``pods``, ``deployments.apps``, …), if it has one."""
    return _PRINTERS.get(key)
