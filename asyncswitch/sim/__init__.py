"""The embedded simulated hub pair: emulated Kubernetes API servers on loopback.

Nothing in the engine's layers imports this package; the command line and the test
fixtures wire it in.
"""

from .errors import ApiError
from .faults import FaultRule, FaultTable, RequestLog, RequestRecord
from .hubs import EmulatedHubPair
from .kubeconfig import kubeconfig_for, write_kubeconfig
from .podlogs import LogLine, LogSource, PodLogs
from .resources import ResourceRegistry, ResourceType
from .server import ApiServer
from .store import Store, StoredObject, Watch

__all__ = [
    "ApiError",
    "ApiServer",
    "EmulatedHubPair",
    "FaultRule",
    "FaultTable",
    "LogLine",
    "LogSource",
    "PodLogs",
    "RequestLog",
    "RequestRecord",
    "ResourceRegistry",
    "ResourceType",
    "Store",
    "StoredObject",
    "Watch",
    "kubeconfig_for",
    "write_kubeconfig",
]
