"""A page opened in a real headless Chromium (Debian's ``chromium``), driven over the Chrome DevTools
protocol through a websocket (websocket-client): what the page logged to its console, what a script
finds in its DOM, and a screenshot.

The browser starts with a fresh profile and every network feature off (the machine has no network,
and a report must need none).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websocket

from ..subprocesses import stop_child

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--remote-debugging-port=0", "--window-size=1280,1000")
STARTUP_SECONDS = 30.0
"""How long Chromium may take to open its DevTools port on a loaded 2-core machine."""


def chromium_or_skip() -> str:
    """The chromium binary; a test without it is skipped locally, but fails under CI (CI=true), where
    scripts/check installs it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser tests (scripts/check installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/check does it under CI)")
    return found


@dataclass
class Page:
    """One tab of the browser, over its DevTools websocket."""

    socket: websocket.WebSocket
    console: list[dict[str, Any]] = field(default_factory=list)
    """Console messages, uncaught exceptions and browser log entries, as the protocol sent them."""
    _next_id: int = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self.socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            self.console.append({"level": params.get("type"), "text": " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))})
        elif method == "Runtime.exceptionThrown":
            self.console.append({"level": "error", "text": str(params.get("exceptionDetails"))})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append({"level": entry.get("level"), "text": entry.get("text"), "url": entry.get("url")})

    def open(self, path: Path) -> None:
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Page.navigate", url=path.resolve().as_uri())
        while True:  # until the load event: every message before it is an event to keep
            message = json.loads(self.socket.recv())
            if message.get("method") == "Page.loadEventFired":
                break
            self._event(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[dict[str, Any]]:
        return [entry for entry in self.console if entry.get("level") in ("error", "assert", "warning")]

    def screenshot(self, path: Path, *, height: int | None = None, scale: float = 1.0) -> None:
        """A PNG of the whole page, or of its top ``height`` pixels, ``scale`` times its size."""
        width, page_height = self.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        height = page_height if height is None else min(height, page_height)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": scale})
        path.write_bytes(base64.b64decode(shot["data"]))


def _devtools_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """The page's websocket URL, once Chromium wrote its DevTools port into the profile."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_SECONDS
    while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} before opening its DevTools port")
        if time.monotonic() > deadline:
            raise RuntimeError(f"chromium opened no DevTools port in {STARTUP_SECONDS:g} s")
        time.sleep(0.05)
    port = port_file.read_text().splitlines()[0]
    browser = websocket.create_connection(f"ws://127.0.0.1:{port}{port_file.read_text().splitlines()[1]}",
                                          timeout=STARTUP_SECONDS)
    try:
        browser.send(json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}}))
        while (message := json.loads(browser.recv())).get("id") != 1:
            pass
        target = message["result"]["targetId"]
    finally:
        browser.close()
    return f"ws://127.0.0.1:{port}/devtools/page/{target}"


@contextmanager
def chromium_page(binary: str) -> Iterator[Page]:
    """A blank tab of a fresh headless Chromium, closed (and the browser ended) on the way out."""
    with tempfile.TemporaryDirectory(prefix="asyncswitch-chromium-") as profile:
        process = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            socket = websocket.create_connection(_devtools_url(Path(profile), process), timeout=60,
                                                 suppress_origin=True)
            try:
                yield Page(socket)
            finally:
                socket.close()
        finally:
            stop_child(process, timeout=10)
