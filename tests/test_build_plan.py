"""The build's plan as the user reads it (osteoreg issue 17), without running dbt: the console's
line for a full and an incremental build, the `--as-known-at` time, and a bad time refused in one
sentence through the real command line (exit 2)."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from etl.as_known_at import as_known_at_path, parse_time
from etl.build import FULL, INCREMENTAL, BuildPlan, BuildResult, project_fingerprint, rules_fingerprint
from etl.console import build_line
from etl.errors import UsageError


def _result(mode: str, reason: str, scope: int | None) -> BuildResult:
    plan = BuildPlan(mode, reason, 4 if mode == INCREMENTAL else None, 9, "f", "r")
    return BuildResult(warehouse=Path("w.duckdb"), seconds=1.0, plan=plan, patients_in_scope=scope)


def test_the_console_says_which_build_it_did_and_why():
    assert build_line(_result(FULL, "the seeds changed since the last build", None)).splitlines()[-1] == \
        "Full build: the seeds changed since the last build."
    assert build_line(_result(INCREMENTAL, "recomputing the patients of the loads after load 4", 1)).splitlines()[-1] \
        == "Incremental build: recomputing the patients of the loads after load 4 (1 patient)."


def test_fingerprints_name_the_parts_and_follow_the_vars():
    parts = dict(part.split("=", 1) for part in project_fingerprint().split(";"))
    assert set(parts) == {"seeds", "models and macros", "versions"}
    assert all(len(value) == 64 for value in parts.values())
    assert rules_fingerprint(None) == rules_fingerprint({})
    assert rules_fingerprint({"a": 1, "b": 2}) == rules_fingerprint({"b": 2, "a": 1}) != rules_fingerprint({"a": 1})


def test_as_known_at_times():
    assert parse_time("2026-12-01T08:30:00") == datetime(2026, 12, 1, 8, 30)
    assert parse_time("2026-12-01") == datetime(2026, 12, 1, 23, 59, 59, 999999)  # the end of that day
    assert as_known_at_path(Path("/r/osteoreg.duckdb"), datetime(2026, 12, 1, 8, 30)) == \
        Path("/r/osteoreg.as-known-at-20261201T083000.duckdb")
    with pytest.raises(UsageError, match="not an ISO 8601 date or time"):
        parse_time("yesterday")


def test_a_bad_as_known_at_is_refused_in_one_sentence(tmp_path):
    osteoreg = str(Path(sys.executable).with_name("osteoreg"))
    done = subprocess.run([osteoreg, "--warehouse", str(tmp_path / "w.duckdb"), "build", "--as-known-at", "soon"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "is not an ISO 8601 date or time" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
