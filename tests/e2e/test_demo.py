"""`osteoreg demo` through the CLI: the whole pipeline on a small synthetic cohort, ending with the recap."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import duckdb
import pytest

pytestmark = pytest.mark.slow


def test_demo_ends_with_the_loads_the_headline_and_where_to_look(tmp_path):
    out = tmp_path / "demo"
    env = {**os.environ, "OSTEOREG_SECRET": "demo-secret-of-at-least-32-characters", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "etl.cli", "demo", "--patients", "400", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    recap = done.stdout.strip().splitlines()[-4:]

    warehouse = out / "osteoreg.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        files, read, loaded, quarantined, duplicate = conn.execute(
            "SELECT count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate) "
            "FROM audit.loads WHERE status = 'loaded'").fetchall()[0]
    assert read == loaded + quarantined + duplicate and quarantined > 0 and duplicate > 0
    assert recap[0] == (f"Loads in the warehouse: {files} file(s); rows read {read:,} = loaded {loaded:,} "
                        f"+ quarantined {quarantined:,} + duplicate {duplicate:,}.")
    assert re.match(r"[\d,]+ patients, [\d,]+ assessments; magnesium deficiency", recap[1])
    report = out / "report" / "osteoreg-report.html"
    assert recap[2:] == [f"Report: {report}", f"Warehouse: {warehouse}"] and report.exists()

    # A second demo finds every file loaded already; the recap still tells what the warehouse holds.
    again = subprocess.run([sys.executable, "-m", "etl.cli", "demo", "--patients", "400", "--out", str(out)],
                           capture_output=True, text=True, env=env, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{files} file(s): 0 loaded, {files} skipped (already loaded)" in again.stdout
    assert again.stdout.strip().splitlines()[-4:] == recap
