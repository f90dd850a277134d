"""The report in a real browser: headless Chromium opens the file, every chart draws, and the
page writes nothing to the console (no error, no warning, no uncaught exception)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--enable-logging=stderr",
                  "--v=0", "--virtual-time-budget=15000", "--dump-dom"]
# Chromium logs each console message of a page as `INFO:CONSOLE(line)] "text", source: url (line)`.
CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*\"(?P<text>.*)\", source: (?P<source>\S*)")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")


def open_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after the page loaded and its console messages."""
    done = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [match.group("text") for match in CONSOLE.finditer(done.stderr)]


def test_the_console_check_sees_errors(tmp_path):
    """The check below can fail: a page that logs and throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<html><body><script>console.error("drawn wrong"); null.x;</script></body></html>')
    _, console = open_in_chromium(page, tmp_path / "profile")
    assert "drawn wrong" in console
    assert any(message.startswith("Uncaught TypeError") for message in console)


def test_every_chart_renders_without_a_console_message(demo_report, tmp_path):
    dom, console = open_in_chromium(demo_report.html, tmp_path / "profile")
    assert console == []
    expected = len(demo_report.charts)
    assert f'data-charts="{expected}"' in dom and f'data-charts-rendered="{expected}"' in dom
    for chart in demo_report.charts:
        start = dom.index(f'id="{chart}"')
        assert 'class="main-svg"' in dom[start:start + 20000], f"{chart} has no drawing"
