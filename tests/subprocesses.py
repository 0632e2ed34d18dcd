"""``python -m asyncswitch`` as a child process of a test, shared by the CLI-level suites."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Finished", "WhileRunning", "run_asyncswitch", "stop_child"]

WhileRunning = Callable[[asyncio.subprocess.Process], Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def run_asyncswitch(cwd: Path, *args: str, timeout: float,  # noqa: ASYNC109 -- the child's deadline
                          while_running: WhileRunning | None = None,
                          on_start: Callable[[asyncio.subprocess.Process], None] | None = None) -> Finished:
    """Run it in ``cwd`` (without the caller's KUBECONFIG); killed if it outlives the deadline or the test."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncswitch", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    if on_start is not None:
        on_start(process)
    try:
        async with asyncio.timeout(timeout), asyncio.TaskGroup() as tg:
            output = tg.create_task(process.communicate())
            if while_running is not None:
                tg.create_task(while_running(process))
        out, err = output.result()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


def stop_child(process: subprocess.Popen[Any], *, timeout: float) -> int | None:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL: the exit code, or None if it had to be killed."""
    process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
