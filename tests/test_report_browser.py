"""``report.html`` rendered by headless Chromium: the page loads and its plots are laid out.

Chromium comes from the distribution's packages: when it is missing, the fixture installs
it with ``apt-get`` if that is possible here (root and apt-get available), and otherwise
skips with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fluxopt.batch import BatchResult
from test_batch_support import batch, two_month_instance

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _install_chromium() -> str:
    """Install Chromium from the distribution's packages, or skip saying why not."""
    if shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and apt-get is not available to install it")
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("Chromium is not installed and installing it with apt-get needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "chromium"],
            check=True,
            capture_output=True,
            timeout=1200,
            env=env,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"Chromium could not be installed from the distribution's packages: {exc}")
    found = _find_browser()
    if found is None:
        pytest.skip("apt-get installed chromium but no chromium executable is on the PATH")
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a headless-capable Chromium."""
    return _find_browser() or _install_chromium()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    base = tmp_path_factory.mktemp("browser")
    instance = two_month_instance(base / "tiny")
    return batch(instance, "2026-01", base / "run")


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_with_its_plots(chromium: str, report: BatchResult, tmp_path: Path) -> None:
    url = report.paths["report"].resolve().as_uri()
    done = _run(chromium, tmp_path / "profile", "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    expected = int(re.search(r'data-plots-expected="(\d+)"', dom).group(1))  # type: ignore[union-attr]
    rendered = re.search(r'data-plots-rendered="(\d+)"', dom)
    assert expected > 0
    assert rendered is not None, "the page's script did not run"
    assert int(rendered.group(1)) == expected
    assert f"{expected} of {expected} plots rendered" in dom
    assert dom.count('class="plot line-chart flux-trajectory"') > 0
    assert dom.count('class="plot bar-chart"') > 0


def test_report_screenshot_is_written(chromium: str, report: BatchResult, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    url = report.paths["report"].resolve().as_uri()
    done = _run(
        chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1800", url
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000
