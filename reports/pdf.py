"""Print the HTML report to PDF with headless Chromium, whose print CSS gives A4 pages."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from trial.errors import TrialError

# Headless and quiet: no sandbox (CI runs as root), no GPU, and none of the background traffic that a closed
# network refuses at every start.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    """The headless browser used for PDF: Debian's `chromium`, or a Chrome under one of its usual names."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120) -> None:
    """Print the HTML report to an A4 PDF with headless Chromium (its print CSS applies)."""
    browser = find_chromium()
    if browser is None:
        raise TrialError("--pdf needs Chromium, which is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="trial-chromium-") as profile:
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_path.resolve()}",
            html_path.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired:
            raise TrialError(f"--pdf: Chromium did not finish printing within {timeout:.0f} s") from None
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
        raise TrialError(f"--pdf: Chromium could not print the report ({last})")
