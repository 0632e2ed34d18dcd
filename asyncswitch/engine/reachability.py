"""A hub's first answer, within a bound: it answers, accepts our credentials and serves ACM.

Asked at the start of a run (a refusal there is the user's to fix: one line, exit 2) and at the
start of every cycle (a hub that stopped answering fails that cycle within the bound, and the run
goes on under its soak controls, --max-failures and the rest).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import aiohttp

from ..kube import ACM_RESTORES, MANAGED_CLUSTERS, Hub, HubApiError, HubUnreachableError, NotFoundError
from ..switchover.names import BACKUP_NAMESPACE

__all__ = ["HubNotAnswering", "HubRefused", "first_answer", "first_answers"]


class HubNotAnswering(Exception):
    """The hub gave no usable answer within the bound (it may come back: the cycle fails, the run goes on)."""


class HubRefused(Exception):
    """The hub answered, and the answer will not change by waiting: credentials, TLS, or no ACM."""


async def first_answer(hub: Hub, *, timeout: float) -> None:  # noqa: ASYNC109 -- the documented bound
    """Connect and list each kind the monitors watch first, within ``timeout`` seconds in all."""
    try:
        async with asyncio.timeout(timeout):
            for resource, namespace in ((MANAGED_CLUSTERS, None), (ACM_RESTORES, BACKUP_NAMESPACE)):
                await hub.list_strict(resource, namespace=namespace, limit=1)
    except TimeoutError:
        raise HubNotAnswering(f"{hub.name} did not answer within {timeout:g} s "
                              "(connect and first list; --hub-answer-timeout)") from None
    except NotFoundError as exc:
        raise HubRefused(f"ACM is not installed on {hub.name}: it does not serve {exc.resource}") from None
    except HubUnreachableError as exc:
        if isinstance(exc.__cause__, aiohttp.ClientSSLError):
            raise HubRefused(f"{hub.name}: TLS failed ({type(exc.__cause__).__name__}): check the cluster's "
                             f"certificate-authority for context {hub.context!r} in the kubeconfig") from None
        raise HubNotAnswering(f"{hub.name} did not answer: {exc.message}") from None
    except HubApiError as exc:
        if exc.status == 401:
            raise HubRefused(f"{hub.name} refused our credentials ({exc.status} {exc.reason}): check the user of "
                             f"context {hub.context!r} in the kubeconfig") from None
        if exc.status == 403:  # known to the hub, not allowed this: a missing RBAC grant (deploy/hub has them all)
            raise HubRefused(f"{hub.name} denies {exc.verb} {exc.resource}"
                             f"{f' in {exc.namespace}' if exc.namespace else ''}: {exc.message}") from None
        raise HubNotAnswering(f"{hub.name} failed its first list: {exc.status} {exc.reason}") from None


async def first_answers(hubs: Iterable[Hub], *, timeout: float) -> None:  # noqa: ASYNC109
    """:func:`first_answer` of each hub, side by side; the first hub's problem is raised (a refusal first)."""
    hubs = list(hubs)
    results = await asyncio.gather(*(first_answer(hub, timeout=timeout) for hub in hubs), return_exceptions=True)
    problems = [r for r in results if isinstance(r, BaseException)]
    for problem in sorted(problems, key=lambda p: not isinstance(p, HubRefused)):
        raise problem
