"""The report in a real headless Chromium: no console errors, the Kaplan-Meier figure on screen, a phone, a PDF.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages ending in NUL on
file descriptors 3 and 4), so no driver package is needed. Set TRIAL_SCREENSHOT_OUT to keep the screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports.pdf import CHROMIUM_FLAGS, find_chromium
from reports.plots import ARM_COLOURS
from tests.test_report_support import ROSSI_AS_OF, run, write_rossi

CHROMIUM = find_chromium()
NO_CHROMIUM = "chromium is not on PATH (Debian: apt-get install chromium)"
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
pytestmark = pytest.mark.browser


class Browser:
    """A headless Chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="trial-browser-test-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: the pipe ends become fds 3 (commands in) and 4 (replies out)
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        command = [
            str(CHROMIUM),
            *CHROMIUM_FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            command,
            # The dup2'ed fds 3 and 4 must survive into Chromium; our other fds are non-inheritable anyway.
            close_fds=False,
            preexec_fn=wire,  # the test process runs no threads, so preexec_fn is safe here
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HOME": self.profile},
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 60) -> dict[str, Any]:
        """Send a command to the page's session (or the browser before attaching) and wait for its reply."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read(timeout)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open(self, url: str, width: int, height: int, mobile: bool = False) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors seen since the page was opened."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args", []))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", "")[:300])
        return found

    def screenshot(self, selector: str) -> bytes:
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();"
            " return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; })()"
        )
        assert box["width"] > 100 and box["height"] > 100, box
        clip = {**box, "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        return base64.b64decode(data["data"])

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def rossi_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("browser")
    paths = write_rossi(folder)
    source = ["--protocol", str(paths["protocol"]), "--allocations", str(paths["allocations"])]
    source += ["--outcomes", str(paths["spells"]), "--as-of", ROSSI_AS_OF, "--seed", "7"]
    page = folder / "report.html"
    run("report", *source, "--out", str(page), "--lang", "en")
    return page, source


@pytest.fixture()
def browser() -> Any:
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    instance = Browser()
    yield instance
    instance.close()


def _pixels_of(image: np.ndarray, colour: str, tolerance: float = 12 / 255) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image[..., :3] - rgb).max(axis=-1) < tolerance).sum())


@needs_chromium
def test_the_browser_sees_console_errors(browser: Browser, tmp_path: Path) -> None:
    """The check below can fail: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!doctype html><title>x</title><script>console.error('boom')</script>", encoding="utf-8")
    browser.open(page.as_uri(), 800, 600)
    assert browser.errors()


@needs_chromium
def test_report_loads_without_errors_and_shows_the_km_figure(
    browser: Browser, rossi_report: tuple[Path, list[str]], tmp_path: Path
) -> None:
    import matplotlib.image

    page, _ = rossi_report
    browser.open(page.as_uri(), 1200, 900)
    assert browser.errors() == []
    assert browser.evaluate("document.title").startswith("Six-month report")
    png = browser.screenshot("#km")
    (tmp_path / "km.png").write_bytes(png)
    keep = os.environ.get("TRIAL_SCREENSHOT_OUT")
    if keep:
        Path(keep).write_bytes(png)
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[1] > 600
    # Both arms' step lines are drawn in their colours in the captured figure.
    for colour in ARM_COLOURS:
        assert _pixels_of(image, colour) > 200, colour


@needs_chromium
def test_report_fits_a_phone(browser: Browser, rossi_report: tuple[Path, list[str]]) -> None:
    page, _ = rossi_report
    browser.open(page.as_uri(), 390, 844, mobile=True)
    assert browser.errors() == []
    # No sideways scrolling of the page: wide tables scroll inside their own box.
    assert browser.evaluate("document.documentElement.scrollWidth") <= 390
    assert browser.evaluate("document.querySelector('figure[data-figure=km] svg').getBoundingClientRect().width") <= 390


@needs_chromium
def test_pdf_is_a4(rossi_report: tuple[Path, list[str]], tmp_path: Path) -> None:
    _, source = rossi_report
    pdf = tmp_path / "report.pdf"
    run("report", *source, "--out", str(tmp_path / "r.html"), "--pdf", str(pdf))
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(boxes) >= 2
    width, height = float(boxes[0][0]), float(boxes[0][1])
    assert abs(width - 595) < 2 and abs(height - 842) < 2, "A4 is 595 x 842 points"


def test_pdf_without_chromium_is_one_clear_line(rossi_report: tuple[Path, list[str]], tmp_path: Path) -> None:
    _, source = rossi_report
    result = run(
        "report", *source, "--out", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf"),
        env={"PATH": str(tmp_path)}, expect=2,
    )
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Chromium" in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "r.pdf").exists()
